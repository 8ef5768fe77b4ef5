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
EXTRACTION_MODE_UNSPECIFIED: ExtractionMode
EXTRACTION_MODE_PER_FIELD: ExtractionMode
EXTRACTION_MODE_SCHEMA: ExtractionMode

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
