"""The legacy ``model.ModelService/ExtractOCR`` method, on the HTTP API's pipeline.

Contract (``app/grpc/protos/model.proto``, unchanged): ``UserRequest{bytes
image, string prompt}`` -> ``ModelResponse{string output}``, where ``output``
is a JSON object string the ERP client ``json.loads`` into its records.

A call is one :meth:`DocumentPipeline.process` with the type detected
(``document_type="auto"``, :mod:`app.classify`):

* a prompt asking for all fields ("Extract all fields into a structured
  JSON.") -> the detected type's fields;
* a prompt naming fields ("Extract total and date", "Lấy số hóa đơn và tổng
  tiền") -> each phrase (:func:`app.grpc.prompt.parse_prompt`) sent as an
  ``info`` entry, which the pipeline maps onto the detected type's known
  fields exactly as it maps HTTP ``info`` (:func:`app.classify.map_info`).

``output`` = ``{field key: value as printed or null, ..., "document_type":
type or null}``: a phrase mapped onto a known field is keyed by that field
(``total``, ``date``, ``invoice_number``, ``id_number``, ``full_name``...);
one that matched none keeps its own words as key (``"so_tai_khoan"``) and is
read by the caption reader and the LLM like any ``info`` entry. It is
``json.dumps`` output (UTF-8, no NaN): always parseable.
"""

from __future__ import annotations

import json
import re
import time

from app.api.schemas import validate_extract_config
from app.config import Settings
from app.domain import DocumentResult
from app.errors import MissingFile
from app.grpc.generated import model_pb2, model_pb2_grpc
from app.grpc.prompt import PromptAsk, parse_prompt
from app.grpc.servicers import CallRunner
from app.observability.metrics import observe_results
from app.pipeline import DocumentPipeline, Upload

#: ``document_type`` asking the pipeline to detect the type.
AUTO = "auto"
DOCUMENT_TYPE_KEY = "document_type"


def phrase_key(phrase: str) -> str:
    """An ``info`` key for a prompt phrase: ``"so hoa don"`` -> ``"so_hoa_don"`` (at most 100 characters)."""
    return (re.sub(r"[^a-z0-9]+", "_", phrase).strip("_") or "field")[:100]


def info_for(ask: PromptAsk) -> dict[str, str] | None:
    """The ``info`` of the pipeline call for a prompt: None for all fields, else key -> phrase."""
    if ask.all_fields:
        return None
    info: dict[str, str] = {}
    for phrase in ask.phrases:
        info.setdefault(phrase_key(phrase), phrase)
    return info


def legacy_output(result: DocumentResult) -> dict:
    """The ``output`` object for one pipeline result: field key -> value, then ``document_type``.

    A caller key mapped onto a known field is replaced by that field's key
    (``FieldResult.matched_field``); two phrases mapped onto one field give one entry.
    """
    out: dict = {}
    for key, value in result.values.items():
        field = result.fields.get(key)
        name = (field.matched_field if field is not None else None) or key
        if name == DOCUMENT_TYPE_KEY:
            name = f"{key}_field"
        if name not in out or out[name] is None:
            out[name] = value
    out[DOCUMENT_TYPE_KEY] = result.document_type
    return out


class LegacyModelServicer(model_pb2_grpc.ModelServiceServicer):
    """``model.ModelService``: ExtractOCR.

    Args:
        pipeline: the one extraction path (shared with the HTTP API).
        settings: the server default extraction mode and LLM timeout.
        runner: worker pool and per-call deadline.
    """

    def __init__(self, pipeline: DocumentPipeline, settings: Settings, runner: CallRunner):
        self.pipeline = pipeline
        self.settings = settings
        self.runner = runner

    def ExtractOCR(self, request, context):
        if not request.image:
            raise MissingFile("The request has no image (field 'image' is empty)")
        info = info_for(parse_prompt(request.prompt))
        config = validate_extract_config({"document_type": AUTO, **({"info": info} if info else {})})
        upload = Upload(filename="image", data=request.image)

        def work(seconds_left: float) -> DocumentResult:
            options = config.options(self.settings, time.monotonic() + seconds_left)
            return self.pipeline.process(upload, info=config.info, options=options,
                                         document_type=config.document_type)

        result = self.runner.run(context, work)
        observe_results("extract", [result], config.document_type)
        output = legacy_output(result)
        return model_pb2.ModelResponse(output=json.dumps(output, ensure_ascii=False, allow_nan=False))
