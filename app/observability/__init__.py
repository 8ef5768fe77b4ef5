"""Operating the service: Prometheus metrics (:mod:`.metrics`), JSON logs
(:mod:`.logs`), probes and the ``/metrics`` route (:mod:`.http`).

``create_app`` calls :func:`app.observability.http.init_app`; other doors
(jobs, CLI) record through the functions of :mod:`app.observability.metrics`.
"""
