"""HTTP routes: thin views that parse the request, call the pipeline and
shape the response. Registered at ``/`` and, for existing clients of the
original ID-card service, under ``/id_card_scan/``."""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, g, jsonify, request
from werkzeug.exceptions import ClientDisconnected

from app.api.auth import require_token
from app.api.errors import error_response
from app.api.schemas import parse_bool_param, parse_extract_config, single_value
from app.api.uploads import read_uploads
from app.errors import InvalidConfig, LLMError, RequestTimeout, ServiceNotReady
from app.observability.http import observe_batch
from app.pipeline import BatchResult

log = logging.getLogger(__name__)

api = Blueprint("api", __name__)
health = Blueprint("health", __name__)


def _services():
    return current_app.extensions["docextract"]


# Order: the token (header; the form field makes it read the body), then the body, then a slot.
api.before_request(require_token)


@api.before_request
def _read_body():
    """Read the whole body before taking a processing slot: a client that stalls
    mid-upload is cut off by the socket's read timeout (CLIENT_READ_TIMEOUT,
    app/serving/worker.py) with 408 and never holds a slot."""
    try:
        request.form  # noqa: B018 (parses the multipart body: form fields and files)
    except (TimeoutError, ClientDisconnected) as e:
        # werkzeug reports a failed body read as ClientDisconnected (400), raised while
        # handling the socket's TimeoutError: that one is a timeout, not a truncated body.
        if not isinstance(e, TimeoutError) and not isinstance(e.__context__, TimeoutError):
            raise
        raise RequestTimeout.after(_services().settings.client_read_timeout) from None


@api.before_request
def _admit():
    """Backpressure (app/api/admission.py): a processing slot, or 503 OVERLOADED."""
    _services().admission.acquire(deadline=g.deadline)
    g.admitted = True
    request.environ["docextract.admitted"] = True  # counted for worker recycling (app/serving/worker.py)


@api.teardown_request
def _release(_exc):
    if g.pop("admitted", False):
        _services().admission.release()


def _batch_response(batch: BatchResult, message: str, with_box: bool):
    data = {"results": batch.to_dicts(with_box), "processed_count": batch.processed_count,
            "error_count": batch.error_count}
    if batch.processed_count == 0 and batch.first_error is not None:
        # Nothing succeeded: the request as a whole gets that error's status.
        return error_response(batch.first_error, extra={"data": data})
    if batch.error_count:
        message = f"{message}; {batch.error_count} of {len(batch.results)} files failed"
    return jsonify({"success": True, "message": message, "trace_id": g.trace_id, "data": data})


@api.post("/ocr")
def ocr():
    """Text detection + recognition on one or more ``image_file`` parts."""
    uploads = read_uploads(_services().settings.max_files_per_request)
    with_box = parse_bool_param("display_text_box", single_value(request.form, "display_text_box"), True)
    batch = _services().pipeline.ocr_batch(uploads)
    observe_batch(batch.results, None)
    return _batch_response(batch, "OCR completed", with_box)


@api.post("/extract")
def extract():
    """OCR + LLM field extraction; ``config`` is a JSON string (see ExtractConfig)."""
    config = parse_extract_config(single_value(request.form, "config", InvalidConfig))
    uploads = read_uploads(_services().settings.max_files_per_request)
    services = _services()
    options = config.options(services.settings, g.deadline)
    batch = services.pipeline.extract_batch(uploads, config.info, options, document_type=config.document_type)
    observe_batch(batch.results, config.document_type)
    return _batch_response(batch, "Extraction completed", config.display_text_box)


@health.get("/health")
def health_check():
    """Liveness: the process answers (contract of the original service)."""
    return jsonify({"success": True, "message": "OCR API is running", "status": "healthy"})


@health.get("/ready")
def ready():
    """Readiness: 200 only when the OCR engine is loaded and the LLM server answers."""
    services = _services()
    checks = {"ocr_engine": {"ok": services.ocr_engine is not None, **services.ocr_engine.describe()}}
    try:
        models = services.llm.list_models(timeout=3.0)
        checks["llm"] = {"ok": True, "url": services.llm.base_url, "models": models}
    except LLMError as e:
        checks["llm"] = {"ok": False, "url": services.llm.base_url, "error_code": e.code, "message": e.message}
    breaker = getattr(services.llm, "breaker", None)
    if breaker is not None:
        checks["llm"]["circuit"] = breaker.state
    checks["admission"] = {"ok": True, **services.admission.snapshot()}
    missing = [name for name, check in checks.items() if not check["ok"]]
    if missing:
        error = ServiceNotReady("Not ready: " + ", ".join(
            f"{name} ({checks[name].get('message', 'not loaded')})" for name in missing))
        return error_response(error, extra={"checks": checks})
    return jsonify({"success": True, "message": "ready", "status": "ready", "trace_id": g.trace_id,
                    "checks": checks})
