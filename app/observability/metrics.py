"""Prometheus metrics of the service (``prometheus-client``).

Every metric is defined once here and recorded through the small functions
below, so a door (HTTP route, job task, CLI) never touches a metric object:

* HTTP: :func:`observe_request` (one per request, from the after-request hook
  in :mod:`app.observability.http`).
* Pipeline: :func:`observe_results` reads the per-file results the pipeline
  already returns (``processing_time`` stage timings, ``fields`` sources,
  ``pages``) - one place, no timers inside the stages.
* LLM: :func:`observe_llm_call` (from ``LLMClient._call``).
* gRPC: :func:`observe_grpc_call` (one per call, from
  :class:`app.grpc.interceptors.MetricsInterceptor`); the gRPC servicers record
  their results with :func:`observe_results` like the HTTP routes.
* Jobs (for ``app/jobs/``): :func:`observe_job_enqueued`,
  :func:`observe_job_finished`, :func:`set_queue_depth`,
  :func:`observe_webhook_delivery`, :func:`observe_review`.
* Process: :func:`update_process_metrics` (resident memory of this process).

Multiprocess mode (gunicorn workers, Celery workers): when the environment
variable ``PROMETHEUS_MULTIPROC_DIR`` names a directory *before*
``prometheus_client`` is first imported, every process writes its samples to
memory-mapped files there and :func:`render` merges them
(``MultiProcessCollector``). ``deploy/gunicorn.conf.py`` sets and cleans that
directory and marks dead workers (``child_exit``). Without it (tests, the
CLI, ``flask run``) the metrics live in this process's registry.

Source: Prometheus naming conventions (https://prometheus.io/docs/practices/naming/)
and prometheus-client's multiprocess guide
(https://prometheus.github.io/client_python/multiprocess/).
"""

from __future__ import annotations

import os

from prometheus_client import (CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram,
                               generate_latest)

#: Metric name prefix.
NAMESPACE = "docextract"

#: Stages timed per document, from the pipeline's ``processing_time`` keys
#: (``<stage>_ms``; ``text_layer`` = reading a PDF's text layer; ``decode`` = decoding and
#: rasterising, what ``ocr_ms`` holds beyond detection, recognition and text layer). ``readers`` is the sum of the deterministic readers
#: (``qr``, ``mrz``, ``rules``); ``total`` is the whole document.
STAGES = ("decode", "detection", "recognition", "text_layer", "ocr", "qr", "mrz", "rules", "readers", "line_items",
          "llm", "extraction", "total")
#: Known field sources (``app.extraction.fields.FieldResult.source``); ``none`` = not found.
FIELD_SOURCES = ("qr", "mrz", "rule", "llm", "xml", "none")
#: Document types a label may take; anything else is reported as ``other``.
DOCUMENT_TYPES = ("cccd_front", "cccd_back", "invoice", "receipt", "purchase_order", "sales_order")

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0)

#: This process's registry (not the library's global one, so importing the
#: package never clashes with another library's metrics).
REGISTRY = CollectorRegistry(auto_describe=True)

HTTP_REQUESTS = Counter(
    "http_requests", "HTTP requests answered, by route template, method and status code.",
    ["route", "method", "status"], namespace=NAMESPACE, registry=REGISTRY)
HTTP_DURATION = Histogram(
    "http_request_duration_seconds", "Time to answer an HTTP request, by route template and method.",
    ["route", "method"], namespace=NAMESPACE, registry=REGISTRY, buckets=_LATENCY_BUCKETS)
DOCUMENTS = Counter(
    "documents", "Documents (files) processed, by operation (ocr, extract, job), document type and outcome "
    "(ok or the error code).", ["operation", "document_type", "outcome"], namespace=NAMESPACE, registry=REGISTRY)
STAGE_DURATION = Histogram(
    "stage_duration_seconds", "Time of one pipeline stage for one document, by stage and document type.",
    ["stage", "document_type"], namespace=NAMESPACE, registry=REGISTRY, buckets=_LATENCY_BUCKETS)
PAGES = Counter(
    "pages", "Pages processed (an image is one page), by document type.", ["document_type"],
    namespace=NAMESPACE, registry=REGISTRY)
FIELDS = Counter(
    "fields", "Fields returned, by document type and source (qr, mrz, rule, llm, xml; none = not found).",
    ["document_type", "source"], namespace=NAMESPACE, registry=REGISTRY)
LLM_CALLS = Counter(
    "llm_calls", "Calls to the LLM server, by call (completion, chat, models) and outcome (ok or the error "
    "code: llm_timeout, llm_unavailable, llm_rejected).", ["call", "outcome"], namespace=NAMESPACE,
    registry=REGISTRY)
LLM_DURATION = Histogram(
    "llm_call_duration_seconds", "Time of one call to the LLM server, by call.", ["call"],
    namespace=NAMESPACE, registry=REGISTRY, buckets=_LATENCY_BUCKETS)
RATE_LIMITED = Counter(
    "rate_limited", "Requests refused with 429 RATE_LIMITED.", [], namespace=NAMESPACE, registry=REGISTRY)
JOBS_ENQUEUED = Counter(
    "jobs_enqueued", "Jobs accepted, by engine (local, celery).", ["engine"], namespace=NAMESPACE,
    registry=REGISTRY)
JOBS_FINISHED = Counter(
    "jobs_finished", "Jobs finished, by outcome (succeeded, failed, cancelled, expired).", ["outcome"],
    namespace=NAMESPACE, registry=REGISTRY)
JOB_DURATION = Histogram(
    "job_duration_seconds", "Time from a job's start to its end, by outcome.", ["outcome"],
    namespace=NAMESPACE, registry=REGISTRY, buckets=_LATENCY_BUCKETS + (600.0, 1800.0, 3600.0))
QUEUE_DEPTH = Gauge(
    "queue_depth", "Jobs waiting to run, by queue (the latest value set by any process).", ["queue"],
    namespace=NAMESPACE, registry=REGISTRY, multiprocess_mode="mostrecent")
WEBHOOK_DELIVERIES = Counter(
    "webhook_deliveries", "Webhook delivery attempts, by outcome (delivered, failed, retrying, refused).",
    ["outcome"], namespace=NAMESPACE, registry=REGISTRY)
REVIEWS = Counter(
    "reviews", "Results by review status (auto_accepted, needs_review, reviewed, ...).", ["status"],
    namespace=NAMESPACE, registry=REGISTRY)
MEMORY = Gauge(
    "process_resident_memory_bytes", "Resident memory of each live service process, in bytes.", [],
    namespace=NAMESPACE, registry=REGISTRY, multiprocess_mode="liveall")


GRPC_CALLS = Counter(
    "grpc_calls", "gRPC calls answered, by full method name and status code.", ["method", "code"],
    namespace=NAMESPACE, registry=REGISTRY)
GRPC_DURATION = Histogram(
    "grpc_call_duration_seconds", "Time to answer a gRPC call, by full method name.", ["method"],
    namespace=NAMESPACE, registry=REGISTRY, buckets=_LATENCY_BUCKETS)


def multiprocess_dir() -> str | None:
    """The multiprocess directory in use, or None (single-process registry)."""
    from prometheus_client import values

    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.environ.get("prometheus_multiproc_dir")
    return path if path and values.ValueClass is not values.MutexValue else None


def render() -> tuple[bytes, str]:
    """The metrics in Prometheus' text exposition format.

    Returns:
        ``(body, content_type)``. In multiprocess mode the samples of every
        process writing to ``PROMETHEUS_MULTIPROC_DIR`` are merged.
    """
    update_process_metrics()
    if multiprocess_dir():
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def document_type_label(value: str | None) -> str:
    """A bounded label value: a known type, ``custom`` (fields from ``info`` only), ``unknown``
    (``auto`` asked, no type detected) or ``other``."""
    if not value:
        return "custom"
    if value == "auto":
        return "unknown"
    return value if value in DOCUMENT_TYPES else "other"


# ------------------------------------------------------------------ recorders


def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    """Count one answered HTTP request.

    Args:
        route: the URL rule template (``/extract``, ``/jobs/<job_id>``), or
            ``unmatched`` for a path no route serves (keeps cardinality bounded).
        method: HTTP method.
        status: response status code.
        seconds: time to answer.
    """
    HTTP_REQUESTS.labels(route, method, str(status)).inc()
    HTTP_DURATION.labels(route, method).observe(max(seconds, 0.0))
    if status == 429:
        RATE_LIMITED.inc()


def observe_results(operation: str, results: list, document_type: str | None = None) -> None:
    """Record what the pipeline returned for a batch of files, before it is serialised.

    Args:
        operation: ``ocr``, ``extract`` (HTTP, gRPC) or ``job`` (a job's extraction step).
        results: the per-file results (``BatchResult.results``):
            :class:`app.domain.DocumentResult` (its ``timings``, ``pages``, ``fields``'
            sources and ``document_type``) or :class:`app.domain.FileFailure` (its error's code).
        document_type: the type the request asked for (None: ``info`` only).
    """
    for result in results:
        named = getattr(result, "document_type", None) or document_type
        dtype = document_type_label(named)
        if operation == "ocr" and not named:
            dtype = "ocr"
        if not result.success:
            DOCUMENTS.labels(operation, dtype, str(getattr(result.error, "code", "error")).lower()).inc()
            continue
        DOCUMENTS.labels(operation, dtype, "ok").inc()
        PAGES.labels(dtype).inc(len(result.pages) or 1)
        stage_ms = {k[:-3]: float(v) for k, v in result.timings.items()
                    if k.endswith("_ms") and isinstance(v, (int, float))}
        if "decode" not in stage_ms and "ocr" in stage_ms and "detection" in stage_ms:
            # Reading the document's pages = decoding/rasterising + text layer + OCR: the rest is decoding.
            stage_ms["decode"] = max(0.0, stage_ms["ocr"] - stage_ms["detection"] - stage_ms.get("recognition", 0.0)
                                     - stage_ms.get("text_layer", 0.0))
        readers = [stage_ms[k] for k in ("qr", "mrz", "rules") if k in stage_ms]
        if readers:
            stage_ms.setdefault("readers", sum(readers))
        if "total" not in stage_ms:
            parts = ("ocr", "extraction") if "ocr" in stage_ms else ("detection", "recognition")
            if any(p in stage_ms for p in parts):
                stage_ms["total"] = sum(stage_ms.get(p, 0.0) for p in parts)
        for stage, ms in stage_ms.items():
            if stage in STAGES:
                STAGE_DURATION.labels(stage, dtype).observe(max(ms, 0.0) / 1000.0)
        for detail in result.fields.values():
            FIELDS.labels(dtype, detail.source if detail.source in FIELD_SOURCES else "none").inc()


def observe_grpc_call(method: str, code: str, seconds: float) -> None:
    """Count one answered gRPC call.

    Args:
        method: full method name (``/docextract.v1.ExtractionService/Extract``), or ``unknown``
            for a method no service has (keeps cardinality bounded).
        code: ``grpc.StatusCode`` name (``OK``, ``INVALID_ARGUMENT``, ...).
        seconds: time to answer.
    """
    GRPC_CALLS.labels(method, code).inc()
    GRPC_DURATION.labels(method).observe(max(seconds, 0.0))


def observe_llm_call(call: str, outcome: str, seconds: float) -> None:
    """Count one LLM server call.

    Args:
        call: ``completion``, ``chat`` or ``models``.
        outcome: ``ok`` or the lower-case error code (``llm_timeout``,
            ``llm_unavailable``, ``llm_rejected``, ``error``).
        seconds: wall time of the call, retries included.
    """
    LLM_CALLS.labels(call, outcome).inc()
    LLM_DURATION.labels(call).observe(max(seconds, 0.0))


def observe_job_enqueued(engine: str = "local") -> None:
    """A job was accepted (call once per job, from the engine that queues it)."""
    JOBS_ENQUEUED.labels(engine).inc()


def observe_job_finished(outcome: str, seconds: float | None = None) -> None:
    """A job reached a final state.

    Args:
        outcome: ``succeeded``, ``failed``, ``cancelled`` or ``expired``.
        seconds: time from its start to its end, when known.
    """
    JOBS_FINISHED.labels(outcome).inc()
    if seconds is not None:
        JOB_DURATION.labels(outcome).observe(max(seconds, 0.0))


def set_queue_depth(depth: int, queue: str = "default") -> None:
    """Jobs now waiting in ``queue`` (set it whenever it is known, e.g. on enqueue and dequeue)."""
    QUEUE_DEPTH.labels(queue).set(depth)


def observe_webhook_delivery(outcome: str) -> None:
    """One webhook delivery attempt: ``delivered``, ``failed``, ``retrying`` or ``refused`` (SSRF guard)."""
    WEBHOOK_DELIVERIES.labels(outcome).inc()


def observe_review(status: str) -> None:
    """A result got review status ``status`` (e.g. ``auto_accepted``, ``needs_review``, ``reviewed``)."""
    REVIEWS.labels(status).inc()


def update_process_metrics() -> None:
    """Set this process's resident memory (``psutil``); called per request and per scrape."""
    import psutil

    MEMORY.set(psutil.Process().memory_info().rss)
