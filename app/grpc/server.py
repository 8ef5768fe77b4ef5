"""The gRPC server: its own process (``./run.sh grpc``), never inside a gunicorn worker.

    .venv/bin/python -m app.grpc.server      # what ./run.sh grpc runs (after waiting for the LLM server)

:func:`create_server` builds a server on an address and returns it with the
port it bound (port 0 picks a free one; tests use that); :func:`serve` builds
the services from the environment, starts the server, and on SIGTERM/SIGINT
drains it (:func:`drain`). Layout after grpc/grpc ``examples/python``.

Served on one port:

* ``model.ModelService`` (legacy ERP contract, ``app/grpc/protos/model.proto``),
* ``docextract.v1.ExtractionService`` (``app/grpc/protos/docextract/v1``),
* ``grpc.health.v1.Health`` (``grpcio-health-checking``; no token needed),
* server reflection (``grpcio-reflection``) unless ``GRPC_REFLECTION=false``.

Prometheus metrics of this process (``docextract_grpc_calls_total``, the
pipeline's document and stage metrics) on ``GRPC_METRICS_HOST:GRPC_METRICS_PORT``
``/metrics`` when that port is set.

Limits: messages up to ``GRPC_MAX_MESSAGE_MB`` (larger: ``RESOURCE_EXHAUSTED``
from grpc itself), ``GRPC_MAX_WORKERS`` documents processed at once and
``GRPC_MAX_CONCURRENT_RPCS`` calls admitted (beyond it grpc answers
``RESOURCE_EXHAUSTED``; health checks are answered while documents are being
processed), each call under ``GRPC_CALL_TIMEOUT`` (time queued included).
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from app.config import Settings
from app.grpc.generated import model_pb2, model_pb2_grpc
from app.grpc.generated.docextract.v1 import extraction_service_pb2, extraction_service_pb2_grpc
from app.grpc.interceptors import AuthInterceptor, ErrorInterceptor, MetricsInterceptor, current_trace_id
from app.grpc.legacy import LegacyModelServicer
from app.grpc.servicers import CallRunner, ExtractionServicer
from app.pipeline import DocumentPipeline

log = logging.getLogger(__name__)

LEGACY_SERVICE = model_pb2.DESCRIPTOR.services_by_name["ModelService"].full_name
V1_SERVICE = extraction_service_pb2.DESCRIPTOR.services_by_name["ExtractionService"].full_name
SERVICES = (LEGACY_SERVICE, V1_SERVICE)
_METHODS = frozenset(f"/{d.full_name}/{m.name}" for d in (model_pb2.DESCRIPTOR.services_by_name["ModelService"],
                     extraction_service_pb2.DESCRIPTOR.services_by_name["ExtractionService"]) for m in d.methods)
_METHODS |= {"/grpc.health.v1.Health/Check"}


def _named_keys(jobs):
    """``key -> bool`` over the named API keys in the job store (None without jobs)."""
    if jobs is None:
        return None
    from app.jobs.review_store import UserStore

    users = UserStore(jobs.store)

    def check(key: str) -> bool:
        jobs.ensure_ready()
        return users.by_key(key) is not None

    return check


def create_server(address: str, settings: Settings, pipeline: DocumentPipeline, *,
                  health_servicer: health.HealthServicer | None = None, jobs=None) -> tuple[grpc.Server, int]:
    """Build (not start) the gRPC server with every service on ``address``.

    Args:
        address: ``host:port``; port 0 binds a free port.
        settings: limits, auth and reflection switches (the ``GRPC_*`` settings, ``HARD_TOKEN``).
        pipeline: the one extraction path, given to the servicers.
        health_servicer: the health service to register (built when None); keep
            it to turn it NOT_SERVING on shutdown (:func:`drain`).
        jobs: the jobs capability (:class:`app.jobs.service.JobService`) behind
            SubmitJob/GetJob/WatchJob; None: those answer ``UNAVAILABLE``.

    Returns:
        ``(server, port)``: the server and the port it bound.

    Raises:
        RuntimeError: the address cannot be bound.
    """
    health_servicer = health_servicer or health.HealthServicer()
    # Every admitted call gets a thread, so health checks and quick calls are answered while
    # GRPC_MAX_WORKERS documents are being processed; the work itself is bounded by the
    # CallRunner's pool below (queued calls wait there, their deadline running).
    server = grpc.server(
        ThreadPoolExecutor(max_workers=max(settings.grpc_max_concurrent_rpcs, settings.grpc_max_workers),
                           thread_name_prefix="grpc"),
        interceptors=[*([MetricsInterceptor(_METHODS)] if settings.metrics_enabled else []),
                      AuthInterceptor(settings.hard_token, settings.grpc_legacy_auth, _named_keys(jobs)),
                      ErrorInterceptor(tuple(f"/{name}/" for name in SERVICES))],
        options=[("grpc.max_receive_message_length", settings.grpc_max_message_bytes),
                 ("grpc.max_send_message_length", settings.grpc_max_message_bytes),
                 ("grpc.so_reuseport", 0)],
        maximum_concurrent_rpcs=settings.grpc_max_concurrent_rpcs,
    )
    runner = CallRunner(ThreadPoolExecutor(max_workers=settings.grpc_max_workers, thread_name_prefix="grpc-call"),
                        settings.grpc_call_timeout)
    model_pb2_grpc.add_ModelServiceServicer_to_server(LegacyModelServicer(pipeline, settings, runner), server)
    extraction_service_pb2_grpc.add_ExtractionServiceServicer_to_server(
        ExtractionServicer(pipeline, settings, runner, jobs), server)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    for name in ("", *SERVICES):
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    if settings.grpc_reflection:
        reflection.enable_server_reflection((*SERVICES, health.SERVICE_NAME, reflection.SERVICE_NAME), server)
    port = server.add_insecure_port(address)
    if not port:
        raise RuntimeError(f"cannot bind the gRPC server to {address}")
    return server, port


class _GrpcTraceIdFilter(logging.Filter):
    """Log records written while serving a call carry its trace id (as HTTP requests' do)."""

    def filter(self, record: logging.LogRecord) -> bool:
        trace_id = current_trace_id()
        if trace_id:
            record.trace_id = trace_id
        return True


def drain(server: grpc.Server, health_servicer: health.HealthServicer, delay: float, grace: float) -> None:
    """Graceful shutdown: health NOT_SERVING, then stop taking calls and let in-flight ones finish.

    For ``delay`` seconds the server still takes calls while its health says
    NOT_SERVING (load balancers and ``grpc_health_probe`` see it and stop
    sending); then ``server.stop(grace)`` refuses new calls and waits up to
    ``grace`` seconds for those in flight before cancelling them.
    """
    health_servicer.enter_graceful_shutdown()
    log.info("gRPC server draining: health NOT_SERVING; stopping in %.1f s, grace %.1f s", delay, grace)
    if delay > 0:
        time.sleep(delay)
    server.stop(grace).wait()
    log.info("gRPC server stopped")


def serve(settings: Settings | None = None, *, pipeline: DocumentPipeline | None = None,
          stop_event: threading.Event | None = None, on_started=None) -> int:
    """Run the server until SIGTERM/SIGINT (or ``stop_event``), then drain it.

    Args:
        settings: read from the environment (and ``.env``) when None.
        pipeline: the pipeline to serve; when None, built by :func:`app.services.build_services`,
            with the jobs capability (:func:`app.jobs.service.build_jobs`) on the same services.
        stop_event: set it to stop (signals set it too when called in the main thread).
        on_started: called with the bound port once the server is listening.

    Returns:
        The process exit status (0).

    Raises:
        ConfigError, EngineUnavailable: bad settings, OCR engine missing.
    """
    from app.observability.logs import configure_logging
    from app.services import build_services

    settings = settings or Settings.from_env()
    configure_logging(settings.log_level, settings.log_format)
    for handler in logging.getLogger().handlers:
        if getattr(handler, "_docextract", False):
            handler.addFilter(_GrpcTraceIdFilter())
    jobs = None
    if pipeline is None:
        from app.jobs.service import build_jobs

        services = build_services(settings)
        pipeline = services.pipeline
        jobs = build_jobs(settings, lambda: services.ocr_engine, lambda: services.extractor)
        jobs.resume()
    health_servicer = health.HealthServicer()
    server, port = create_server(settings.grpc_address, settings, pipeline, health_servicer=health_servicer,
                                 jobs=jobs)
    stop_event = stop_event or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda signum, frame: stop_event.set())
    server.start()
    metrics_server = None
    if settings.metrics_enabled and settings.grpc_metrics_port:
        from prometheus_client import start_http_server

        from app.observability import metrics

        metrics_server, _ = start_http_server(settings.grpc_metrics_port, addr=settings.grpc_metrics_host,
                                              registry=metrics.REGISTRY)
        log.info("gRPC metrics on http://%s:%d/metrics", settings.grpc_metrics_host, settings.grpc_metrics_port)
    if not settings.auth_enabled:
        log.warning("HARD_TOKEN is empty: gRPC authentication is DISABLED")
    elif not settings.grpc_legacy_auth:
        log.warning("GRPC_LEGACY_AUTH=false: model.ModelService answers without a token")
    log.info("gRPC server listening on %s (port %d): %s; reflection %s; max message %.0f MB",
             settings.grpc_host, port, ", ".join(SERVICES), "on" if settings.grpc_reflection else "off",
             settings.grpc_max_message_bytes / 1048576)
    if on_started is not None:
        on_started(port)
    while not stop_event.wait(1.0):
        pass
    drain(server, health_servicer, settings.grpc_drain_delay, settings.grpc_shutdown_grace)
    if jobs is not None:
        jobs.stop()
    if metrics_server is not None:
        metrics_server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(serve())
