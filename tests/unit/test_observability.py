"""Metrics, probes and JSON logs with fakes injected into the app factory."""

from __future__ import annotations

import io
import json
import logging

import pytest
from prometheus_client.parser import text_string_to_metric_families

from app import create_app
from app.config import Settings
from app.observability import metrics
from app.observability.http import add_readiness_check
from tests.conftest import FakeOcrEngine, app_with_fakes, png_bytes

ANSWERS = {"name of the shop": "MINI MART ABC", "total amount": "3.00"}
INFO = {"shop": "name of the shop", "total": "total amount"}


def make_app(**settings):
    return app_with_fakes(ANSWERS, **settings)


def scrape(client, **headers) -> dict[tuple[str, tuple], float]:
    r = client.get("/metrics", headers=headers)
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.content_type.startswith("text/plain")
    out = {}
    for family in text_string_to_metric_families(r.get_data(as_text=True)):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def value(samples, name, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def extract(client, config, **headers):
    return client.post("/extract", data={"image_file": (io.BytesIO(png_bytes()), "a.png"),
                                         "config": json.dumps(config)}, headers=headers)


def test_scrape_after_requests_shows_stage_histograms():
    client = make_app().test_client()
    before = scrape(client)
    assert extract(client, {"info": INFO}).status_code == 200
    assert extract(client, {"document_type": "receipt"}).status_code == 200
    assert client.post("/ocr", data={"image_file": (io.BytesIO(png_bytes()), "a.png")}).status_code == 200
    assert client.post("/ocr", data={"image_file": (io.BytesIO(b"not an image"), "x.png")}).status_code == 400
    after = scrape(client)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("docextract_http_requests_total", route="/extract", method="POST", status="200") == 2
    assert delta("docextract_http_requests_total", route="/ocr", method="POST", status="400") == 1
    assert delta("docextract_http_request_duration_seconds_count", route="/extract", method="POST") == 2
    for stage in ("decode", "detection", "recognition", "ocr", "llm", "extraction", "total"):
        assert delta("docextract_stage_duration_seconds_count", stage=stage, document_type="custom") == 1, stage
    for stage in ("rules", "readers", "total"):
        assert delta("docextract_stage_duration_seconds_count", stage=stage, document_type="receipt") == 1, stage
    assert delta("docextract_stage_duration_seconds_count", stage="detection", document_type="ocr") == 1
    assert delta("docextract_pages_total", document_type="receipt") == 1
    assert delta("docextract_documents_total", operation="ocr", document_type="ocr", outcome="invalid_image") == 1
    assert sum(delta("docextract_fields_total", document_type="custom", source=source)
               for source in metrics.FIELD_SOURCES) == 2  # both fields of INFO, whichever reader found them
    assert delta("docextract_fields_total", document_type="custom", source="llm") >= 1
    assert sum(v for (n, labels), v in after.items() if n == "docextract_fields_total"
               and dict(labels)["document_type"] == "receipt") - sum(
        v for (n, labels), v in before.items() if n == "docextract_fields_total"
        and dict(labels)["document_type"] == "receipt") > 0
    assert delta("docextract_llm_calls_total", call="completion", outcome="ok") >= 1
    assert value(after, "docextract_process_resident_memory_bytes") > 10_000_000


def test_llm_failures_are_counted_by_outcome():
    s = Settings(llm_api_url="http://127.0.0.1:9/v1", llm_max_retries=0)
    app = create_app(s, ocr_engine=FakeOcrEngine())
    client = app.test_client()
    before = scrape(client)
    assert client.get("/readyz").status_code == 503
    after = scrape(client)
    assert (value(after, "docextract_llm_calls_total", call="models", outcome="llm_unavailable")
            - value(before, "docextract_llm_calls_total", call="models", outcome="llm_unavailable")) == 1


def test_metrics_protected_by_token():
    client = make_app(hard_token="api-secret", metrics_token="scrape-secret").test_client()
    assert client.get("/metrics").status_code == 401
    r = client.get("/metrics", headers={"X-API-Token": "wrong"})
    assert r.status_code == 401 and r.get_json()["error_code"] == "UNAUTHORIZED"
    scrape(client, **{"X-API-Token": "scrape-secret"})
    scrape(client, **{"X-API-Token": "api-secret"})


def test_metrics_route_absent_with_metrics_port_or_disabled():
    assert make_app(metrics_port=18790).test_client().get("/metrics").status_code == 404
    assert make_app(metrics_enabled=False).test_client().get("/metrics").status_code == 404


def test_job_metric_functions_record():
    client = make_app().test_client()
    before = scrape(client)
    metrics.observe_job_enqueued("local")
    metrics.observe_job_finished("succeeded", 1.5)
    metrics.set_queue_depth(7)
    metrics.observe_webhook_delivery("delivered")
    metrics.observe_review("needs_review")
    after = scrape(client)
    assert value(after, "docextract_jobs_enqueued_total", engine="local") - value(
        before, "docextract_jobs_enqueued_total", engine="local") == 1
    assert value(after, "docextract_job_duration_seconds_count", outcome="succeeded") - value(
        before, "docextract_job_duration_seconds_count", outcome="succeeded") == 1
    assert value(after, "docextract_queue_depth", queue="default") == 7
    assert value(after, "docextract_webhook_deliveries_total", outcome="delivered") >= 1
    assert value(after, "docextract_reviews_total", status="needs_review") >= 1


def test_probes():
    app = make_app(hard_token="secret")
    client = app.test_client()
    assert client.get("/livez").get_json() == {"success": True, "status": "alive"}
    r = client.get("/readyz")
    body = r.get_json()
    assert r.status_code == 200 and body["status"] == "ready"
    assert body["checks"]["ocr_engine"]["ok"] and body["checks"]["llm"]["models"] == ["fake-model"]

    def broker():
        raise ConnectionError("broker at redis://127.0.0.1:9 refused the connection")

    add_readiness_check(app, "broker", broker)
    r = client.get("/readyz")
    body = r.get_json()
    assert r.status_code == 503 and body["error_code"] == "NOT_READY" and body["status"] == "not_ready"
    assert body["checks"]["broker"] == {"ok": False, "message": "broker at redis://127.0.0.1:9 refused the connection"}
    assert "broker" in body["message"] and body["checks"]["llm"]["ok"] is True
    # The original contract is untouched.
    assert client.get("/health").get_json() == {"success": True, "message": "OCR API is running", "status": "healthy"}


def test_readyz_reports_llm_down():
    app = create_app(Settings(llm_api_url="http://127.0.0.1:9/v1", llm_max_retries=0), ocr_engine=FakeOcrEngine())
    body = app.test_client().get("/readyz").get_json()
    assert body["checks"]["llm"]["ok"] is False and "LLM_UNAVAILABLE" in body["checks"]["llm"]["message"]


@pytest.fixture
def json_log():
    """Capture what the service's stderr handler writes (JSON mode), and restore text mode after."""
    app = make_app(log_format="json")
    handler = next(h for h in logging.getLogger().handlers if getattr(h, "_docextract", False))
    stream = io.StringIO()
    old = handler.setStream(stream)
    yield app, stream
    handler.setStream(old)
    from app import configure_logging

    configure_logging("INFO", "text")


def test_json_logs_one_object_per_line_without_document_text(json_log):
    app, stream = json_log
    r = extract(app.test_client(), {"document_type": "receipt", "info": INFO}, **{"X-Request-ID": "trace-123"})
    assert r.status_code == 200
    lines = [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]
    request_lines = [x for x in lines if x.get("route") == "/extract"]
    assert request_lines, lines
    rec = request_lines[-1]
    assert rec["trace_id"] == "trace-123" and rec["status"] == 200 and rec["method"] == "POST"
    assert rec["document_type"] == "receipt" and rec["duration_ms"] >= 0 and rec["files"] == 1
    text = stream.getvalue()
    assert "MINI MART" not in text and "3.00" not in text and "fields" not in rec


def test_json_logs_fields_only_when_log_document_text(json_log):
    _, stream = json_log
    app = make_app(log_format="json", log_document_text=True)
    extract(app.test_client(), {"info": INFO})
    rec = [json.loads(x) for x in stream.getvalue().splitlines() if '"route": "/extract"' in x][-1]
    assert rec["fields"] == [{"shop": "MINI MART ABC", "total": "3.00"}]


def test_document_type_labels_stay_bounded():
    assert [metrics.document_type_label(v) for v in (None, "receipt", "auto", "made-up")] == [
        "custom", "receipt", "unknown", "other"]
