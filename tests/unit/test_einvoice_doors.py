"""E-invoice XML (CII, UBL, Vietnamese HDon) and Factur-X PDFs through the other doors:
the job system, gRPC ``docextract.v1`` and the folder CLI. Each must give what
``/extract`` gives for the same file (one pipeline, many doors). Test data is generated
by tests/synthetic/einvoices.py and vn_einvoice.py; fakes for OCR and the LLM."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from app.cli import find_files, main
from tests.fuzz.server import serve
from tests.synthetic.einvoices import cii_xml, factur_x_pdf, ubl_xml
from tests.synthetic.kv_invoices import make_kv_document
from tests.synthetic.vn_einvoice import make_vn_einvoice
from tests.unit.test_einvoice import _post
from tests.unit.test_jobs import make_app, wait_done

pytest.importorskip("facturx")  # dev dependency (requirements-dev.txt): embeds the XML in the test PDFs


def invoice(seed=21, index=0, language="de"):
    return make_kv_document(seed, index, language=language, layout="stacked", kind="invoice")


@pytest.fixture
def app(tmp_path):
    app = make_app(tmp_path)
    yield app
    app.extensions["docextract_jobs"].stop()


@pytest.mark.parametrize("make", ["cii", "ubl", "vn", "factur_x_pdf"])
def test_a_job_gives_what_extract_gives(app, make):
    if make == "vn":
        vn = make_vn_einvoice(5, 3)
        data, doc, name = vn.xml, vn.doc, "hoadon.xml"
    else:
        doc = invoice()
        data = {"cii": cii_xml, "ubl": ubl_xml}[make](doc) if make != "factur_x_pdf" else factur_x_pdf(doc)
        name = "invoice.pdf" if make == "factur_x_pdf" else "invoice.xml"
    client = app.test_client()
    sync = _post(client, "/extract", data, name, {"document_type": "invoice"})
    assert sync.status_code == 200, sync.get_json()
    expected = sync.get_json()["data"]["results"][0]
    submitted = _post(client, "/jobs", data, name, {"document_type": "invoice"})
    assert submitted.status_code == 202, submitted.get_json()
    job = wait_done(client, submitted.get_json()["status_url"])
    assert job["status"] == "succeeded", job
    got = job["result"]["results"][0]
    assert got["extracted_fields"] == expected["extracted_fields"]
    assert got["line_items"] == expected["line_items"] and len(got["line_items"]) == len(doc.items)
    assert got["checks"]["ok"] is True and got["fields"]["total"]["source"] == "xml"
    assert Decimal(got["extracted_fields"]["total"]) == Decimal(doc.normalized["total"])


def test_grpc_v1_reads_xml_exactly():
    pytest.importorskip("grpc")
    from app.grpc.generated.docextract.v1 import extraction_service_pb2 as pb
    from tests.unit.test_grpc_server import Server

    doc = invoice(seed=23, language="fr")
    server = Server()
    try:
        response = server.v1.Extract(pb.ExtractRequest(content=cii_xml(doc), filename="facture.xml",
                                                       document_type="invoice"))
    finally:
        server.close()
    fields = {f.key: f for f in response.fields}
    assert response.document_type == "invoice" and response.page_count == 0
    assert fields["seller"].value == doc.normalized["seller"] and fields["seller"].source == "xml"
    assert fields["invoice_number"].value == doc.normalized["invoice_number"]
    assert Decimal(fields["total"].normalized.struct_value.fields["amount"].string_value) == Decimal(
        doc.normalized["total"])
    assert len(response.line_items) == len(doc.items)
    assert response.checks.fields["ok"].bool_value is True


def test_grpc_v1_refuses_malicious_xml_with_invalid_argument():
    grpc = pytest.importorskip("grpc")
    from app.grpc.generated.docextract.v1 import extraction_service_pb2 as pb
    from tests.unit.test_einvoice import XXE
    from tests.unit.test_grpc_server import Server

    server = Server()
    try:
        with pytest.raises(grpc.RpcError) as e:
            server.v1.Extract(pb.ExtractRequest(content=XXE, filename="x.xml", document_type="invoice"))
    finally:
        server.close()
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT


@pytest.fixture
def http_server(tmp_path):
    app = make_app(tmp_path, hard_token="cli-token")
    with serve(app) as url:
        yield url
    app.extensions["docextract_jobs"].stop()


def test_the_cli_picks_up_xml_in_folders_and_reads_it(http_server, tmp_path):
    doc = invoice(seed=29, language="en")
    folder = tmp_path / "einvoices"
    folder.mkdir()
    (folder / "a.xml").write_bytes(ubl_xml(doc))
    (folder / "b.XML").write_bytes(cii_xml(doc))
    assert [p.name for p in find_files([str(folder)])] == ["a.xml", "b.XML"]
    out = tmp_path / "out.jsonl"
    assert main(["extract", str(folder), "--type", "invoice", "--out", str(out), "--url", http_server,
                 "--token", "cli-token", "--no-progress"]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 2
    for row in rows:
        assert row["success"] is True and row["page_count"] == 0, row
        assert row["extracted_fields"]["invoice_number"] == doc.normalized["invoice_number"]
        assert row["fields"]["invoice_number"]["source"] == "xml" and len(row["line_items"]) == len(doc.items)
