"""gRPC door of the service: the legacy ``model.ModelService`` ERP contract and the
typed ``docextract.v1.ExtractionService``, both on :class:`app.pipeline.DocumentPipeline`.

Run with ``./run.sh grpc`` (:mod:`app.grpc.server`); docs in ``docs/grpc.md``.
"""
