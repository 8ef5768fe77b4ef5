"""The service's exception tree.

Every error a caller can see is a :class:`ServiceError` subclass with a stable
``code``, an ``http_status`` and a ``grpc_status`` (the name of a
``grpc.StatusCode``, so this module does not import grpc): one table for both
doors. :func:`app.api.errors.register_error_handlers` maps them, in one place,
to the JSON shape ``{"success": false, "message", "error_code", "trace_id"}``;
:mod:`app.grpc.interceptors` to a gRPC status with ``google.rpc`` details.
A subclass that names no ``grpc_status`` inherits its parent's; the base is
``INTERNAL``, and nothing maps to ``UNKNOWN``.
Messages are safe to show to callers: they never carry tracebacks or secrets.
"""

from __future__ import annotations

#: gRPC status for an HTTP status, for subclasses that name no ``grpc_status`` of their own
#: (after the HTTP mapping of https://github.com/grpc/grpc/blob/master/doc/http-grpc-status-mapping.md
#: and google.rpc.Code's HTTP equivalents in googleapis google/rpc/code.proto).
GRPC_FOR_HTTP = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "UNIMPLEMENTED",
    409: "ABORTED",
    410: "NOT_FOUND",
    408: "DEADLINE_EXCEEDED",
    412: "FAILED_PRECONDITION",
    413: "RESOURCE_EXHAUSTED",
    415: "INVALID_ARGUMENT",
    422: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    501: "UNIMPLEMENTED",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


class ServiceError(Exception):
    """Base class: an error with a stable code, an HTTP status, a gRPC status and a safe message."""

    code = "SYSTEM_ERROR"
    http_status = 500
    #: ``grpc.StatusCode`` name (gRPC status codes: https://grpc.github.io/grpc/core/md_doc_statuscodes.html).
    grpc_status = "INTERNAL"
    default_message = "Internal error"
    retry_after: int | None = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "grpc_status" not in cls.__dict__ and "http_status" in cls.__dict__:
            cls.grpc_status = GRPC_FOR_HTTP.get(cls.http_status, "INTERNAL" if cls.http_status >= 500 else
                                                "INVALID_ARGUMENT")

    def __init__(self, message: str | None = None, *, details: dict | None = None, retry_after: int | None = None):
        """Args: message: safe text for callers; details: extra JSON fields; retry_after: seconds a caller
        should wait before trying again (sent as the ``Retry-After`` header), None for no header."""
        self.message = message or self.default_message
        self.details = details or {}
        if retry_after is not None:
            self.retry_after = retry_after
        super().__init__(self.message)

    def to_dict(self) -> dict:
        """``{"error_code", "message"}`` (plus ``details`` when present)."""
        body = {"error_code": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return body

    def response_body(self, trace_id: str = "", extra: dict | None = None) -> dict:
        """The HTTP JSON body of this error: ``{success: false, message (clipped to
        :data:`MAX_MESSAGE_CHARS`), error_code, trace_id, details?, **extra}``; every HTTP door
        (``app.api.errors.error_response``, the ``/readyz`` probe) answers with it."""
        message = self.message if len(self.message) <= MAX_MESSAGE_CHARS else self.message[:MAX_MESSAGE_CHARS] + "…"
        body = {"success": False, "message": message, "error_code": self.code, "trace_id": trace_id}
        if self.details:
            body["details"] = self.details
        if extra:
            body.update(extra)
        return body


#: A message never quotes more of the caller's input than this (characters).
MAX_MESSAGE_CHARS = 2000


class Unauthorized(ServiceError):
    code, http_status, default_message = "UNAUTHORIZED", 401, "Missing or invalid API token"
    grpc_status = "UNAUTHENTICATED"


class Forbidden(ServiceError):
    """Signed in, but the account's role does not allow the action (the review UI's roles)."""

    code, http_status, default_message = "FORBIDDEN", 403, "Your role does not allow this"
    grpc_status = "PERMISSION_DENIED"


class BadRequest(ServiceError):
    code, http_status, default_message = "BAD_REQUEST", 400, "Bad request"
    grpc_status = "INVALID_ARGUMENT"


class MalformedRequest(BadRequest):
    """The HTTP request itself could not be parsed (request line, headers, chunked framing):
    refused by gunicorn's parser before the app saw it, or while the app read the body."""

    code, default_message = "MALFORMED_REQUEST", "The HTTP request could not be parsed"


class RequestLineTooLong(BadRequest):
    """The request line (method, target, version) is over gunicorn's ``limit_request_line``."""

    code, http_status, default_message = "REQUEST_LINE_TOO_LONG", 414, "The request line is too long"


class HeadersTooLarge(BadRequest):
    """Too many header fields, or one over gunicorn's ``limit_request_field_size``."""

    code, http_status, default_message = "HEADERS_TOO_LARGE", 431, "The request's header fields are too large"


class ExpectationFailed(BadRequest):
    """An ``Expect:`` header other than ``100-continue``."""

    code, http_status, default_message = "EXPECTATION_FAILED", 417, "Only 'Expect: 100-continue' is supported"


class UnsupportedTransferCoding(BadRequest):
    """A ``Transfer-Encoding`` other than ``chunked``. Gunicorn's parser answers
    501 (RFC 9112 section 6.1's SHOULD); it is the caller's framing, so the
    service answers 400 like every other request it cannot read."""

    code, default_message = "UNSUPPORTED_TRANSFER_CODING", "Unsupported Transfer-Encoding"


class MissingFile(BadRequest):
    code, default_message = "MISSING_FILE", "No file in form field 'image_file'"


class MissingConfig(BadRequest):
    code, default_message = "MISSING_CONFIG", "Form field 'config' (JSON) is required"


class InvalidConfig(BadRequest):
    code, default_message = "INVALID_CONFIG", "Invalid config"


class InvalidParameter(BadRequest):
    code, default_message = "INVALID_PARAMETER", "Invalid form parameter"


class InvalidImage(BadRequest):
    code, default_message = "INVALID_IMAGE", "The file is not a decodable image"


class UnprocessableImage(BadRequest):
    """A decodable image whose geometry the OCR stage refuses (see ``app/ocr/geometry.py``)."""

    code, http_status, default_message = "UNPROCESSABLE_IMAGE", 422, "The image cannot be read as a document"


class ImageTooSmall(UnprocessableImage):
    code, default_message = "IMAGE_TOO_SMALL", "The image is too small to hold legible text"


class UnsupportedGeometry(UnprocessableImage):
    code, default_message = "UNSUPPORTED_GEOMETRY", "The image's aspect ratio is too extreme to read"


class InvalidDocument(BadRequest):
    """A PDF (or other multi-page file) that cannot be parsed."""

    code, default_message = "INVALID_DOCUMENT", "The file is not a readable document"


class PdfEncrypted(BadRequest):
    """A PDF that needs a password to open (the service takes none)."""

    code, default_message = "PDF_ENCRYPTED", "The PDF is encrypted with a password; send it unencrypted"


class InvalidXml(BadRequest):
    """An XML upload (or an e-invoice XML embedded in a PDF) that is not well-formed,
    or holds a value its standard does not allow (an amount that is not a decimal)."""

    code, default_message = "INVALID_XML", "The XML is not well-formed"


class XmlForbidden(InvalidXml):
    """XML with a document type declaration, entity declarations or external
    references (XXE, "billion laughs"): refused before anything is expanded."""

    code, default_message = "XML_FORBIDDEN", "XML with a DTD, entities or external references is not accepted"


class UnsupportedXml(BadRequest):
    """Well-formed XML that is not an e-invoice the service reads (UN/CEFACT CII,
    UBL 2.1 Invoice, Vietnamese HDon), or e-invoice XML while reading it is off."""

    code, default_message = "UNSUPPORTED_XML", "The XML is not a supported e-invoice"


class XmlHasNoPages(BadRequest):
    """An XML e-invoice sent to ``/ocr``: it has no pages to read text from."""

    code, default_message = "XML_HAS_NO_PAGES", ("An XML e-invoice has no pages to OCR; send it to /extract "
                                                 "for its fields and line items")


class PayloadTooLarge(ServiceError):
    code, http_status, default_message = "PAYLOAD_TOO_LARGE", 413, "Payload too large"
    grpc_status = "RESOURCE_EXHAUSTED"


class TooManyPages(PayloadTooLarge):
    """A document with more pages than ``MAX_PAGES`` (refused before any page is rendered)."""

    code, default_message = "TOO_MANY_PAGES", "The document has too many pages (MAX_PAGES)"


class NotFound(ServiceError):
    code, http_status, default_message = "NOT_FOUND", 404, "Not found"
    grpc_status = "NOT_FOUND"


class MethodNotAllowed(ServiceError):
    code, http_status, default_message = "METHOD_NOT_ALLOWED", 405, "Method not allowed"
    grpc_status = "UNIMPLEMENTED"


class RateLimited(ServiceError):
    """The client (API key or address) is over ``RATE_LIMIT``; ``Retry-After`` says when to retry."""

    code, http_status, default_message = "RATE_LIMITED", 429, "Too many requests"


class LLMError(ServiceError):
    """Base for errors of the LLM stage."""

    code, http_status, default_message = "LLM_ERROR", 502, "LLM server error"
    grpc_status = "UNAVAILABLE"


class LLMUnavailable(LLMError):
    code, http_status, default_message = "LLM_UNAVAILABLE", 503, "LLM server is unavailable"


class LLMTimeout(LLMError):
    code, http_status, default_message = "LLM_TIMEOUT", 504, "LLM server did not answer in time"
    grpc_status = "DEADLINE_EXCEEDED"


class LLMRejected(LLMError):
    """The LLM server answered with a 4xx: our request form was not accepted."""

    code, http_status, default_message = "LLM_REJECTED", 502, "LLM server rejected the request"
    grpc_status = "INTERNAL"  # our request form was refused: a server-side fault, retrying will not help


class Overloaded(ServiceError):
    """Every worker slot is busy and the bounded queue is full, or the wait for a slot ran out
    (backpressure, :mod:`app.api.admission`); sent with ``Retry-After``."""

    code, http_status, default_message = "OVERLOADED", 503, "The service is busy; retry later"
    retry_after = 2


class RequestTimeout(ServiceError):
    """The client did not send its request body within ``CLIENT_READ_TIMEOUT`` (a stalled upload)."""

    code, http_status, default_message = "REQUEST_TIMEOUT", 408, "The request body did not arrive in time"

    @classmethod
    def after(cls, seconds: float) -> "RequestTimeout":
        """The error for a client silent for ``seconds`` (``CLIENT_READ_TIMEOUT``) mid-request."""
        return cls(f"No request data for {seconds:g} s (CLIENT_READ_TIMEOUT); the request was abandoned")


class OcrEngineError(ServiceError):
    """The OCR engine failed on an input it accepted (a bug of ours, not the caller's:
    inputs whose geometry the engine cannot handle are refused before it runs)."""

    code, http_status, default_message = "OCR_ERROR", 500, "OCR engine failed"


class EngineUnavailable(ServiceError):
    """An engine cannot be built: package or model files missing (start-up error)."""

    code, http_status, default_message = "ENGINE_UNAVAILABLE", 503, "OCR engine is not available"
    grpc_status = "UNAVAILABLE"


class DeadlineExceeded(ServiceError):
    """A call ran past its deadline (the gRPC server's GRPC_CALL_TIMEOUT or the client's own)."""

    code, http_status, default_message = "DEADLINE_EXCEEDED", 504, "The call did not finish before its deadline"


class ServiceNotReady(ServiceError):
    code, http_status, default_message = "NOT_READY", 503, "Service is not ready"
    grpc_status = "UNAVAILABLE"


class SystemFailure(ServiceError):
    code, http_status, default_message = "SYSTEM_ERROR", 500, "Internal error"


# --- Jobs (app/jobs/) ---------------------------------------------------------------


class JobNotFound(NotFound):
    code, default_message = "JOB_NOT_FOUND", "No such job"


class QueueFull(ServiceError):
    """More than ``MAX_QUEUED_JOBS`` jobs wait; the response carries ``Retry-After``."""

    code, http_status, default_message = "QUEUE_FULL", 429, "Too many queued jobs; retry later"
    retry_after = 30


class JobConflict(ServiceError):
    """The job's state does not allow the request (e.g. canceling a finished job)."""

    code, http_status, default_message = "JOB_CONFLICT", 409, "The job's state does not allow this"


class StoreUnavailable(ServiceError):
    """The job database or the broker cannot be reached (retry later)."""

    code, http_status, default_message = "STORE_UNAVAILABLE", 503, "The job store is unavailable; retry later"
    retry_after = 10


class UnsafeUrl(BadRequest):
    """A callback_url / source_url that is not http(s) or resolves to a non-global address."""

    code, default_message = "UNSAFE_URL", "The URL is not allowed"


class SourceFetchFailed(BadRequest):
    """``source_url`` could not be downloaded (or answered non-2xx, or was too large)."""

    code, default_message = "SOURCE_FETCH_FAILED", "The source_url could not be downloaded"


class WebhookNotConfigured(BadRequest):
    code, default_message = "WEBHOOK_NOT_CONFIGURED", "callback_url needs WEBHOOK_SECRET set on the server"


class JobTimeLimit(ServiceError):
    code, http_status, default_message = "JOB_TIME_LIMIT", 500, "The job ran past JOB_TIME_LIMIT"


class JobAttemptsExhausted(ServiceError):
    code, http_status, default_message = "JOB_ATTEMPTS_EXHAUSTED", 500, "The job was started JOB_MAX_ATTEMPTS times without finishing"
