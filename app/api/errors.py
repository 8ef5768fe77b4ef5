"""The one place where exceptions become HTTP responses.

Every error leaves the service as
``{"success": false, "message", "error_code", "trace_id"}`` with the status of
the :class:`app.errors.ServiceError` subclass. Unexpected exceptions become
``SYSTEM_ERROR`` 500; their traceback goes to the log (with the trace id),
never to the response body.
"""

from __future__ import annotations

import logging

from flask import Flask, g, jsonify
from werkzeug.exceptions import HTTPException

from app import errors

log = logging.getLogger(__name__)

_HTTP_TO_SERVICE = {
    400: errors.BadRequest,
    404: errors.NotFound,
    405: errors.MethodNotAllowed,
    413: errors.PayloadTooLarge,
}


def error_response(error: errors.ServiceError, extra: dict | None = None):
    """Flask response for ``error``: JSON body and its HTTP status."""
    body = {"success": False, "message": error.message, "error_code": error.code,
            "trace_id": g.get("trace_id", "")}
    if error.details:
        body["details"] = error.details
    if extra:
        body.update(extra)
    response = jsonify(body)
    response.status_code = error.http_status
    retry_after = getattr(error, "retry_after", None)
    if retry_after:
        response.headers["Retry-After"] = str(int(retry_after))
    return response


def register_error_handlers(app: Flask) -> None:
    """Install the handlers on ``app``."""

    @app.errorhandler(errors.ServiceError)
    def _service_error(e: errors.ServiceError):
        level = logging.WARNING if e.http_status >= 500 else logging.INFO
        log.log(level, "%s %s: %s", e.http_status, e.code, e.message)
        return error_response(e)

    @app.errorhandler(HTTPException)
    def _http_error(e: HTTPException):
        cls = _HTTP_TO_SERVICE.get(e.code or 500)
        if cls is errors.PayloadTooLarge:
            limit = app.config.get("MAX_CONTENT_LENGTH") or 0
            return error_response(cls(f"Request body is over the limit of {limit / 1048576:.1f} MB (MAX_REQUEST_MB)"))
        if cls is None:
            cls = errors.BadRequest if (e.code or 500) < 500 else errors.SystemFailure
        error = cls(e.description if cls is errors.BadRequest else None)
        error.http_status = e.code or error.http_status
        return error_response(error)

    @app.errorhandler(Exception)
    def _unexpected(e: Exception):
        log.exception("unhandled error (trace_id=%s)", g.get("trace_id", ""))
        return error_response(errors.SystemFailure())
