from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Point(_message.Message):
    __slots__ = ("x", "y")
    X_FIELD_NUMBER: _ClassVar[int]
    Y_FIELD_NUMBER: _ClassVar[int]
    x: float
    y: float
    def __init__(self, x: _Optional[float] = ..., y: _Optional[float] = ...) -> None: ...

class Box(_message.Message):
    __slots__ = ("points",)
    POINTS_FIELD_NUMBER: _ClassVar[int]
    points: _containers.RepeatedCompositeFieldContainer[Point]
    def __init__(self, points: _Optional[_Iterable[_Union[Point, _Mapping]]] = ...) -> None: ...

class TextLine(_message.Message):
    __slots__ = ("text", "confidence", "box", "page")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    BOX_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    text: str
    confidence: float
    box: Box
    page: int
    def __init__(self, text: _Optional[str] = ..., confidence: _Optional[float] = ..., box: _Optional[_Union[Box, _Mapping]] = ..., page: _Optional[int] = ...) -> None: ...

class Field(_message.Message):
    __slots__ = ("key", "value", "normalized", "confidence", "source", "grounded", "box", "page", "checks", "matched_field")
    KEY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    NORMALIZED_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    GROUNDED_FIELD_NUMBER: _ClassVar[int]
    BOX_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    CHECKS_FIELD_NUMBER: _ClassVar[int]
    MATCHED_FIELD_FIELD_NUMBER: _ClassVar[int]
    key: str
    value: str
    normalized: _struct_pb2.Value
    confidence: float
    source: str
    grounded: bool
    box: Box
    page: int
    checks: _struct_pb2.Struct
    matched_field: str
    def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ..., normalized: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., confidence: _Optional[float] = ..., source: _Optional[str] = ..., grounded: _Optional[bool] = ..., box: _Optional[_Union[Box, _Mapping]] = ..., page: _Optional[int] = ..., checks: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., matched_field: _Optional[str] = ...) -> None: ...

class Classification(_message.Message):
    __slots__ = ("type", "confidence", "source")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    type: str
    confidence: float
    source: str
    def __init__(self, type: _Optional[str] = ..., confidence: _Optional[float] = ..., source: _Optional[str] = ...) -> None: ...

class FieldError(_message.Message):
    __slots__ = ("key", "error_code", "message")
    KEY_FIELD_NUMBER: _ClassVar[int]
    ERROR_CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    key: str
    error_code: str
    message: str
    def __init__(self, key: _Optional[str] = ..., error_code: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class Timings(_message.Message):
    __slots__ = ("ocr_ms", "detection_ms", "recognition_ms", "extraction_ms", "stages_ms", "text_layer_ms")
    class StagesMsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    OCR_MS_FIELD_NUMBER: _ClassVar[int]
    DETECTION_MS_FIELD_NUMBER: _ClassVar[int]
    RECOGNITION_MS_FIELD_NUMBER: _ClassVar[int]
    EXTRACTION_MS_FIELD_NUMBER: _ClassVar[int]
    STAGES_MS_FIELD_NUMBER: _ClassVar[int]
    TEXT_LAYER_MS_FIELD_NUMBER: _ClassVar[int]
    ocr_ms: float
    detection_ms: float
    recognition_ms: float
    extraction_ms: float
    stages_ms: _containers.ScalarMap[str, float]
    text_layer_ms: float
    def __init__(self, ocr_ms: _Optional[float] = ..., detection_ms: _Optional[float] = ..., recognition_ms: _Optional[float] = ..., extraction_ms: _Optional[float] = ..., stages_ms: _Optional[_Mapping[str, float]] = ..., text_layer_ms: _Optional[float] = ...) -> None: ...

class Page(_message.Message):
    __slots__ = ("page", "width", "height", "source", "lines", "timings")
    PAGE_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    TIMINGS_FIELD_NUMBER: _ClassVar[int]
    page: int
    width: int
    height: int
    source: str
    lines: _containers.RepeatedCompositeFieldContainer[TextLine]
    timings: Timings
    def __init__(self, page: _Optional[int] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., source: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[TextLine, _Mapping]]] = ..., timings: _Optional[_Union[Timings, _Mapping]] = ...) -> None: ...

class LineItem(_message.Message):
    __slots__ = ("description", "quantity", "unit", "unit_price", "amount", "confidence", "page", "box", "checks")
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    UNIT_PRICE_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    BOX_FIELD_NUMBER: _ClassVar[int]
    CHECKS_FIELD_NUMBER: _ClassVar[int]
    description: str
    quantity: str
    unit: str
    unit_price: str
    amount: str
    confidence: float
    page: int
    box: Box
    checks: _struct_pb2.Struct
    def __init__(self, description: _Optional[str] = ..., quantity: _Optional[str] = ..., unit: _Optional[str] = ..., unit_price: _Optional[str] = ..., amount: _Optional[str] = ..., confidence: _Optional[float] = ..., page: _Optional[int] = ..., box: _Optional[_Union[Box, _Mapping]] = ..., checks: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...
