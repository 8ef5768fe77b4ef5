"""HTTP side of operations: request metrics and log line, ``/metrics``,
``/livez`` and ``/readyz``.

:func:`init_app` installs everything on an app built by ``create_app``:

* an after-request hook that counts every request (route template, method,
  status, duration), records the per-file results of ``/ocr`` and
  ``/extract`` from the response the pipeline produced
  (:func:`app.observability.metrics.observe_results`) and, with
  ``LOG_FORMAT=json``, writes one request line;
* the ``ops`` blueprint: ``GET /livez`` (the process answers),
  ``GET /readyz`` (every readiness check passes: OCR engine loaded, LLM
  server answers, plus checks other capabilities add with
  :func:`add_readiness_check`: database, broker, rate-limit storage) and
  ``GET /metrics`` (Prometheus text format; see :func:`metrics_view` for who
  may read it).

Probe semantics follow Kubernetes' liveness/readiness probes
(https://kubernetes.io/docs/reference/using-api/health-checks/).
"""

from __future__ import annotations

import logging
import time
from typing import Callable

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request

from app.errors import LLMError, ServiceNotReady, Unauthorized
from app.observability import metrics
from app.tokens import tokens_match

log = logging.getLogger("app.request")

#: ``app.extensions`` key of the readiness checks: name -> callable.
READINESS_KEY = "docextract.readiness"

ops = Blueprint("ops", __name__)

#: Endpoints (last part of the endpoint name, in an ``api*`` blueprint) whose
#: responses carry per-file pipeline results in ``data.results``.
_RESULT_ENDPOINTS = {"ocr": "ocr", "extract": "extract"}
_RESULTS_KEY = "observed_results"


def observe_batch(results: list, document_type: str | None) -> None:
    """Hand one request's per-file results to the after-request hook (metrics and the JSON
    access log), as the route has them: the hook never parses the response or the form again.

    Args:
        results: the pipeline's per-file results (``BatchResult.results``: typed, not serialised).
        document_type: the type the caller named (None: none or ``/ocr``).
    """
    g.setdefault(_RESULTS_KEY, (results, document_type))


def add_readiness_check(app: Flask, name: str, check: Callable[[], dict | None]) -> None:
    """Add a check that ``/readyz`` runs.

    Args:
        app: the app.
        name: key of the check in the ``checks`` object of the response.
        check: returns details (a JSON-able dict or None) when ready; raises
            any exception when not (its class and message are reported, so
            keep secrets out of them).
    """
    app.extensions.setdefault(READINESS_KEY, {})[name] = check


def init_app(app: Flask) -> None:
    """Install the hooks and the ``ops`` blueprint on ``app``."""
    services = app.extensions["docextract"]
    settings = services.settings
    app.extensions.setdefault(READINESS_KEY, {})
    add_readiness_check(app, "ocr_engine", lambda: _ocr_check(current_app.extensions["docextract"]))
    add_readiness_check(app, "llm", lambda: _llm_check(current_app.extensions["docextract"]))

    @app.before_request
    def _start_timer():
        g.request_started = time.perf_counter()

    @app.after_request
    def _observe(response: Response):
        seconds = time.perf_counter() - g.get("request_started", time.perf_counter())
        route = request.url_rule.rule if request.url_rule is not None else "unmatched"
        document_type = None
        results = None
        endpoint = (request.endpoint or "").rsplit(".", 1)[-1]
        if (request.blueprint or "").startswith("api") and endpoint in _RESULT_ENDPOINTS:
            results, document_type = g.get(_RESULTS_KEY, (None, None))
        if settings.metrics_enabled:
            try:
                metrics.observe_request(route, request.method, response.status_code, seconds)
                if results is not None:
                    metrics.observe_results(_RESULT_ENDPOINTS[endpoint], results, document_type)
                metrics.update_process_metrics()
            except Exception:  # metrics must never fail a request
                log.exception("recording metrics failed")
        if settings.log_format == "json":
            extra = {"route": route, "method": request.method, "status": response.status_code,
                     "duration_ms": round(seconds * 1000.0, 1)}
            if results is not None:
                extra["document_type"] = document_type or (
                    next((r.document_type for r in results if getattr(r, "document_type", None)), None))
                extra["files"] = len(results)
                if settings.log_document_text:
                    extra["fields"] = [r.values if r.success and r.kind == "extract" else None for r in results]
            if response.status_code >= 400 and response.is_json:
                extra["error_code"] = (response.get_json(silent=True) or {}).get("error_code")
            log.info("%s %s %s", request.method, route, response.status_code, extra=extra)
        return response

    app.register_blueprint(ops)
    if settings.metrics_enabled and not settings.metrics_port:
        # With METRICS_PORT the metrics are served on that port (gunicorn master), not here.
        app.add_url_rule("/metrics", "ops_metrics", metrics_view, methods=["GET"])


def _ocr_check(services) -> dict:
    if services.ocr_engine is None:
        raise RuntimeError("not loaded")
    return dict(services.ocr_engine.describe())


def _llm_check(services) -> dict:
    try:
        models = services.llm.list_models(timeout=3.0)
    except LLMError as e:
        raise RuntimeError(f"{e.code}: {e.message}") from e
    return {"url": services.llm.base_url, "models": models}


@ops.get("/livez")
def livez():
    """Liveness: the process answers (no dependency is checked)."""
    return jsonify({"success": True, "status": "alive"})


@ops.get("/readyz")
def readyz():
    """Readiness: 200 when every check passes, else 503 ``NOT_READY`` naming the failed checks."""
    checks = {}
    for name, check in current_app.extensions.get(READINESS_KEY, {}).items():
        try:
            checks[name] = {"ok": True, **(check() or {})}
        except Exception as e:  # a failed check is reported, never raised
            checks[name] = {"ok": False, "message": str(e) or type(e).__name__}
    failed = [name for name, c in checks.items() if not c["ok"]]
    if failed:
        error = ServiceNotReady("Not ready: " + ", ".join(f"{n} ({checks[n]['message']})" for n in failed))
        response = jsonify(error.response_body(g.get("trace_id", ""), {"status": "not_ready", "checks": checks}))
        response.status_code = error.http_status
        return response
    return jsonify({"success": True, "status": "ready", "trace_id": g.get("trace_id", ""), "checks": checks})


def metrics_view():
    """``GET /metrics``: the Prometheus text format.

    Readable with header ``X-API-Token`` equal to ``METRICS_TOKEN`` or to
    ``HARD_TOKEN``; open when neither is set (authentication disabled
    explicitly). With ``METRICS_PORT`` set this route does not exist: the
    metrics are served on that port instead (``deploy/gunicorn.conf.py``).

    Raises:
        Unauthorized: a token is configured and the header does not match one.
    """
    settings = current_app.extensions["docextract"].settings
    allowed = [t for t in (settings.metrics_token, settings.hard_token) if t]
    if allowed:
        given = request.headers.get("X-API-Token", "")
        if not given:
            raise Unauthorized("Missing token: send header X-API-Token (METRICS_TOKEN or HARD_TOKEN)")
        if not any([tokens_match(given, t) for t in allowed]):  # a list: every token compared
            raise Unauthorized("Invalid metrics token")
    body, content_type = metrics.render()
    return Response(body, content_type=content_type)
