"""Golden responses: every door's answer on a fixed set of documents, recorded once and compared.

The recorder (``PYTHONPATH=. .venv/bin/python -m tests.golden.record``) runs the
real OCR engine on each document once and stores its lines (``ocr.json``), then
asks every door (HTTP ``/extract`` auto / ``info`` / named type with boxes,
``/ocr``, gRPC ``Extract`` and ``Ocr``, the legacy ``ExtractOCR``) and stores the
answers with their timings and trace ids removed (``responses.jsonl``, one line per document and request). The test
(``tests/unit/test_golden.py``) replays the stored OCR in page order (no models, no
pixel hashes: the same lines whatever the machine's ONNX Runtime does) with the
same deterministic stand-in LLM, asks the same questions and compares. A change
that alters a response on purpose is recorded again and its diff reviewed.

Documents: SROIE and MC-OCR receipts and invoice2data PDFs from ``../shared/data``,
and synthetic ones made here (a CCCD front and back, a multi-page and a scanned
invoice, a Factur-X PDF, a Vietnamese e-invoice XML file).
"""

from __future__ import annotations

import io
import json
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from app.jobs.tasks import ocr_from_record, ocr_to_record
from app.ocr.base import OcrEngine

HERE = Path(__file__).resolve().parent
OCR_PATH = HERE / "ocr.json"
RESPONSES_PATH = HERE / "responses.jsonl"
SHARED_DATA = HERE.parents[2] / "shared" / "data"


@dataclass(frozen=True)
class Case:
    """One document and the questions asked of it.

    Attributes:
        name: unique, also the upload's file name stem.
        filename: the upload's file name.
        load: returns the document's bytes (None: its source is absent, e.g. no shared data).
        document_type: the type named in the ``named`` request.
        info: the ``info`` of the ``info`` request (field key -> description).
    """

    name: str
    filename: str
    load: Callable[[], bytes | None]
    document_type: str
    info: dict[str, str] = field(default_factory=dict)


def _shared(*parts: str) -> Callable[[], bytes | None]:
    def load():
        path = SHARED_DATA.joinpath(*parts)
        return path.read_bytes() if path.exists() else None
    return load


def _png(image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def _cccd(side: str) -> bytes:
    from tests.synthetic.cccd import random_person, render_cccd_back, render_cccd_front

    person = random_person(7)
    return _png(render_cccd_front(person) if side == "front" else render_cccd_back(person))


def _multipage() -> bytes:
    from tests.synthetic.invoices import make_document, render_pdf

    return render_pdf(make_document(3, "en", n_items=16))


def _scanned() -> bytes:
    from tests.synthetic.invoices import make_document, render_scanned

    return render_scanned(make_document(4, "vi", n_items=6), seed=4)


def _factur_x() -> bytes:
    from tests.synthetic.einvoices import factur_x_pdf
    from tests.synthetic.kv_invoices import make_kv_document

    return factur_x_pdf(make_kv_document(11, 2, language="de"))


def _vn_xml() -> bytes:
    from tests.synthetic.vn_einvoice import make_vn_einvoice

    return make_vn_einvoice(5, 1).xml


RECEIPT_INFO = {"company": "name of the shop", "date": "date of purchase", "total": "total amount paid"}
INVOICE_INFO = {"invoice_number": "invoice number", "date": "invoice date", "seller": "seller company name",
                "total": "total amount"}
CARD_INFO = {"id_number": "Số định danh cá nhân", "full_name": "Họ và tên", "date_of_birth": "Ngày sinh"}

CASES: tuple[Case, ...] = (
    *(Case(f"sroie_{i}", f"{i}.jpg", _shared("sroie", "images", f"{i}.jpg"), "receipt", RECEIPT_INFO)
      for i in ("X00016469619", "X51005361900", "X51005568914", "X51006389893", "X51006557117", "X51007339653")),
    *(Case(f"mcocr_{i}", f"{i}.jpg", _shared("mcocr2021", "images", f"mcocr_public_{i}.jpg"), "receipt", RECEIPT_INFO)
      for i in ("145013cdjax", "145013jtjmc", "145013lmhud", "145013nfkiq")),
    *(Case(f"i2d_{i}", f"{i}.pdf", _shared("invoice2data", "documents", f"{i}.pdf"), "invoice", INVOICE_INFO)
      for i in ("AmazonWebServices", "AzureInterior", "NetpresseInvoice", "oyo")),
    Case("cccd_front", "front.png", lambda: _cccd("front"), "cccd_front", CARD_INFO),
    Case("cccd_back", "back.png", lambda: _cccd("back"), "cccd_back", {"issue_date": "Ngày cấp"}),
    Case("multipage", "multipage.pdf", _multipage, "invoice", INVOICE_INFO),
    Case("scanned", "scanned.pdf", _scanned, "invoice", INVOICE_INFO),
    Case("facturx", "facturx.pdf", _factur_x, "invoice", INVOICE_INFO),
    Case("vn_xml", "hoadon.xml", _vn_xml, "invoice", INVOICE_INFO),
)

#: The requests asked of every document (:meth:`Doors.ask`; their configs: :func:`config_for`).
REQUESTS = ("auto", "info", "named", "ocr", "grpc_extract", "grpc_ocr", "legacy")


def config_for(case: Case, request: str) -> dict:
    """The ``/extract`` config of one request (also what the gRPC requests carry)."""
    if request == "auto":
        return {"document_type": "auto"}
    if request == "info":
        return {"info": case.info}
    if request == "named":
        return {"document_type": case.document_type, "display_text_box": True}
    if request == "grpc_extract":
        return {"document_type": case.document_type}
    return {}


# ----------------------------------------------------------------------- stand-ins
def llm_responder(kind: str, kw: dict) -> str:
    """A deterministic stand-in for the LLM (a :class:`tests.conftest.FakeOpenAI` responder).

    Per-field prompts are answered with one non-empty line of the prompt, chosen by
    the CRC-32 of the whole prompt (so every field gets some text, grounded or not);
    schema calls with one such line per property.
    """
    if kind == "completion":
        text = kw["prompt"]
    else:
        text = "\n".join(str(m.get("content", "")) for m in kw["messages"])
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and len(ln.strip()) < 80]
    if not lines:
        return "NONE"
    pick = zlib.crc32(text.encode("utf-8"))
    if kind == "chat" and "response_format" in kw:
        props = kw["response_format"]["schema"]["properties"]
        return json.dumps({key: lines[(pick + i) % len(lines)] for i, key in enumerate(props)})
    return " " + lines[pick % len(lines)] if kind == "completion" else lines[pick % len(lines)]


class SequenceOcrEngine(OcrEngine):
    """Answers each ``recognize`` call with the next stored page of the current document.

    ``load(pages)`` sets the pages (:func:`app.jobs.tasks.ocr_to_record` records, in call order);
    a call beyond them raises ``LookupError`` (the document changed since recording).
    """

    name = "golden-replay"

    def __init__(self):
        self.pages: list[dict] = []
        self.calls = 0

    def load(self, pages: list[dict]) -> None:
        self.pages, self.calls = list(pages), 0

    def recognize(self, image):
        if self.calls >= len(self.pages):
            raise LookupError(f"no recorded OCR for call {self.calls + 1} (recorded {len(self.pages)} pages)")
        page = self.pages[self.calls]
        self.calls += 1
        return ocr_from_record(page)

    def describe(self) -> dict:
        return {"engine": self.name}


class RecordingEngine(OcrEngine):
    """Runs ``engine`` and keeps every result in call order (``pages``)."""

    def __init__(self, engine: OcrEngine):
        self.engine = engine
        self.name = getattr(engine, "name", "ocr")
        self.pages: list[dict] = []

    def recognize(self, image):
        result = self.engine.recognize(image)
        self.pages.append(ocr_to_record(result))
        return result

    def describe(self) -> dict:
        return self.engine.describe()


# ----------------------------------------------------------------------- the doors
_VOLATILE = {"processing_time", "trace_id", "timings", "traceId"}


def scrub(value):
    """``value`` with timings and trace ids removed, at any depth."""
    if isinstance(value, dict):
        return {k: scrub(v) for k, v in value.items() if k not in _VOLATILE}
    if isinstance(value, list):
        return [scrub(v) for v in value]
    return value


class Doors:
    """The HTTP app and a gRPC server over one set of services (``engine``, the stand-in
    LLM); ``ask(case, data, request)`` answers one request as JSON."""

    def __init__(self, engine: OcrEngine):
        import grpc

        from app import create_app
        from app.config import Settings
        from app.grpc.generated import model_pb2_grpc
        from app.grpc.generated.docextract.v1 import extraction_service_pb2_grpc as v1_grpc
        from app.grpc.server import create_server
        from app.llm.client import LLMClient
        from tests.conftest import FakeOpenAI

        settings = Settings(hard_token="", llm_api_url="http://fake/v1", grpc_drain_delay=0.0)
        llm = LLMClient(base_url="http://fake/v1", model="m", max_retries=0, client=FakeOpenAI(llm_responder))
        app = create_app(settings, ocr_engine=engine, llm_client=llm)
        app.testing = True
        self.engine = engine
        self.pipeline = app.extensions["docextract"].pipeline
        self.http = app.test_client()
        # The gRPC server on the app's own pipeline: one set of services behind both doors.
        self.server, port = create_server("127.0.0.1:0", settings, app.extensions["docextract"].pipeline)
        self.server.start()
        self.channel = grpc.insecure_channel(f"127.0.0.1:{port}",
                                             options=[("grpc.max_receive_message_length", 64 * 1024 * 1024),
                                                      ("grpc.max_send_message_length", 64 * 1024 * 1024)])
        self.v1 = v1_grpc.ExtractionServiceStub(self.channel)
        self.legacy = model_pb2_grpc.ModelServiceStub(self.channel)

    def close(self) -> None:
        self.channel.close()
        self.server.stop(0).wait()

    def ask(self, case: Case, data: bytes, request: str):
        """One request's answer, scrubbed (:func:`scrub`): the HTTP JSON body with its
        status, or the gRPC message as JSON (``MessageToDict``) or its status code."""
        import grpc
        from google.protobuf import json_format

        from app.grpc.generated import model_pb2
        from app.grpc.generated.docextract.v1 import extraction_service_pb2 as v1

        if request in ("auto", "info", "named", "ocr"):
            form = {"image_file": (io.BytesIO(data), case.filename)}
            if request != "ocr":
                form["config"] = json.dumps(config_for(case, request), ensure_ascii=False)
            r = self.http.post(f"/{'ocr' if request == 'ocr' else 'extract'}", data=form,
                               content_type="multipart/form-data")
            return {"status": r.status_code, "body": scrub(r.get_json())}
        try:
            if request == "grpc_extract":
                message = self.v1.Extract(v1.ExtractRequest(content=data, filename=case.filename,
                                                            document_type=case.document_type), timeout=120)
            elif request == "grpc_ocr":
                message = self.v1.Ocr(v1.OcrRequest(content=data, filename=case.filename), timeout=120)
            else:
                message = self.legacy.ExtractOCR(model_pb2.UserRequest(image=data, prompt=""), timeout=120)
        except grpc.RpcError as e:
            return {"status": e.code().name, "details": e.details()}
        return {"status": "OK", "body": scrub(json_format.MessageToDict(message, preserving_proto_field_name=True))}
