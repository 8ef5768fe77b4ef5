from app.grpc.generated.docextract.v1 import document_pb2 as _document_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ExtractionMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EXTRACTION_MODE_UNSPECIFIED: _ClassVar[ExtractionMode]
    EXTRACTION_MODE_PER_FIELD: _ClassVar[ExtractionMode]
    EXTRACTION_MODE_SCHEMA: _ClassVar[ExtractionMode]

class JobStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    JOB_STATUS_UNSPECIFIED: _ClassVar[JobStatus]
    JOB_STATUS_QUEUED: _ClassVar[JobStatus]
    JOB_STATUS_RUNNING: _ClassVar[JobStatus]
    JOB_STATUS_SUCCEEDED: _ClassVar[JobStatus]
    JOB_STATUS_FAILED: _ClassVar[JobStatus]
    JOB_STATUS_CANCELED: _ClassVar[JobStatus]
EXTRACTION_MODE_UNSPECIFIED: ExtractionMode
EXTRACTION_MODE_PER_FIELD: ExtractionMode
EXTRACTION_MODE_SCHEMA: ExtractionMode
JOB_STATUS_UNSPECIFIED: JobStatus
JOB_STATUS_QUEUED: JobStatus
JOB_STATUS_RUNNING: JobStatus
JOB_STATUS_SUCCEEDED: JobStatus
JOB_STATUS_FAILED: JobStatus
JOB_STATUS_CANCELED: JobStatus

class ExtractRequest(_message.Message):
    __slots__ = ("content", "filename", "document_type", "info", "mode", "parallel", "batch_size", "llm_timeout_seconds", "include_ocr_lines")
    class InfoEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    INFO_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    PARALLEL_FIELD_NUMBER: _ClassVar[int]
    BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    LLM_TIMEOUT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_OCR_LINES_FIELD_NUMBER: _ClassVar[int]
    content: bytes
    filename: str
    document_type: str
    info: _containers.ScalarMap[str, str]
    mode: ExtractionMode
    parallel: bool
    batch_size: int
    llm_timeout_seconds: float
    include_ocr_lines: bool
    def __init__(self, content: _Optional[bytes] = ..., filename: _Optional[str] = ..., document_type: _Optional[str] = ..., info: _Optional[_Mapping[str, str]] = ..., mode: _Optional[_Union[ExtractionMode, str]] = ..., parallel: _Optional[bool] = ..., batch_size: _Optional[int] = ..., llm_timeout_seconds: _Optional[float] = ..., include_ocr_lines: _Optional[bool] = ...) -> None: ...

class ExtractResponse(_message.Message):
    __slots__ = ("filename", "document_type", "fields", "field_errors", "warnings", "ocr_lines", "timings", "trace_id", "page_count", "pages", "line_items", "checks", "classification")
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    FIELD_ERRORS_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    OCR_LINES_FIELD_NUMBER: _ClassVar[int]
    TIMINGS_FIELD_NUMBER: _ClassVar[int]
    TRACE_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_COUNT_FIELD_NUMBER: _ClassVar[int]
    PAGES_FIELD_NUMBER: _ClassVar[int]
    LINE_ITEMS_FIELD_NUMBER: _ClassVar[int]
    CHECKS_FIELD_NUMBER: _ClassVar[int]
    CLASSIFICATION_FIELD_NUMBER: _ClassVar[int]
    filename: str
    document_type: str
    fields: _containers.RepeatedCompositeFieldContainer[_document_pb2.Field]
    field_errors: _containers.RepeatedCompositeFieldContainer[_document_pb2.FieldError]
    warnings: _containers.RepeatedScalarFieldContainer[str]
    ocr_lines: _containers.RepeatedCompositeFieldContainer[_document_pb2.TextLine]
    timings: _document_pb2.Timings
    trace_id: str
    page_count: int
    pages: _containers.RepeatedCompositeFieldContainer[_document_pb2.Page]
    line_items: _containers.RepeatedCompositeFieldContainer[_document_pb2.LineItem]
    checks: _struct_pb2.Struct
    classification: _document_pb2.Classification
    def __init__(self, filename: _Optional[str] = ..., document_type: _Optional[str] = ..., fields: _Optional[_Iterable[_Union[_document_pb2.Field, _Mapping]]] = ..., field_errors: _Optional[_Iterable[_Union[_document_pb2.FieldError, _Mapping]]] = ..., warnings: _Optional[_Iterable[str]] = ..., ocr_lines: _Optional[_Iterable[_Union[_document_pb2.TextLine, _Mapping]]] = ..., timings: _Optional[_Union[_document_pb2.Timings, _Mapping]] = ..., trace_id: _Optional[str] = ..., page_count: _Optional[int] = ..., pages: _Optional[_Iterable[_Union[_document_pb2.Page, _Mapping]]] = ..., line_items: _Optional[_Iterable[_Union[_document_pb2.LineItem, _Mapping]]] = ..., checks: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., classification: _Optional[_Union[_document_pb2.Classification, _Mapping]] = ...) -> None: ...

class OcrRequest(_message.Message):
    __slots__ = ("content", "filename")
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    content: bytes
    filename: str
    def __init__(self, content: _Optional[bytes] = ..., filename: _Optional[str] = ...) -> None: ...

class OcrResponse(_message.Message):
    __slots__ = ("filename", "lines", "timings", "trace_id", "page_count", "pages")
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    TIMINGS_FIELD_NUMBER: _ClassVar[int]
    TRACE_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_COUNT_FIELD_NUMBER: _ClassVar[int]
    PAGES_FIELD_NUMBER: _ClassVar[int]
    filename: str
    lines: _containers.RepeatedCompositeFieldContainer[_document_pb2.TextLine]
    timings: _document_pb2.Timings
    trace_id: str
    page_count: int
    pages: _containers.RepeatedCompositeFieldContainer[_document_pb2.Page]
    def __init__(self, filename: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[_document_pb2.TextLine, _Mapping]]] = ..., timings: _Optional[_Union[_document_pb2.Timings, _Mapping]] = ..., trace_id: _Optional[str] = ..., page_count: _Optional[int] = ..., pages: _Optional[_Iterable[_Union[_document_pb2.Page, _Mapping]]] = ...) -> None: ...

class SubmitJobRequest(_message.Message):
    __slots__ = ("files", "document_type", "info", "mode", "callback_url", "idempotency_key")
    class InfoEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    FILES_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    INFO_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    CALLBACK_URL_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    files: _containers.RepeatedCompositeFieldContainer[JobFile]
    document_type: str
    info: _containers.ScalarMap[str, str]
    mode: ExtractionMode
    callback_url: str
    idempotency_key: str
    def __init__(self, files: _Optional[_Iterable[_Union[JobFile, _Mapping]]] = ..., document_type: _Optional[str] = ..., info: _Optional[_Mapping[str, str]] = ..., mode: _Optional[_Union[ExtractionMode, str]] = ..., callback_url: _Optional[str] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class SubmitJobResponse(_message.Message):
    __slots__ = ("job", "created")
    JOB_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    job: Job
    created: bool
    def __init__(self, job: _Optional[_Union[Job, _Mapping]] = ..., created: _Optional[bool] = ...) -> None: ...

class GetJobRequest(_message.Message):
    __slots__ = ("job_id", "wait_seconds")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    WAIT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    wait_seconds: float
    def __init__(self, job_id: _Optional[str] = ..., wait_seconds: _Optional[float] = ...) -> None: ...

class GetJobResponse(_message.Message):
    __slots__ = ("job",)
    JOB_FIELD_NUMBER: _ClassVar[int]
    job: Job
    def __init__(self, job: _Optional[_Union[Job, _Mapping]] = ...) -> None: ...

class WatchJobRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class WatchJobResponse(_message.Message):
    __slots__ = ("job",)
    JOB_FIELD_NUMBER: _ClassVar[int]
    job: Job
    def __init__(self, job: _Optional[_Union[Job, _Mapping]] = ...) -> None: ...

class JobFile(_message.Message):
    __slots__ = ("content", "filename")
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    content: bytes
    filename: str
    def __init__(self, content: _Optional[bytes] = ..., filename: _Optional[str] = ...) -> None: ...

class JobProgress(_message.Message):
    __slots__ = ("stage", "done", "total", "pages_ocr")
    STAGE_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    PAGES_OCR_FIELD_NUMBER: _ClassVar[int]
    stage: str
    done: int
    total: int
    pages_ocr: int
    def __init__(self, stage: _Optional[str] = ..., done: _Optional[int] = ..., total: _Optional[int] = ..., pages_ocr: _Optional[int] = ...) -> None: ...

class JobFileError(_message.Message):
    __slots__ = ("filename", "error_code", "message")
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    ERROR_CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    filename: str
    error_code: str
    message: str
    def __init__(self, filename: _Optional[str] = ..., error_code: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class Job(_message.Message):
    __slots__ = ("job_id", "status", "status_url", "stage", "document_type", "progress", "attempts", "cancel_requested", "review_status", "quality_score", "created_at", "started_at", "finished_at", "updated_at", "timings_ms", "error", "results", "file_errors", "processed_count", "error_count")
    class TimingsMsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    STATUS_URL_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    CANCEL_REQUESTED_FIELD_NUMBER: _ClassVar[int]
    REVIEW_STATUS_FIELD_NUMBER: _ClassVar[int]
    QUALITY_SCORE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    TIMINGS_MS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    FILE_ERRORS_FIELD_NUMBER: _ClassVar[int]
    PROCESSED_COUNT_FIELD_NUMBER: _ClassVar[int]
    ERROR_COUNT_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    status: JobStatus
    status_url: str
    stage: str
    document_type: str
    progress: JobProgress
    attempts: int
    cancel_requested: bool
    review_status: str
    quality_score: float
    created_at: str
    started_at: str
    finished_at: str
    updated_at: str
    timings_ms: _containers.ScalarMap[str, float]
    error: _struct_pb2.Struct
    results: _containers.RepeatedCompositeFieldContainer[ExtractResponse]
    file_errors: _containers.RepeatedCompositeFieldContainer[JobFileError]
    processed_count: int
    error_count: int
    def __init__(self, job_id: _Optional[str] = ..., status: _Optional[_Union[JobStatus, str]] = ..., status_url: _Optional[str] = ..., stage: _Optional[str] = ..., document_type: _Optional[str] = ..., progress: _Optional[_Union[JobProgress, _Mapping]] = ..., attempts: _Optional[int] = ..., cancel_requested: _Optional[bool] = ..., review_status: _Optional[str] = ..., quality_score: _Optional[float] = ..., created_at: _Optional[str] = ..., started_at: _Optional[str] = ..., finished_at: _Optional[str] = ..., updated_at: _Optional[str] = ..., timings_ms: _Optional[_Mapping[str, float]] = ..., error: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., results: _Optional[_Iterable[_Union[ExtractResponse, _Mapping]]] = ..., file_errors: _Optional[_Iterable[_Union[JobFileError, _Mapping]]] = ..., processed_count: _Optional[int] = ..., error_count: _Optional[int] = ...) -> None: ...
