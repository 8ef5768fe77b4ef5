"""The OpenAPI 3.1 description of the HTTP API, and its docs page.

``GET /openapi.json`` serves :func:`build_spec`; ``GET /docs`` a small page
(``app/api/static/docs.html`` + ``docs.js``, no CDN, works offline) that renders it.

Schemas come from pydantic models: the request's ``config`` is
:class:`app.api.schemas.ExtractConfig`, the very model ``POST /extract``
validates with; responses are described by the models below, which tests
check real responses against (``tests/unit/test_openapi.py``, schemathesis).

**Adding a route is one edit**: append an :class:`Operation` to
:data:`OPERATIONS` (in its capability's section), with its pydantic response
models in :data:`RESPONSE_MODELS` when it has new ones. A test fails while any
route of the app is missing here.

Source: OpenAPI Specification 3.1.0 (https://spec.openapis.org/oas/v3.1.0),
whose Schema Object is JSON Schema 2020-12, the dialect pydantic generates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from flask import Blueprint, current_app, jsonify, send_file
from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema

from app.api.schemas import ExtractConfig

#: Prefix under which the original ID-card service's clients call the same routes.
LEGACY_PREFIX = "/id_card_scan"

docs = Blueprint("docs", __name__, static_folder="static", static_url_path="/docs/static")

#: The docs page loads its script and style from this service only and fetches only ``/openapi.json``.
DOCS_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
            "frame-ancestors 'none'")


# ---------------------------------------------------------------- response models


class _Open(BaseModel):
    """Objects that may gain keys (new capabilities add them): extra keys are allowed."""

    model_config = ConfigDict(extra="allow")


class ErrorResponse(_Open):
    """Every error: ``success`` false, a stable ``error_code``, a safe ``message`` and the ``trace_id``."""

    success: Literal[False]
    message: str
    error_code: str
    trace_id: str
    details: dict[str, Any] | None = None


class HealthResponse(BaseModel):
    """``GET /health``: the exact body of the original service."""

    success: Literal[True]
    message: str
    status: Literal["healthy"]


class Check(_Open):
    """One readiness check: ``ok`` and details (``message`` when it failed)."""

    ok: bool


class ReadyResponse(_Open):
    """``GET /ready`` and ``GET /readyz`` when ready."""

    success: Literal[True]
    status: Literal["ready"]
    trace_id: str
    checks: dict[str, Check]


class NotReadyResponse(ErrorResponse):
    """Not ready: ``NOT_READY`` with every check."""

    checks: dict[str, Check]


class LivenessResponse(BaseModel):
    """``GET /livez``."""

    success: Literal[True]
    status: Literal["alive"]


class OcrLine(BaseModel):
    """One text line: text, recognition confidence in [0, 1] and, when asked, its box ``(4, 2)`` in pixels."""

    text: str
    confidence: float
    box: list[list[float]] | None = None


class FileError(_Open):
    """A file that failed (the others of the request are still processed)."""

    filename: str
    success: Literal[False]
    error_code: str
    message: str


class OcrFileResult(_Open):
    """OCR of one file; ``processing_time`` in milliseconds."""

    filename: str
    success: Literal[True]
    ocr_data: list[OcrLine]
    processing_time: dict[str, float]


class FieldDetail(_Open):
    """One field: value as read, normalized form, confidence 0..1, source (qr, mrz, rule, llm, xml), grounding, box."""

    value: str | None
    normalized: Any = None
    confidence: float | None = None
    source: str | None = None
    grounded: bool | None = None
    box: list[list[float]] | None = None
    checks: dict[str, Any] | None = None


class ExtractFileResult(_Open):
    """Fields of one file: ``extracted_fields`` (key -> value) and ``fields`` (key -> detail)."""

    filename: str
    success: Literal[True]
    extracted_fields: dict[str, str | None]
    fields: dict[str, FieldDetail]
    processing_time: dict[str, float]
    ocr_data: list[OcrLine] | None = None
    field_errors: dict[str, dict[str, Any]] | None = None
    warnings: list[str] | None = None


class OcrData(BaseModel):
    """Per-file OCR results in upload order, and counts."""

    results: list[OcrFileResult | FileError]
    processed_count: int = Field(ge=0)
    error_count: int = Field(ge=0)


class ExtractData(BaseModel):
    """Per-file extraction results in upload order, and counts."""

    results: list[ExtractFileResult | FileError]
    processed_count: int = Field(ge=0)
    error_count: int = Field(ge=0)


class OcrResponse(_Open):
    """OCR completed (some files may have failed: see ``data.error_count``)."""

    success: Literal[True]
    message: str
    trace_id: str
    data: OcrData


class ExtractResponse(_Open):
    """Extraction completed (some files may have failed: see ``data.error_count``)."""

    success: Literal[True]
    message: str
    trace_id: str
    data: ExtractData


JobStatus = Literal["queued", "running", "succeeded", "failed", "canceled"]


class JobAccepted(_Open):
    """Job queued (202, with ``Location`` and ``Retry-After``), or the job of a repeated ``Idempotency-Key`` (200)."""

    success: Literal[True]
    message: str
    trace_id: str
    job_id: str
    status: JobStatus
    status_url: str


class JobProgress(_Open):
    """Documents done in the current stage, of ``total``; pages read by OCR so far."""

    stage: str
    done: int = Field(ge=0)
    total: int = Field(ge=0)
    pages_ocr: int = Field(ge=0)


class JobSummary(_Open):
    """A job: status, stage, progress, attempts, review decision, timings (milliseconds), error when failed."""

    job_id: str
    status: JobStatus
    status_url: str
    stage: str
    document_type: str | None = None
    progress: JobProgress
    attempts: int = Field(ge=0)
    cancel_requested: bool
    review_status: Literal["approved", "manual_review"] | None = None
    quality_score: float | None = None
    created_at: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    updated_at: str | None = None
    timings: dict[str, float]
    error: dict[str, Any] | None = None


class JobDetail(JobSummary):
    """A job with its result (the ``/extract`` data shape), review reasons, status history and webhook log."""

    success: Literal[True]
    trace_id: str
    review_reasons: list[str]
    files: list[dict[str, Any]]
    result: dict[str, Any] | None = None
    history: list[dict[str, Any]]
    webhook: dict[str, Any] | None = None
    last_error: dict[str, Any] | None = None
    source_url: str | None = None


class JobCancelResponse(JobSummary):
    """Cancel requested: ``canceled`` at once when queued, at the next stage boundary when running."""

    success: Literal[True]
    trace_id: str
    message: str


class JobList(_Open):
    """Jobs newest first; ``next_cursor`` for the next page (None on the last)."""

    success: Literal[True]
    trace_id: str
    next_cursor: str | None = None
    jobs: list[JobSummary]


class JobDeleted(_Open):
    """The job, its history, webhook log and stored files are gone."""

    success: Literal[True]
    trace_id: str
    message: str
    job_id: str


#: Every model referenced from an operation (they land in ``components.schemas``).
RESPONSE_MODELS: tuple[type[BaseModel], ...] = (
    ErrorResponse, HealthResponse, ReadyResponse, NotReadyResponse, LivenessResponse, OcrResponse,
    ExtractResponse, ExtractConfig, JobAccepted, JobDetail, JobCancelResponse, JobList, JobDeleted,
)


# ---------------------------------------------------------------- operations


@dataclass(frozen=True)
class Operation:
    """One route in the description.

    Attributes:
        method: ``get``, ``post``, ...
        path: OpenAPI path (``/jobs/{job_id}``; Flask's ``<job_id>`` becomes ``{job_id}``).
        operation_id: unique id (clients generate method names from it).
        summary: one line.
        tag: group in the docs page.
        responses: status code -> model (JSON body), ``"text"`` (``text/plain``),
            ``"html"`` or ``"json"`` (any JSON object).
        form: multipart form fields: name -> JSON Schema (the request body).
        required_form: form fields that must be present.
        json_body: JSON Schema of an ``application/json`` request body (besides or
            instead of the form).
        parameters: OpenAPI Parameter Objects (path and query parameters).
        secured: needs ``X-API-Token`` when ``HARD_TOKEN`` is set.
        legacy: also served under :data:`LEGACY_PREFIX`.
        description: longer text (Markdown).
    """

    method: str
    path: str
    operation_id: str
    summary: str
    tag: str
    responses: dict[int, Any]
    form: dict[str, dict] = field(default_factory=dict)
    required_form: tuple[str, ...] = ()
    json_body: dict | None = None
    parameters: tuple[dict, ...] = ()
    secured: bool = True
    legacy: bool = False
    description: str = ""


_FILE = {"type": "string", "format": "binary",
         "description": "a document: an image (JPEG, PNG, BMP, WebP), a PDF, a multi-page TIFF or HEIC"}
_FILES = {"type": "array", "items": _FILE, "minItems": 1,
          "description": "one or more files (repeat the part); at most MAX_FILES_PER_REQUEST"}
_TOKEN_FIELD = {"type": "string", "description": "the API token, when not sent as header X-API-Token"}
_BOOL_FIELD = {"type": "string", "enum": ["true", "false", "1", "0", "yes", "no", "on", "off"]}
_CONFIG_FIELD = {
    # A multipart part whose schema is an object is JSON (OpenAPI 3.1, Encoding Object): the form field
    # `config` holds the JSON text of an ExtractConfig.
    "$ref": "#/components/schemas/ExtractConfig",
    "description": "JSON object (ExtractConfig): info and/or document_type, mode, parallel, batch_size, "
                   "llm_timeout, display_text_box, einvoice_xml",
}
_URL_FIELD = {"type": "string", "format": "uri", "maxLength": 2048,
              "description": "an http(s) URL on a public address (unless WEBHOOK_ALLOW_PRIVATE=true)"}
_JOB_ID = {"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}}
_IDEMPOTENCY_KEY = {"name": "Idempotency-Key", "in": "header", "required": False,
                    "description": "a repeated key returns the first job instead of queueing another",
                    "schema": {"type": "string", "maxLength": 255}}
_API_ERRORS = {400: ErrorResponse, 401: ErrorResponse, 413: ErrorResponse, 422: ErrorResponse,
               429: ErrorResponse, 503: ErrorResponse}
_LLM_ERRORS = {502: ErrorResponse, 504: ErrorResponse}

OPERATIONS: list[Operation] = [
    # --- core: OCR and extraction (app/api/routes.py) ---
    Operation("post", "/ocr", "ocr", "Text detection and recognition", "extraction",
              {200: OcrResponse, **_API_ERRORS, 500: ErrorResponse},
              form={"image_file": _FILES, "display_text_box": _BOOL_FIELD, "hard_token": _TOKEN_FIELD},
              required_form=("image_file",), legacy=True,
              description="Per-file failures (undecodable image, too large) are reported in `data.results` "
                          "with `success: false`; when every file fails the request gets that file's status."),
    Operation("post", "/extract", "extract", "OCR and key information extraction", "extraction",
              {200: ExtractResponse, **_API_ERRORS, 500: ErrorResponse, **_LLM_ERRORS},
              form={"image_file": _FILES, "config": _CONFIG_FIELD, "hard_token": _TOKEN_FIELD},
              required_form=("image_file", "config"), legacy=True,
              description="Fields come from the deterministic readers (QR, MRZ, rules) first, then the LLM."),
    # --- health (app/api/routes.py; contract of the original service) ---
    Operation("get", "/health", "health", "Liveness (original contract)", "health", {200: HealthResponse},
              secured=False, legacy=True),
    Operation("get", "/ready", "ready", "Readiness (original contract)", "health",
              {200: ReadyResponse, 503: NotReadyResponse}, secured=False, legacy=True),
    # --- operations (app/observability, app/api/openapi.py) ---
    Operation("get", "/livez", "livez", "Liveness probe: the process answers", "operations",
              {200: LivenessResponse}, secured=False),
    Operation("get", "/readyz", "readyz", "Readiness probe: OCR loaded, LLM answers, database/broker reachable",
              "operations", {200: ReadyResponse, 503: NotReadyResponse}, secured=False),
    Operation("get", "/metrics", "metrics", "Prometheus metrics (text exposition format)", "operations",
              {200: "text", 401: ErrorResponse},
              description="Header X-API-Token must be METRICS_TOKEN or HARD_TOKEN when either is set. "
                          "Absent when METRICS_PORT serves the metrics on a separate port."),
    Operation("get", "/openapi.json", "openapi", "This description (OpenAPI 3.1)", "operations", {200: "json"},
              secured=False),
    Operation("get", "/docs", "docs", "The API description as a web page", "operations", {200: "html"},
              secured=False),
    # --- jobs (app/api/jobs.py, app/jobs; docs/jobs.md) ---
    Operation("post", "/jobs", "submit_job", "Queue documents for asynchronous extraction", "jobs",
              {202: JobAccepted, 200: JobAccepted, **_API_ERRORS},
              form={"image_file": _FILES, "config": _CONFIG_FIELD, "callback_url": _URL_FIELD,
                    "source_url": _URL_FIELD, "hard_token": _TOKEN_FIELD},
              required_form=("config",),
              json_body={"type": "object", "required": ["source_url", "config"], "properties": {
                  "source_url": _URL_FIELD, "config": {"$ref": "#/components/schemas/ExtractConfig"},
                  "callback_url": _URL_FIELD}},
              parameters=(_IDEMPOTENCY_KEY,), legacy=True,
              description="The same files and `config` as `/extract` (or JSON with `source_url`). Poll "
                          "`status_url`, or give `callback_url` for a signed Standard Webhooks callback. "
                          "429 `QUEUE_FULL` over MAX_QUEUED_JOBS; 503 `STORE_UNAVAILABLE` when the job "
                          "database or broker is down; 400 `UNSAFE_URL` for a non-public URL."),
    Operation("get", "/jobs/{job_id}", "get_job", "A job: status, progress, result, history, webhook log", "jobs",
              {200: JobDetail, 400: ErrorResponse, 401: ErrorResponse, 404: ErrorResponse, 429: ErrorResponse,
               503: ErrorResponse},
              parameters=(_JOB_ID, {"name": "wait", "in": "query", "required": False,
                                    "description": "long-poll: seconds to wait for the job to finish "
                                                   "(at most JOB_MAX_WAIT)",
                                    "schema": {"type": "number", "minimum": 0}}), legacy=True),
    Operation("get", "/jobs", "list_jobs", "Jobs, newest first (filter by status, review_status)", "jobs",
              {200: JobList, 400: ErrorResponse, 401: ErrorResponse, 429: ErrorResponse, 503: ErrorResponse},
              parameters=(
                  {"name": "status", "in": "query", "required": False,
                   "schema": {"type": "string", "enum": ["queued", "running", "succeeded", "failed", "canceled"]}},
                  {"name": "review_status", "in": "query", "required": False,
                   "schema": {"type": "string", "enum": ["approved", "manual_review"]}},
                  {"name": "limit", "in": "query", "required": False,
                   "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
                  {"name": "cursor", "in": "query", "required": False, "schema": {"type": "string"}}),
              legacy=True),
    Operation("post", "/jobs/{job_id}/cancel", "cancel_job", "Cancel a job (between stages)", "jobs",
              {202: JobCancelResponse, 401: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse,
               429: ErrorResponse, 503: ErrorResponse},
              parameters=(_JOB_ID,), legacy=True),
    Operation("delete", "/jobs/{job_id}", "delete_job", "Delete a job and its stored files", "jobs",
              {200: JobDeleted, 401: ErrorResponse, 404: ErrorResponse, 429: ErrorResponse, 503: ErrorResponse},
              parameters=(_JOB_ID,), legacy=True),
]


def _response(status: int, model: Any) -> dict:
    if model == "text":
        return {"description": "OK", "content": {"text/plain": {"schema": {"type": "string"}}}}
    if model == "html":
        return {"description": "OK", "content": {"text/html": {"schema": {"type": "string"}}}}
    if model == "json":
        return {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}
    description = ((model.__doc__ or "OK").strip().splitlines() or ["OK"])[0] if status < 400 else {
        400: "Bad request (the error code says which input)", 401: "Missing or invalid API token",
        404: "No such job", 409: "The job's state does not allow this", 413: "Payload too large", 422: "Image geometry unsupported (too small, extreme aspect)", 429: "Rate limited (RATE_LIMIT); see Retry-After",
        500: "Internal or OCR engine error", 502: "LLM server error", 503: "Not ready or LLM unavailable",
        504: "LLM timeout"}.get(status, "Error")
    out = {"description": description or "OK",
           "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}}}
    if status == 429:
        out["headers"] = {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}}
    return out


def _operation(op: Operation, operation_id: str) -> dict:
    out: dict[str, Any] = {"operationId": operation_id, "summary": op.summary, "tags": [op.tag],
                           "responses": {str(code): _response(code, m) for code, m in op.responses.items()}}
    if op.description:
        out["description"] = op.description
    if op.parameters:
        out["parameters"] = list(op.parameters)
    content: dict[str, Any] = {}
    if op.json_body is not None:
        content["application/json"] = {"schema": op.json_body}
    if op.form:
        content["multipart/form-data"] = {
            "schema": {"type": "object", "properties": dict(op.form), "required": list(op.required_form)},
            "encoding": {name: {"contentType": "image/*, application/octet-stream"} if name == "image_file"
                         else {"contentType": "application/json"} for name in op.form
                         if name == "image_file" or "$ref" in op.form[name]}}
    if content:
        out["requestBody"] = {"required": True, "content": content}
    out["security"] = [{"ApiToken": []}, {}] if op.secured else []
    return out


def build_spec(version: str = "1.0.0") -> dict:
    """The OpenAPI 3.1 document of every operation in :data:`OPERATIONS`.

    Returns:
        A JSON-able dict; ``components.schemas`` holds the pydantic models'
        JSON Schemas (``$defs`` lifted into components).
    """
    _, schemas = models_json_schema([(m, "serialization" if m is not ExtractConfig else "validation")
                                     for m in RESPONSE_MODELS], ref_template="#/components/schemas/{model}")
    paths: dict[str, dict] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method] = _operation(op, op.operation_id)
        if op.legacy:
            paths.setdefault(LEGACY_PREFIX + op.path, {})[op.method] = {
                **_operation(op, op.operation_id + "_legacy"),
                "description": f"Same as `{op.method.upper()} {op.path}` (path of the original ID-card service)."}
    return {
        "openapi": "3.1.0",
        "info": {"title": "docextract", "version": version,
                 "description": "Self-hosted document extraction: OCR and key information extraction "
                                "(Vietnamese CCCD, invoices, orders, receipts).",
                 "license": {"name": "see the project README"}},
        "paths": paths,
        "components": {
            "schemas": schemas.get("$defs", {}),
            "securitySchemes": {"ApiToken": {"type": "apiKey", "in": "header", "name": "X-API-Token",
                                             "description": "HARD_TOKEN (or METRICS_TOKEN for /metrics); "
                                                            "not needed when HARD_TOKEN is empty"}},
        },
    }


@docs.get("/openapi.json")
def openapi_json():
    """The OpenAPI 3.1 description (built once per app)."""
    spec = current_app.extensions.get("docextract.openapi")
    if spec is None:
        spec = current_app.extensions["docextract.openapi"] = build_spec()
    return jsonify(spec)


@docs.get("/docs")
def docs_page():
    """A page that renders ``openapi.json`` (plain HTML and JavaScript, no external assets)."""
    response = send_file(Path(__file__).parent / "static" / "docs.html", mimetype="text/html", max_age=0)
    response.headers["Content-Security-Policy"] = DOCS_CSP
    return response
