"""``python -m app extract`` against a test server on a loopback port (fake OCR
and LLM injected): files and folders, JSON lines and CSV, resume, summary."""

from __future__ import annotations

import csv
import json
import threading

import pytest
from werkzeug.serving import make_server

from app import create_app
from app.cli import done_paths, find_files, main
from app.config import Settings
from app.llm.client import LLMClient
from tests.conftest import FakeOcrEngine, FakeOpenAI, answer_by_field, png_bytes

TOKEN = "cli-token"


@pytest.fixture(scope="module")
def server():
    s = Settings(hard_token=TOKEN, llm_api_url="http://fake/v1")
    llm = LLMClient(base_url="http://fake/v1", model="m",
                    client=FakeOpenAI(answer_by_field({"name of the shop": "MINI MART ABC"})))
    app = create_app(s, ocr_engine=FakeOcrEngine(), llm_client=llm)
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_port}"
    srv.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def docs(tmp_path):
    folder = tmp_path / "scans"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.png").write_bytes(png_bytes())
    (folder / "sub" / "b.PNG").write_bytes(png_bytes())
    (folder / "broken.jpg").write_bytes(b"not an image")
    (folder / "notes.txt").write_text("ignored")
    return folder


def test_find_files(docs):
    assert [p.name for p in find_files([str(docs), str(docs / "a.png")])] == ["a.png", "broken.jpg", "b.PNG"]


def test_extract_to_csv_then_resume(server, docs, tmp_path, capsys):
    out = tmp_path / "results.csv"
    argv = ["extract", str(docs), "--type", "receipt", "--info", '{"shop": "name of the shop"}', "--out", str(out),
            "--url", server, "--token", TOKEN, "--workers", "2", "--no-progress"]
    assert main(argv) == 1  # broken.jpg failed
    rows = {row["path"].rsplit("/", 1)[-1]: row for row in csv.DictReader(out.open())}
    assert set(rows) == {"a.png", "b.PNG", "broken.jpg"}
    assert rows["a.png"]["success"] == "True" and rows["a.png"]["shop"] == "MINI MART ABC"
    assert rows["a.png"]["total"] == "3.00" and rows["a.png"]["document_type"] == "receipt"
    assert rows["broken.jpg"]["error_code"] == "INVALID_IMAGE"
    summary = capsys.readouterr().err
    assert "files processed" in summary and "INVALID_IMAGE" in summary
    # Second run: everything is already in the output.
    (docs / "c.png").write_bytes(png_bytes())
    assert main(argv) == 0
    rows = list(csv.DictReader(out.open()))
    assert [r["path"].rsplit("/", 1)[-1] for r in rows].count("a.png") == 1 and len(rows) == 4
    assert "skipped" in capsys.readouterr().err


def test_extract_jsonl(server, docs, tmp_path):
    out = tmp_path / "results.jsonl"
    assert main(["extract", str(docs / "a.png"), "--info", '{"shop": "name of the shop"}', "--out", str(out),
                 "--url", server, "--token", TOKEN, "--no-progress"]) == 0
    rec = json.loads(out.read_text())
    assert rec["extracted_fields"] == {"shop": "MINI MART ABC"} and rec["fields"]["shop"]["source"] == "llm"
    assert done_paths(out) == {str((docs / "a.png").resolve())}


def test_wrong_token_is_a_failed_file(server, docs, tmp_path):
    out = tmp_path / "r.jsonl"
    assert main(["extract", str(docs / "a.png"), "--type", "receipt", "--out", str(out), "--url", server,
                 "--token", "wrong", "--no-progress"]) == 1
    assert json.loads(out.read_text())["error_code"] == "UNAUTHORIZED"


@pytest.mark.parametrize("argv,message", [
    (["extract", "/no/such/folder", "--type", "receipt"], "no such file"),
    (["extract", "."], "--type and/or --info"),
    (["extract", ".", "--type", "passport"], "document_type"),
    (["extract", ".", "--info", "{bad"], "--info is not valid JSON"),
    (["extract", ".", "--type", "receipt", "--out", "x.xlsx"], ".jsonl or .csv"),
])
def test_usage_errors(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_pdf_in_a_folder(server, tmp_path):
    """PDFs are picked up in folders and go through the pipeline's PDF reader (text layer here)."""
    canvas = pytest.importorskip("reportlab.pdfgen.canvas", reason="reportlab is not installed")
    import io

    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    c.drawString(72, 720, "MINI MART ABC")
    c.drawString(72, 700, "TOTAL 3.00")
    c.save()
    folder = tmp_path / "pdfs"
    folder.mkdir()
    (folder / "receipt.pdf").write_bytes(buf.getvalue())
    out = tmp_path / "r.jsonl"
    assert main(["extract", str(folder), "--info", '{"shop": "name of the shop"}', "--out", str(out),
                 "--url", server, "--token", TOKEN, "--no-progress"]) == 0
    rec = json.loads(out.read_text())
    assert rec["success"] is True and rec["page_count"] == 1 and rec["pages"][0]["source"] == "pdf_text"


def test_auto_type_gets_every_types_columns(server, docs, tmp_path):
    out = tmp_path / "auto.csv"
    main(["extract", str(docs / "a.png"), "--type", "auto", "--out", str(out), "--url", server, "--token", TOKEN,
          "--no-progress"])
    header = out.read_text().splitlines()[0].split(",")
    assert {"id_number", "total", "seller"} <= set(header)
