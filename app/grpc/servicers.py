"""gRPC servicers: thin doors onto :class:`app.pipeline.DocumentPipeline`.

Each servicer receives the pipeline in its constructor (as the HTTP routes
fetch it from the app), parses its request into the same arguments as the
HTTP API (the same validation: :func:`app.api.schemas.validate_extract_config`),
calls :meth:`DocumentPipeline.process` once (the entry point of every door)
and builds messages from its typed result (:class:`app.domain.DocumentResult`);
a job's results, stored as the HTTP JSON, are read back with
:meth:`DocumentResult.from_dict` first. Errors are raised as
:class:`app.errors.ServiceError` and become gRPC statuses in
:class:`app.grpc.interceptors.ErrorInterceptor`.

Extract and Ocr run in a worker pool under a server-side deadline: the earlier
of ``GRPC_CALL_TIMEOUT`` and the client's own deadline. The LLM calls inside
get at most the time that remains; a call still running at its deadline is
answered ``DEADLINE_EXCEEDED`` (its work stops at the next LLM timeout). The
jobs methods call :class:`app.jobs.service.JobService` (the HTTP ``/jobs``
door's service) and shape its ``public`` form; WatchJob polls the job store.
"""

from __future__ import annotations

import contextvars
import time
from concurrent.futures import Executor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Callable, TypeVar

import grpc
from google.protobuf import json_format, struct_pb2

from app.api.schemas import validate_extract_config
from app.config import Settings
from app.domain import DocumentResult, FieldResult, LineItem, PageText, TextLine
from app.errors import DeadlineExceeded, InvalidParameter, MissingFile, PayloadTooLarge, ServiceNotReady
from app.grpc.generated.docextract.v1 import document_pb2, extraction_service_pb2, extraction_service_pb2_grpc
from app.grpc.interceptors import current_trace_id
from app.observability.metrics import observe_results
from app.pipeline import DocumentPipeline, Upload

T = TypeVar("T")

_MODES = {
    extraction_service_pb2.EXTRACTION_MODE_PER_FIELD: "per_field",
    extraction_service_pb2.EXTRACTION_MODE_SCHEMA: "schema",
}


class CallRunner:
    """Runs one call's pipeline work in a worker pool under its deadline.

    Args:
        executor: the pool (``GRPC_MAX_WORKERS`` threads, shared by all servicers).
        call_timeout: the server-side deadline of every call, seconds.
    """

    def __init__(self, executor: Executor, call_timeout: float):
        self.executor = executor
        self.call_timeout = call_timeout

    def budget(self, context: grpc.ServicerContext) -> float:
        """Seconds left for this call: the server's limit or the client's deadline, whichever is earlier."""
        remaining = context.time_remaining()
        return self.call_timeout if remaining is None else min(self.call_timeout, remaining)

    def run(self, context: grpc.ServicerContext, work: Callable[[float], T]) -> T:
        """Run ``work(seconds_left)`` and return its result.

        Raises:
            DeadlineExceeded: the deadline passed first.
            ServiceError: whatever ``work`` raised.
        """
        start = time.monotonic()
        budget = self.budget(context)
        if budget <= 0:
            raise DeadlineExceeded()
        # The worker thread sees the call's context (its trace id, for the log).
        future = self.executor.submit(contextvars.copy_context().run, lambda: work(budget - (time.monotonic() - start)))
        context.add_callback(future.cancel)  # the client went away: drop the work if it has not started
        try:
            return future.result(timeout=budget)
        except FutureTimeout:
            future.cancel()
            raise DeadlineExceeded(f"The call did not finish within {budget:.1f} s "
                                   "(GRPC_CALL_TIMEOUT or the client's deadline)") from None


def _upload(content: bytes, filename: str) -> Upload:
    if not content:
        raise MissingFile("The request has no file content (field 'content' is empty)")
    return Upload(filename=filename or "document", data=content)


# ----------------------------------------------------------- result -> message
def box_message(points) -> document_pb2.Box | None:
    """``[[x, y] x 4]`` pixels -> Box (None stays None)."""
    if not points:
        return None
    return document_pb2.Box(points=[document_pb2.Point(x=float(x), y=float(y)) for x, y in points])


def text_line_message(line: TextLine) -> document_pb2.TextLine:
    """A :class:`TextLine` -> TextLine (rounded as the HTTP JSON: confidence 4 places, box 0.1 px)."""
    data = line.to_dict(True)
    return document_pb2.TextLine(text=data["text"], confidence=data["confidence"], box=box_message(data.get("box")),
                                 page=line.page or 0)


def _jsonable(value):
    """``value`` with what the JSON encoder writes as strings (``Decimal``, dates) as strings
    and tuples as lists, for a protobuf ``Struct`` / ``Value``."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def value_message(value) -> struct_pb2.Value:
    """A JSON-like value -> Value."""
    return json_format.ParseDict(_jsonable(value), struct_pb2.Value())


def struct_message(value: dict | None) -> struct_pb2.Struct | None:
    """A JSON-like dict -> Struct (None and empty stay None)."""
    if not value:
        return None
    return json_format.ParseDict(_jsonable(value), struct_pb2.Struct())


def field_message(key: str, result: FieldResult) -> document_pb2.Field:
    """One placed :class:`FieldResult` -> Field."""
    message = document_pb2.Field(key=key, confidence=round(result.confidence, 3), source=result.source or "",
                                 grounded=bool(result.grounded), box=box_message(result.box), page=result.page or 0,
                                 matched_field=result.matched_field or "")
    if result.value is not None:
        message.value = str(result.value)
    message.normalized.CopyFrom(value_message(result.normalized))
    if result.checks:
        message.checks.CopyFrom(struct_message(result.checks))
    return message


def page_message(page: PageText, with_lines: bool) -> document_pb2.Page:
    """A :class:`PageText` -> Page (its lines, with boxes, when ``with_lines``)."""
    return document_pb2.Page(page=page.number, width=page.width, height=page.height, source=page.source,
                             lines=[text_line_message(line) for line in page.ocr.lines] if with_lines else [],
                             timings=timings_message(page.timing()))


def line_item_message(item: LineItem) -> document_pb2.LineItem:
    """A placed :class:`LineItem` -> LineItem (numbers as the JSON's canonical strings)."""
    data = item.to_dict()
    message = document_pb2.LineItem(confidence=data["confidence"], page=item.page or 0,
                                    box=box_message(item.box), checks=struct_message(item.checks))
    for key in ("description", "quantity", "unit", "unit_price", "amount"):
        if data.get(key) is not None:
            setattr(message, key, str(data[key]))
    return message


def classification_message(classification: dict | None) -> document_pb2.Classification | None:
    """``classification`` (``{type, confidence, source}``) -> Classification."""
    if not classification:
        return None
    return document_pb2.Classification(type=classification.get("type") or "",
                                       confidence=float(classification.get("confidence") or 0.0),
                                       source=classification.get("source") or "")


def timings_message(processing_time: dict) -> document_pb2.Timings:
    """``timings`` (``processing_time``) -> Timings (``<stage>_ms`` keys go to ``stages_ms``)."""
    top = {"ocr_ms", "detection_ms", "recognition_ms", "extraction_ms", "text_layer_ms"}
    message = document_pb2.Timings(**{k: float(v) for k, v in processing_time.items() if k in top})
    for key, value in processing_time.items():
        if key not in top and key.endswith("_ms"):
            message.stages_ms[key.removesuffix("_ms")] = float(value)
    return message


def _config_fields(request) -> dict:
    """The ``/extract`` config keys an Extract or SubmitJob request carries: ``info``,
    ``document_type`` (``auto`` when none is named and no ``info`` is given) and ``mode``."""
    fields: dict = {}
    if request.info:
        fields["info"] = dict(request.info)
    if request.document_type or not request.info:
        fields["document_type"] = request.document_type or "auto"
    if request.mode in _MODES:
        fields["mode"] = _MODES[request.mode]
    return fields


def extract_response(result: DocumentResult, trace_id: str = "",
                     with_lines: bool = False) -> extraction_service_pb2.ExtractResponse:
    """One file's :class:`DocumentResult` -> ExtractResponse.

    Args:
        result: what :meth:`DocumentPipeline.process` returned (kind ``extract``).
        trace_id: the call's trace id.
        with_lines: include every OCR line with its box (``include_ocr_lines``), top level and per page.
    """
    return extraction_service_pb2.ExtractResponse(
        filename=result.filename,
        document_type=result.document_type or "",
        fields=[field_message(k, v) for k, v in result.fields.items()],
        field_errors=[document_pb2.FieldError(key=k, error_code=e.code, message=e.message)
                      for k, e in result.field_errors.items()],
        warnings=list(result.warnings),
        ocr_lines=[text_line_message(line) for line in result.lines] if with_lines else [],
        timings=timings_message(result.timings),
        trace_id=trace_id,
        page_count=len(result.pages),
        pages=[page_message(page, with_lines) for page in result.pages],
        line_items=[line_item_message(item) for item in result.line_items or ()],
        checks=struct_message(result.checks),
        classification=classification_message(result.classification),
    )


def ocr_response(result: DocumentResult, trace_id: str = "") -> extraction_service_pb2.OcrResponse:
    """One file's :class:`DocumentResult` (kind ``ocr``) -> OcrResponse (lines with boxes)."""
    return extraction_service_pb2.OcrResponse(
        filename=result.filename,
        lines=[text_line_message(line) for line in result.lines],
        timings=timings_message(result.timings),
        trace_id=trace_id,
        page_count=len(result.pages),
        pages=[page_message(page, True) for page in result.pages],
    )


_JOB_STATUS = {name: getattr(extraction_service_pb2, f"JOB_STATUS_{name.upper()}")
               for name in ("queued", "running", "succeeded", "failed", "canceled")}


def job_message(job: dict) -> extraction_service_pb2.Job:
    """A job in the HTTP API's form (:meth:`app.jobs.service.JobService.public`) -> Job."""
    progress = job.get("progress") or {}
    message = extraction_service_pb2.Job(
        job_id=job["job_id"], status=_JOB_STATUS.get(job["status"], 0), status_url=job.get("status_url") or "",
        stage=job.get("stage") or "", document_type=job.get("document_type") or "",
        progress=extraction_service_pb2.JobProgress(stage=progress.get("stage") or "",
                                                   done=int(progress.get("done") or 0),
                                                   total=int(progress.get("total") or 0),
                                                   pages_ocr=int(progress.get("pages_ocr") or 0)),
        attempts=int(job.get("attempts") or 0), cancel_requested=bool(job.get("cancel_requested")),
        review_status=job.get("review_status") or "",
        created_at=job.get("created_at") or "", started_at=job.get("started_at") or "",
        finished_at=job.get("finished_at") or "", updated_at=job.get("updated_at") or "",
        timings_ms={k: float(v) for k, v in (job.get("timings") or {}).items() if isinstance(v, (int, float))},
        error=struct_message(job.get("error") if isinstance(job.get("error"), dict) else None),
    )
    if job.get("quality_score") is not None:
        message.quality_score = float(job["quality_score"])
    result = job.get("result") or {}
    for item in result.get("results") or []:
        if item.get("success", True) and "fields" in item:
            # A job stores its results as the HTTP JSON (with its lines when it asked for boxes).
            message.results.append(extract_response(DocumentResult.from_dict(item), with_lines="ocr_data" in item))
        else:
            message.file_errors.append(extraction_service_pb2.JobFileError(
                filename=item.get("filename") or "", error_code=item.get("error_code") or "",
                message=item.get("message") or ""))
    message.processed_count = int(result.get("processed_count") or 0)
    message.error_count = int(result.get("error_count") or 0)
    return message


class ExtractionServicer(extraction_service_pb2_grpc.ExtractionServiceServicer):
    """``docextract.v1.ExtractionService``: Extract, Ocr, and the jobs methods.

    Args:
        pipeline: the one extraction path (shared with the HTTP API).
        settings: the server default extraction mode, file and wait limits.
        runner: worker pool and per-call deadline.
        jobs: the jobs capability (:func:`app.jobs.service.build_jobs`); None: the
            jobs methods answer ``UNAVAILABLE``.
    """

    #: Seconds between two looks at a watched job.
    watch_interval = 0.25

    def __init__(self, pipeline: DocumentPipeline, settings: Settings, runner: CallRunner, jobs=None):
        self.pipeline = pipeline
        self.settings = settings
        self.runner = runner
        self.jobs = jobs

    def Extract(self, request, context):
        upload = _upload(request.content, request.filename)
        config_dict: dict = {"display_text_box": request.include_ocr_lines, **_config_fields(request)}
        for name, key in (("parallel", "parallel"), ("batch_size", "batch_size"),
                          ("llm_timeout_seconds", "llm_timeout")):
            if request.HasField(name):
                config_dict[key] = getattr(request, name)
        config = validate_extract_config(config_dict)

        def work(seconds_left: float) -> DocumentResult:
            options = config.options(self.settings, time.monotonic() + seconds_left)
            return self.pipeline.process(upload, info=config.info, options=options,
                                         document_type=config.document_type)

        result = self.runner.run(context, work)
        observe_results("extract", [result], config.document_type)
        return extract_response(result, current_trace_id(), with_lines=config.display_text_box)

    def Ocr(self, request, context):
        upload = _upload(request.content, request.filename)
        result = self.runner.run(context, lambda _: self.pipeline.process(upload, ocr_only=True))
        observe_results("ocr", [result])
        return ocr_response(result, current_trace_id())

    # ----------------------------------------------------------------- jobs
    def _jobs(self):
        if self.jobs is None:
            raise ServiceNotReady("Jobs are not enabled on this gRPC server")
        return self.jobs

    def _public(self, row: dict, detail: bool = True) -> dict:
        return self._jobs().public(row, f"/jobs/{row['id']}", detail=detail)

    def SubmitJob(self, request, context):
        jobs = self._jobs()
        if not request.files:
            raise MissingFile("The request has no files (field 'files' is empty)")
        limit = self.settings.max_files_per_request
        if len(request.files) > limit:
            raise PayloadTooLarge(f"{len(request.files)} files sent; the limit is {limit} per request "
                                  "(MAX_FILES_PER_REQUEST)")
        uploads = [_upload(f.content, f.filename or f"file{i}") for i, f in enumerate(request.files)]
        config = validate_extract_config(_config_fields(request))
        row, created = jobs.submit(uploads=uploads, request=config.model_dump(), source_url=None,
                                   callback_url=request.callback_url or None,
                                   idempotency_key=request.idempotency_key or None)
        return extraction_service_pb2.SubmitJobResponse(job=job_message(self._public(row, detail=False)),
                                                        created=created)

    def GetJob(self, request, context):
        jobs = self._jobs()
        limit = self.settings.job_max_wait
        if not 0 <= request.wait_seconds <= limit:
            raise InvalidParameter(f"wait_seconds must be between 0 and {limit:g} (JOB_MAX_WAIT)")
        wait = min(request.wait_seconds, max(0.0, self.runner.budget(context) - 1.0))
        return extraction_service_pb2.GetJobResponse(job=job_message(self._public(jobs.get(request.job_id, wait))))

    def WatchJob(self, request, context):
        from app.jobs.store import FINISHED

        jobs = self._jobs()
        deadline = time.monotonic() + self.runner.budget(context)
        last = None
        while context.is_active():
            row = jobs.get(request.job_id)
            state = (row["status"], row["stage"], row["progress_done"], row["progress_total"], row["progress_pages"])
            finished = row["status"] in FINISHED
            if state != last:
                last = state
                yield extraction_service_pb2.WatchJobResponse(job=job_message(self._public(row, detail=finished)))
            if finished:
                return
            if time.monotonic() >= deadline:
                raise DeadlineExceeded("The job did not finish before the call's deadline; watch it again")
            time.sleep(self.watch_interval)
