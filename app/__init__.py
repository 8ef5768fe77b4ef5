"""Document extraction service: OCR + local-LLM key information extraction.

``create_app()`` builds everything (``gunicorn 'app:create_app()'``); nothing
reads configuration, loads a model or opens a connection at import time.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
import dataclasses

from flask import Flask, g, request

from app.config import Settings
from app.observability.logs import configure_logging  # noqa: F401 (public: app.configure_logging)
from app.services import Services, build_services  # noqa: F401 (public: app.build_services)

log = logging.getLogger("app")

# X-Request-ID values taken as the trace id (checked with fullmatch: `$` would let "id\n" through);
# anything else gets a fresh id, so a client cannot put line breaks or markup in our logs and headers.
_TRACE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")

# Sent with every response unless a view set its own (the review UI sets its own CSP).
# The API answers JSON only: nothing may be framed, sniffed into HTML, cached or leak a referrer.
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def create_app(settings: Settings | None = None, *, ocr_engine=None, llm_client=None) -> Flask:
    """Build the Flask app and its services.

    Args:
        settings: run-time settings; read from the environment (and ``.env``)
            when None.
        ocr_engine: an :class:`app.ocr.base.OcrEngine` to use instead of the
            one named by ``settings.ocr_engine`` (tests inject fakes).
        llm_client: an :class:`app.llm.client.LLMClient` to use instead of one
            built from settings.

    Returns:
        The configured app, with services in ``app.extensions["docextract"]``.

    Raises:
        ConfigError: a setting is invalid.
        EngineUnavailable: the OCR engine cannot load (package or model files
            missing); the message says how to provide them.
    """
    from app.api.admission import AdmissionControl
    from app.api.errors import register_error_handlers
    from app.api.jobs import jobs_api
    from app.api.routes import api, health

    settings = settings or Settings.from_env()
    configure_logging(settings.log_level, settings.log_format)

    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes
    app.json.ensure_ascii = False  # Vietnamese text stays readable in responses
    app.json.sort_keys = False

    services = build_services(settings, ocr_engine=ocr_engine, llm_client=llm_client)
    engine = services.ocr_engine
    admission = AdmissionControl(settings.max_active_requests, settings.max_queued_requests, settings.queue_timeout)
    app.extensions["docextract"] = dataclasses.replace(services, admission=admission)
    # Jobs: the same OCR engine and extractor (the same pipeline) behind the job engine.
    from app.jobs.service import build_jobs

    extractor = services.extractor
    app.extensions["docextract_jobs"] = jobs = build_jobs(settings, lambda: engine, lambda: extractor)
    jobs.resume()
    from app.jobs.review_store import UserStore

    # named API keys (python -m app users create), accepted by the API beside HARD_TOKEN and by the review UI
    app.extensions["docextract_users"] = UserStore(jobs.store)

    @app.before_request
    def _trace_id():
        # The request's total deadline (REQUEST_TIMEOUT) counts from here (docs/reliability.md).
        g.deadline = time.monotonic() + settings.request_timeout
        incoming = request.headers.get("X-Request-ID", "")
        g.trace_id = incoming if _TRACE_ID.fullmatch(incoming) else uuid.uuid4().hex

    @app.after_request
    def _response_headers(response):
        response.headers["X-Trace-Id"] = g.get("trace_id", "")
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    for prefix, suffix in (("", ""), ("/id_card_scan", "_id_card_scan")):
        app.register_blueprint(health, url_prefix=prefix or None, name="health" + suffix)
        app.register_blueprint(api, url_prefix=prefix or None, name="api" + suffix)
        app.register_blueprint(jobs_api, url_prefix=prefix or None, name="jobs" + suffix)
    register_error_handlers(app)
    from app.api import ratelimit
    from app.api.openapi import docs
    from app.observability import http as observability

    observability.init_app(app)  # request metrics and log line, /livez, /readyz, /metrics
    observability.add_readiness_check(app, "jobs", jobs.readiness)
    app.register_blueprint(docs)  # /openapi.json, /docs
    app.extensions["docextract.limiter"] = ratelimit.init_app(app, settings.rate_limit,
                                                              settings.rate_limit_storage_url)
    from app import ui

    ui.init_app(app, settings, jobs)  # the review web page at /ui/ (its own CSP; needs SECRET_KEY)

    if not settings.auth_enabled:
        log.warning("HARD_TOKEN is empty: authentication is DISABLED; anyone who can reach the port can use the API")
    log.info("service ready: ocr=%s llm=%s model=%s backend=%s prompt_style=%s", engine.describe().get("engine"),
             settings.llm_api_url, settings.llm_model, settings.llm_backend, settings.prompt_style)
    return app
