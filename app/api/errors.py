"""The one place where exceptions become HTTP responses.

Every error leaves the service as
``{"success": false, "message", "error_code", "trace_id"}`` with the status of
the :class:`app.errors.ServiceError` subclass. Unexpected exceptions become
``SYSTEM_ERROR`` 500; their traceback goes to the log (with the trace id),
never to the response body.
"""

from __future__ import annotations

import logging

from flask import Flask, g, jsonify, request
from werkzeug.exceptions import HTTPException

from app import errors

log = logging.getLogger(__name__)

_HTTP_TO_SERVICE = {
    400: errors.BadRequest,
    404: errors.NotFound,
    405: errors.MethodNotAllowed,
    413: errors.PayloadTooLarge,
    429: errors.RateLimited,
}


def too_large_message(content_length: int | None, max_body: int, max_field: int | None,
                      max_parts: int | None) -> str:
    """Which of Werkzeug's three request limits a 413 came from, in words.

    Werkzeug raises the same ``RequestEntityTooLarge`` for the whole body
    (``MAX_CONTENT_LENGTH``, from ``MAX_REQUEST_MB``), for one text form field
    held in memory (``MAX_FORM_MEMORY_SIZE``, 500 kB by default: ``config``,
    or a file part sent without a filename, which arrives as text) and for
    the number of parts (``MAX_FORM_PARTS``). A declared body length over the
    body limit tells the first apart; otherwise it was one of the form limits.
    """
    if content_length is not None and max_body and content_length > max_body:
        return f"Request body is over the limit of {max_body / 1048576:.1f} MB (MAX_REQUEST_MB)"
    parts = []
    if max_field:
        parts.append(f"a text form field is over {max_field / 1000:.0f} kB (config, or a file part "
                     "sent without a filename, which arrives as text)")
    if max_parts:
        parts.append(f"the form has more than {max_parts:,} parts")
    if content_length is None and max_body:
        parts.append(f"the body is over {max_body / 1048576:.1f} MB (MAX_REQUEST_MB)")
    return "Request form is over a limit: " + ", or ".join(parts)


def error_response(error: errors.ServiceError, extra: dict | None = None):
    """Flask response for ``error``: JSON body and its HTTP status (message clipped to
    :data:`app.errors.MAX_MESSAGE_CHARS`; :meth:`app.errors.ServiceError.response_body`)."""
    response = jsonify(error.response_body(g.get("trace_id", ""), extra))
    response.status_code = error.http_status
    if error.retry_after is not None:
        response.headers["Retry-After"] = str(max(1, int(error.retry_after)))
    return response


def register_error_handlers(app: Flask) -> None:
    """Install the handlers on ``app``."""

    @app.errorhandler(errors.ServiceError)
    def _service_error(e: errors.ServiceError):
        level = logging.WARNING if e.http_status >= 500 else logging.INFO
        log.log(level, "%s %s: %s", e.http_status, e.code, e.message[:300])
        return error_response(e)

    @app.errorhandler(HTTPException)
    def _http_error(e: HTTPException):
        cls = _HTTP_TO_SERVICE.get(e.code or 500)
        if cls is errors.PayloadTooLarge:
            message = too_large_message(request.content_length, app.config.get("MAX_CONTENT_LENGTH") or 0,
                                        request.max_form_memory_size, request.max_form_parts)
            log.info("413 PAYLOAD_TOO_LARGE: %s", message)
            return error_response(cls(message))
        if cls is errors.RateLimited:
            return error_response(cls(f"Rate limit exceeded ({e.description}); retry after Retry-After seconds"))
        if cls is None:
            cls = errors.BadRequest if (e.code or 500) < 500 else errors.SystemFailure
        error = cls(e.description if cls is errors.BadRequest else None)
        error.http_status = e.code or error.http_status
        return error_response(error)

    @app.errorhandler(Exception)
    def _unexpected(e: Exception):
        if type(e).__module__.startswith("gunicorn.http"):
            # gunicorn raises its HTTP parse errors (InvalidChunkSize, ChunkMissingTerminator,
            # NoMoreData, ...) from the body stream while we read the form: the client's framing.
            log.info("400 MALFORMED_REQUEST: malformed request body (%s)", type(e).__name__)
            return error_response(errors.MalformedRequest(
                f"The request body could not be read: malformed HTTP framing ({type(e).__name__}), "
                "e.g. a bad chunk in Transfer-Encoding: chunked"))
        log.exception("unhandled error (trace_id=%s)", g.get("trace_id", ""))
        return error_response(errors.SystemFailure())
