"""Legacy ``model.ModelService/ExtractOCR`` golden tests: the original README's
Python client (``tests/e2e/grpc_legacy_client.py``), unchanged but for the
address, with stubs compiled from our ``model.proto`` the way its README says,
against our server with the real OCR engine and the real llama.cpp server.

Documents: a SROIE receipt (scanned JPEG), an invoice2data invoice (PDF with a
text layer), a synthetic CCCD front (rendered here with its QR code), and an
MC-OCR Vietnamese receipt whose answer is compared with the HTTP API's.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app import build_services
from app.config import Settings
from app.grpc import codegen
from tests.conftest import ROOT, shared_path

pytest.importorskip("grpc_tools", reason="the client's stubs are compiled with grpcio-tools (requirements-dev.txt)")

CLIENT = ROOT / "tests" / "e2e" / "grpc_legacy_client.py"


@pytest.fixture(scope="module")
def stubs(tmp_path_factory) -> Path:
    """model_pb2.py / model_pb2_grpc.py compiled from our model.proto as the client's README does."""
    out = tmp_path_factory.mktemp("client-stubs")
    shutil.copy(codegen.PROTO_ROOT / "model.proto", out / "model.proto")
    result = subprocess.run([sys.executable, "-m", "grpc_tools.protoc", "-I.", "--python_out=.",
                             "--grpc_python_out=.", "model.proto"], cwd=out, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture(scope="module")
def server(llama_server):
    from app.grpc.server import create_server

    settings = Settings(llm_api_url=llama_server.url, llm_model=llama_server.model, hard_token="secret",
                        grpc_legacy_auth=False, grpc_drain_delay=0.0)
    pipeline = build_services(settings).pipeline  # the default OCR engine, real models
    grpc_server, port = create_server("127.0.0.1:0", settings, pipeline)
    grpc_server.start()
    yield port
    grpc_server.stop(0).wait()


def run_client(stubs: Path, port: int, document: Path, tmp_path: Path, prompt: str | None = None) -> dict:
    """Run the original client on ``document`` (saved as the invoice.jpg it opens); return what it printed."""
    work = tmp_path / "client"
    shutil.copytree(stubs, work)
    script = CLIENT.read_text().replace("'localhost:50051'", f"'127.0.0.1:{port}'")
    if prompt is not None:
        script = script.replace('"Extract all fields into a structured JSON."', json.dumps(prompt))
    (work / "client.py").write_text(script)
    shutil.copy(document, work / "invoice.jpg")
    result = subprocess.run([sys.executable, "client.py"], cwd=work, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return ast.literal_eval(result.stdout.strip())


def _amount(text: str | None) -> str | None:
    """Digits and the decimal point of a printed amount ('RM9.00' -> '9.00')."""
    if text is None:
        return None
    match = re.search(r"\d[\d,]*(?:\.\d+)?", text)
    return match.group(0).replace(",", "") if match else None


RECEIPT = "X00016469612"


def test_receipt_all_fields(stubs, server, tmp_path):
    label = json.loads(shared_path("sroie", "labels", f"{RECEIPT}.json").read_text())
    data = run_client(stubs, server, shared_path("sroie", "images", f"{RECEIPT}.jpg"), tmp_path)
    assert data["document_type"] == "receipt"
    assert set(data) == {"seller", "address", "date", "total", "document_type"}
    assert _amount(data["total"]) == label["total"]
    assert data["date"] == label["date"]


def test_receipt_named_fields(stubs, server, tmp_path):
    label = json.loads(shared_path("sroie", "labels", f"{RECEIPT}.json").read_text())
    data = run_client(stubs, server, shared_path("sroie", "images", f"{RECEIPT}.jpg"), tmp_path,
                      prompt="Extract total and date")
    assert set(data) == {"total", "date", "document_type"}
    assert _amount(data["total"]) == label["total"] and data["date"] == label["date"]


def test_invoice_pdf(stubs, server, tmp_path):
    name = "AmazonWebServices"
    label = json.loads(shared_path("invoice2data", "labels", f"{name}.json").read_text())[0]
    data = run_client(stubs, server, shared_path("invoice2data", "documents", f"{name}.pdf"), tmp_path,
                      prompt="Extract the invoice number, date and total")
    assert data["document_type"] == "invoice"
    assert set(data) == {"invoice_number", "date", "total", "document_type"}
    assert data["invoice_number"] == label["invoice_number"]
    assert float(_amount(data["total"])) == pytest.approx(float(label["amount"]))


def test_cccd_front(stubs, server, tmp_path):
    pytest.importorskip("segno")
    from tests.synthetic.cccd import random_person, render_cccd_front

    person = random_person(3)
    path = tmp_path / "cccd.jpg"
    render_cccd_front(person).convert("RGB").save(path, quality=90)
    data = run_client(stubs, server, path, tmp_path, prompt="Lấy số CCCD, họ và tên, ngày sinh")
    assert data["document_type"] == "cccd_front"
    assert set(data) == {"id_number", "full_name", "date_of_birth", "document_type"}
    assert data["id_number"] == person.id_number and data["full_name"] == person.full_name


def test_same_fields_as_the_http_api(stubs, server, tmp_path, llama_server):
    """A Vietnamese receipt and prompt: the legacy answer is what POST /extract answers for the same
    document and the prompt's phrases as ``info`` (one pipeline, two doors)."""
    from app import create_app

    name = "mcocr_public_145013auohz"
    path = shared_path("mcocr2021", "images", f"{name}.jpg")
    data = run_client(stubs, server, path, tmp_path, prompt="Lấy tổng tiền thanh toán và ngày bán")
    assert data["document_type"] == "receipt" and set(data) == {"total", "date", "document_type"}

    settings = Settings(llm_api_url=llama_server.url, llm_model=llama_server.model)
    client = create_app(settings).test_client()
    info = {"tong_tien_thanh_toan": "tổng tiền thanh toán", "ngay_ban": "ngày bán"}
    r = client.post("/extract", data={"image_file": (path.open("rb"), path.name), "config": json.dumps({"info": info})},
                    content_type="multipart/form-data")
    assert r.status_code == 200, r.get_json()
    result = r.get_json()["data"]["results"][0]
    http = {result["fields"][k]["matched_field"]: v for k, v in result["extracted_fields"].items()}
    assert {**http, "document_type": result["document_type"]} == data
