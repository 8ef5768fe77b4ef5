"""Jobs API on the embedded engine (SQLite + threads), fakes injected into the factory."""

from __future__ import annotations

import io
import json
import time

import openai
import pytest

from app import create_app
from app.config import Settings
from app.llm.client import LLMClient
from tests.conftest import FakeOcrEngine, FakeOpenAI, answer_by_field, png_bytes

INFO = {"shop": "name of the shop", "total": "total amount"}
ANSWERS = {"name of the shop": "MINI MART ABC", "total amount": "3.00"}
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def make_app(tmp_path, responder=None, engine=None, **overrides):
    values = dict(hard_token="", llm_api_url="http://fake/v1", storage_dir=tmp_path / "storage", job_workers=2,
                  job_retry_backoff=0.05, job_retry_backoff_max=0.1, job_watchdog_interval=0.2)
    values.update(overrides)
    s = Settings(**values)
    fake = FakeOpenAI(responder or answer_by_field(ANSWERS))
    llm = LLMClient(base_url="http://fake/v1", model="m", client=fake, max_retries=0)
    app = create_app(s, ocr_engine=engine or FakeOcrEngine(), llm_client=llm)
    app.testing = True
    app.fake_llm = fake
    return app


@pytest.fixture
def app(tmp_path):
    app = make_app(tmp_path)
    yield app
    app.extensions["docextract_jobs"].stop()


def submit(client, files=2, config=None, headers=None, prefix="", **form):
    data = {"config": json.dumps(config or {"info": INFO}),
            "image_file": [(io.BytesIO(png_bytes()), f"p{i}.png") for i in range(files)], **form}
    return client.post(f"{prefix}/jobs", data=data, content_type="multipart/form-data", headers=headers or {})


def wait_done(client, url, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(url + "?wait=2").get_json()
        if body["status"] in ("succeeded", "failed", "canceled"):
            return body
    raise AssertionError(f"job at {url} did not finish: {body['status']}")


@pytest.mark.parametrize("prefix", ["", "/id_card_scan"])
def test_submit_poll_result_in_extract_shape(app, prefix):
    client = app.test_client()
    r = submit(client, prefix=prefix)
    assert r.status_code == 202
    body = r.get_json()
    assert body["status"] == "queued" and body["status_url"] == f"{prefix}/jobs/{body['job_id']}"
    assert r.headers["Location"] == body["status_url"] and int(r.headers["Retry-After"]) > 0
    job = wait_done(client, body["status_url"])
    assert job["status"] == "succeeded", job
    data = job["result"]
    assert data["processed_count"] == 2 and data["error_count"] == 0
    first = data["results"][0]
    assert first["filename"] == "p0.png" and first["extracted_fields"] == {"shop": "MINI MART ABC", "total": "3.00"}
    assert set(first["fields"]["shop"]) >= {"value", "confidence", "grounded"}
    assert job["progress"] == {"stage": "done", "done": 2, "total": 2, "pages_ocr": 2}
    assert {"ocr_ms", "extraction_ms", "validation_ms"} <= set(job["timings"])
    assert job["attempts"] == 2  # one claim per step (ocr, extraction)
    stages = [(h["status"], h["stage"]) for h in job["history"]]
    assert stages[0] == ("queued", "uploaded") and stages[-1] == ("succeeded", "done")
    assert ("running", "ocr") in stages and ("running", "extraction") in stages and ("running", "validation") in stages
    assert job["review_status"] in ("approved", "manual_review") and 0.0 <= job["quality_score"] <= 1.0


def test_same_pipeline_as_extract(app):
    client = app.test_client()
    r = client.post("/extract", data={"config": json.dumps({"info": INFO}),
                                      "image_file": [(io.BytesIO(png_bytes()), "p0.png")]},
                    content_type="multipart/form-data")
    sync = r.get_json()["data"]["results"][0]
    job = wait_done(client, submit(client, files=1).get_json()["status_url"])
    result = job["result"]["results"][0]
    assert result["extracted_fields"] == sync["extracted_fields"]
    assert result["fields"] == sync["fields"]


def test_ocr_runs_once_per_document(tmp_path):
    engine = FakeOcrEngine()
    app = make_app(tmp_path, engine=engine)
    client = app.test_client()
    wait_done(client, submit(client, files=3).get_json()["status_url"])
    assert engine.calls == 3  # the extraction step replays the stored OCR results
    app.extensions["docextract_jobs"].stop()


def test_idempotency_key_returns_same_job(app):
    client = app.test_client()
    a = submit(client, headers={"Idempotency-Key": "order-42"})
    b = submit(client, headers={"Idempotency-Key": "order-42"})
    assert a.status_code == 202 and b.status_code == 200
    assert a.get_json()["job_id"] == b.get_json()["job_id"]
    assert len(client.get("/jobs").get_json()["jobs"]) == 1


def test_bad_input_is_4xx(app):
    client = app.test_client()
    assert client.post("/jobs", data={"config": "{}"}, content_type="multipart/form-data").get_json()[
        "error_code"] == "INVALID_CONFIG"
    r = client.post("/jobs", data={"config": json.dumps({"info": INFO})}, content_type="multipart/form-data")
    assert r.status_code == 400 and r.get_json()["error_code"] == "MISSING_FILE"
    r = client.post("/jobs", json={"config": {"info": INFO}})
    assert r.status_code == 400
    r = client.get("/jobs/nope")
    assert r.status_code == 404 and r.get_json()["error_code"] == "JOB_NOT_FOUND"
    assert client.get("/jobs?status=done").status_code == 400
    assert client.get("/jobs?limit=0").status_code == 400
    assert client.get("/jobs?cursor=%%%").status_code == 400


def test_undecodable_file_fails_job_with_structured_error(app):
    client = app.test_client()
    r = client.post("/jobs", data={"config": json.dumps({"info": INFO}),
                                   "image_file": [(io.BytesIO(b"not an image"), "x.png")]},
                    content_type="multipart/form-data")
    job = wait_done(client, r.get_json()["status_url"])
    assert job["status"] == "failed" and job["error"]["error_code"] == "INVALID_IMAGE"
    assert job["result"]["error_count"] == 1


def test_llm_unavailable_retries_then_fails(tmp_path):
    def down(kind, kw):
        raise openai.APIConnectionError(request=None)

    app = make_app(tmp_path, responder=down, job_max_attempts=3)
    client = app.test_client()
    job = wait_done(client, submit(client, files=1).get_json()["status_url"])
    assert job["status"] == "failed" and job["error"]["error_code"] == "LLM_UNAVAILABLE"
    retries = [h for h in job["history"] if (h["message"] or "").startswith("retry after LLM_UNAVAILABLE")]
    assert len(retries) == 2 and job["attempts"] == 4  # ocr once, extraction three times
    app.extensions["docextract_jobs"].stop()


def test_list_filters_and_cursor(app):
    client = app.test_client()
    ids = [submit(client, files=1).get_json()["job_id"] for _ in range(3)]
    for i in ids:
        wait_done(client, f"/jobs/{i}")
    page1 = client.get("/jobs?limit=2").get_json()
    assert len(page1["jobs"]) == 2 and page1["next_cursor"]
    page2 = client.get(f"/jobs?limit=2&cursor={page1['next_cursor']}").get_json()
    assert len(page2["jobs"]) == 1 and page2["next_cursor"] is None
    assert {j["job_id"] for j in page1["jobs"] + page2["jobs"]} == set(ids)
    assert len(client.get("/jobs?status=succeeded").get_json()["jobs"]) == 3
    assert client.get("/jobs?status=failed").get_json()["jobs"] == []
    review = client.get("/jobs?review_status=manual_review").get_json()["jobs"]
    approved = client.get("/jobs?review_status=approved").get_json()["jobs"]
    assert len(review) + len(approved) == 3


def test_cancel_queued_and_delete(tmp_path):
    app = make_app(tmp_path, max_queued_jobs=2)
    jobs = app.extensions["docextract_jobs"]
    jobs.engine.enqueue = lambda job_id, step, delay=0.0: None  # hold jobs in the queue
    client = app.test_client()
    a = submit(client, files=1).get_json()
    b = submit(client, files=1).get_json()
    r = submit(client, files=1)
    assert r.status_code == 429 and r.get_json()["error_code"] == "QUEUE_FULL" and int(r.headers["Retry-After"]) > 0
    r = client.post(f"/jobs/{a['job_id']}/cancel")
    assert r.status_code == 202 and r.get_json()["status"] == "canceled"
    assert client.post(f"/jobs/{a['job_id']}/cancel").status_code == 409
    folder = jobs.store.job_dir(b["job_id"])
    assert folder.exists()
    assert client.delete(f"/jobs/{b['job_id']}").status_code == 200
    assert not folder.exists() and client.get(f"/jobs/{b['job_id']}").status_code == 404
    assert client.delete(f"/jobs/{b['job_id']}").status_code == 404
    jobs.stop()


def test_cancel_running_between_stages(tmp_path):
    app = make_app(tmp_path)
    jobs = app.extensions["docextract_jobs"]
    steps = []
    jobs.engine.enqueue = lambda job_id, step, delay=0.0: steps.append((job_id, step))
    client = app.test_client()
    job_id = submit(client, files=1).get_json()["job_id"]
    outcome = jobs.runner.run_step(job_id, "ocr")  # ocr done, extraction waiting
    assert outcome.next_step == "extraction"
    assert client.post(f"/jobs/{job_id}/cancel").get_json()["status"] == "canceled"
    assert jobs.runner.run_step(job_id, "extraction").next_step is None
    job = client.get(f"/jobs/{job_id}").get_json()
    assert job["status"] == "canceled" and job["result"] is None
    jobs.stop()


def test_redelivered_step_is_a_no_op(tmp_path):
    app = make_app(tmp_path)
    jobs = app.extensions["docextract_jobs"]
    jobs.engine.enqueue = lambda job_id, step, delay=0.0: None
    client = app.test_client()
    job_id = submit(client, files=1).get_json()["job_id"]
    jobs.runner.run_step(job_id, "ocr")
    jobs.runner.run_step(job_id, "extraction")
    done = jobs.store.get(job_id)
    assert jobs.runner.run_step(job_id, "ocr").next_step is None
    assert jobs.runner.run_step(job_id, "extraction").next_step is None
    assert jobs.store.get(job_id)["result"] == done["result"] and jobs.store.get(job_id)["attempts"] == 2
    jobs.stop()


def test_purge_after_retention(tmp_path):
    import datetime as dt

    app = make_app(tmp_path, job_retention_days=1)
    jobs = app.extensions["docextract_jobs"]
    client = app.test_client()
    job = wait_done(client, submit(client, files=1).get_json()["status_url"])
    assert jobs.runner.purge() == 0
    assert jobs.runner.purge(now=dt.datetime.utcnow() + dt.timedelta(days=2)) == 1
    assert client.get(job["status_url"]).status_code == 404
    assert not jobs.store.job_dir(job["job_id"]).exists()
    jobs.stop()


def test_callback_needs_secret_and_public_url(tmp_path):
    app = make_app(tmp_path)
    client = app.test_client()
    r = submit(client, callback_url="https://example.com/hook")
    assert r.status_code == 400 and r.get_json()["error_code"] == "WEBHOOK_NOT_CONFIGURED"
    app.extensions["docextract_jobs"].stop()
    app = make_app(tmp_path, webhook_secret=SECRET)
    client = app.test_client()
    for url in ("http://127.0.0.1:8080/hook", "http://169.254.169.254/latest", "http://10.0.0.1/x",
                "http://[::1]/x", "file:///etc/passwd", "http://user:pw@example.com/"):
        r = submit(client, callback_url=url)
        assert r.status_code == 400 and r.get_json()["error_code"] == "UNSAFE_URL", url
    r = client.post("/jobs", json={"source_url": "http://localhost/x.png", "config": {"info": INFO}})
    assert r.status_code == 400 and r.get_json()["error_code"] == "UNSAFE_URL"
    app.extensions["docextract_jobs"].stop()


def test_store_unavailable_is_503(tmp_path):
    app = make_app(tmp_path, database_url="postgresql+pg8000://postgres@127.0.0.1:1/none")
    r = submit(app.test_client())
    assert r.status_code == 503 and r.get_json()["error_code"] == "STORE_UNAVAILABLE"
    assert int(r.headers["Retry-After"]) > 0


def test_restarted_api_resumes_queued_jobs(tmp_path):
    first = make_app(tmp_path)
    jobs = first.extensions["docextract_jobs"]
    jobs.engine.enqueue = lambda job_id, step, delay=0.0: None  # the process "dies" before running it
    job_id = submit(first.test_client(), files=1).get_json()["job_id"]
    jobs.stop()
    second = make_app(tmp_path, job_requeue_after=1.0, jobs_resume=True)  # a new process, same STORAGE_DIR
    body = wait_done(second.test_client(), f"/jobs/{job_id}")
    assert body["status"] == "succeeded"
    second.extensions["docextract_jobs"].stop()


def test_json_job_with_source_url(tmp_path):
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    image = png_bytes()

    class Files(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            if self.path == "/scan.png":
                self.send_response(200)
                self.send_header("content-length", str(len(image)))
                self.end_headers()
                self.wfile.write(image)
            else:
                self.send_response(404)
                self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Files)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    app = make_app(tmp_path, webhook_allow_private=True)
    client = app.test_client()
    try:
        r = client.post("/jobs", json={"source_url": base + "/scan.png", "config": {"info": INFO}})
        assert r.status_code == 202, r.get_json()
        job = wait_done(client, r.get_json()["status_url"])
        assert job["status"] == "succeeded" and job["files"] == [{"filename": "scan.png", "size": len(image)}]
        assert job["result"]["results"][0]["extracted_fields"]["shop"] == "MINI MART ABC"
        assert "fetch_ms" in job["timings"]
        r = client.post("/jobs", json={"source_url": base + "/missing.png", "config": {"info": INFO}})
        job = wait_done(client, r.get_json()["status_url"])
        assert job["status"] == "failed" and job["error"]["error_code"] == "SOURCE_FETCH_FAILED"
    finally:
        server.shutdown()
        app.extensions["docextract_jobs"].stop()


def test_count_by_status(app):
    client = app.test_client()
    wait_done(client, submit(client, files=1).get_json()["status_url"])
    counts = app.extensions["docextract_jobs"].store.count_by_status()
    assert counts == {"queued": 0, "running": 0, "succeeded": 1, "failed": 0, "canceled": 0}


def test_migrations_match_the_models(tmp_path):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from app.jobs.store import Base, JobStore

    store = JobStore(f"sqlite:///{tmp_path}/jobs.db", tmp_path)
    store.migrate()
    store.migrate()  # idempotent
    with store.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    store.dispose()


def test_multi_page_pdf_job_counts_pages_and_ocrs_each_once(tmp_path):
    pytest.importorskip("app.documents.pdf", reason="multi-page PDF support (app/documents/pdf.py) not merged")
    pdfium = pytest.importorskip("pypdfium2")
    pdf = pdfium.PdfDocument.new()
    for _ in range(3):
        pdf.new_page(595, 842)  # no text layer: each page is rendered and OCR'd
    buf = io.BytesIO()
    pdf.save(buf)
    pdf.close()
    engine = FakeOcrEngine()
    app = make_app(tmp_path, engine=engine)
    client = app.test_client()
    r = client.post("/jobs", data={"config": json.dumps({"info": INFO}),
                                   "image_file": [(io.BytesIO(buf.getvalue()), "scan.pdf")]},
                    content_type="multipart/form-data")
    job = wait_done(client, r.get_json()["status_url"])
    assert job["status"] == "succeeded", job
    assert job["progress"]["pages_ocr"] == 3 and engine.calls == 3  # extraction replayed the stored pages
    assert job["result"]["results"][0]["page_count"] == 3
    app.extensions["docextract_jobs"].stop()


def test_extraction_step_reads_the_stored_pages_without_decoding(tmp_path, monkeypatch):
    import app.pipeline as pipeline_module

    opened = []
    real_open = pipeline_module.open_document
    monkeypatch.setattr(pipeline_module, "open_document", lambda *a, **k: opened.append(1) or real_open(*a, **k))
    engine = FakeOcrEngine()
    app = make_app(tmp_path, engine=engine)
    client = app.test_client()
    job = wait_done(client, submit(client, files=2).get_json()["status_url"])
    assert job["status"] == "succeeded", job
    assert len(opened) == 2 and engine.calls == 2  # decoded and recognised once each, in the ocr step
    assert job["result"]["results"][0]["extracted_fields"]["shop"] == "MINI MART ABC"
    app.extensions["docextract_jobs"].stop()


def test_ocr_json_of_an_earlier_version_is_still_replayed(tmp_path):
    import numpy as np

    from app.jobs.tasks import ReplayOcrEngine, image_key, ocr_to_record, stored_pages
    from app.domain import OcrResult, TextLine

    image = np.zeros((4, 6, 3), np.uint8)
    ocr = OcrResult((TextLine("TOTAL 3.00", 0.9, ((0, 0), (5, 0), (5, 3), (0, 3))),), 6, 4, 1.0, 2.0, "fake")
    records = {image_key(image): ocr_to_record(ocr)}
    assert stored_pages(records) is None  # the older form: keyed by image hash
    replay = ReplayOcrEngine(records, fallback=lambda: pytest.fail("the stored page was not replayed"))
    assert replay.recognize(image).lines[0].text == "TOTAL 3.00"


def test_page_records_read_back_to_the_same_pages():
    from app.domain import OcrResult, PageText, TextLine
    from app.jobs.tasks import page_from_record, page_to_record, stored_pages

    line = TextLine("Rechnung Nr. 4711", 0.98, ((1.5, 2.0), (90.0, 2.0), (90.0, 12.25), (1.5, 12.25)), page=2)
    page = PageText(2, 100, 140, "pdf_text", OcrResult((line,), 100, 140, 0.0, 0.0, "pdf_text"), 3.5)
    assert page_from_record(page_to_record(page)) == page
    assert stored_pages({"documents": [None, [page_to_record(page)]]}) == [None, [page]]


def test_jobs_routes_need_the_token(tmp_path):
    app = make_app(tmp_path, hard_token="s3cret")
    client = app.test_client()
    for method, path in (("post", "/jobs"), ("get", "/jobs"), ("get", "/jobs/x"), ("post", "/jobs/x/cancel"),
                         ("delete", "/jobs/x"), ("get", "/id_card_scan/jobs")):
        r = getattr(client, method)(path)
        assert r.status_code == 401 and r.get_json()["error_code"] == "UNAUTHORIZED", path
    r = submit(client, headers={"X-API-Token": "s3cret"})
    assert r.status_code == 202
    assert client.get("/jobs", headers={"X-API-Token": "s3cret"}).status_code == 200
    app.extensions["docextract_jobs"].stop()


def test_watchdog_resends_only_what_the_broker_lacks(tmp_path):
    app = make_app(tmp_path, job_requeue_after=1.0)
    jobs = app.extensions["docextract_jobs"]
    sent = []
    jobs.engine.enqueue = lambda job_id, step, delay=0.0: sent.append((job_id, step))
    client = app.test_client()
    ids = [submit(client, files=1).get_json()["job_id"] for _ in range(3)]
    sent.clear()
    time.sleep(1.1)
    jobs.engine.queue_sizes = lambda: {"ocr": 2, "extraction": 0}  # one message of three was lost
    assert jobs.engine.run_watchdog() == 1 and len(sent) == 1 and sent[0][0] in ids
    time.sleep(1.1)
    jobs.engine.queue_sizes = lambda: None  # unknown: resend all quiet ones
    assert jobs.engine.run_watchdog() == 3
    jobs.stop()


def test_metrics_and_readiness(tmp_path):
    from app.observability import metrics

    def value(name, **labels):
        return metrics.REGISTRY.get_sample_value(name, labels) or 0.0

    def job_documents():
        return sum(s.value for family in metrics.REGISTRY.collect() for s in family.samples
                   if s.name == "docextract_documents_total" and s.labels["operation"] == "job"
                   and s.labels["outcome"] == "ok")

    before = (value("docextract_jobs_enqueued_total", engine="local"),
              value("docextract_jobs_finished_total", outcome="succeeded"),
              job_documents())
    app = make_app(tmp_path)
    client = app.test_client()
    ready = client.get("/readyz").get_json()
    assert ready["checks"]["jobs"]["ok"] and not (tmp_path / "storage").exists()  # nothing created by a probe
    wait_done(client, submit(client, files=1).get_json()["status_url"])
    assert value("docextract_jobs_enqueued_total", engine="local") == before[0] + 1
    assert value("docextract_jobs_finished_total", outcome="succeeded") == before[1] + 1
    # The job's documents are recorded like /extract's (stage timings, pages, fields).
    assert job_documents() == before[2] + 1
    assert client.get("/readyz").get_json()["checks"]["jobs"]["ok"]
    app.extensions["docextract_jobs"].stop()
    down = make_app(tmp_path, database_url="postgresql+pg8000://postgres@127.0.0.1:1/none")
    r = down.test_client().get("/readyz")
    assert r.status_code == 503 and r.get_json()["checks"]["jobs"]["ok"] is False
