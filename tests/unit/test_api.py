"""HTTP contract with fakes injected into the app factory."""

import io
import json

import pytest

from app import create_app
from app.config import Settings
from tests.conftest import FakeOcrEngine, FakeOpenAI, answer_by_field, png_bytes
from app.llm.client import LLMClient

INFO = {"shop": "name of the shop", "total": "total amount"}
ANSWERS = {"name of the shop": "MINI MART ABC", "total amount": "3.00"}


def make_app(token="", engine=None, responder=None, **settings):
    s = Settings(hard_token=token, llm_api_url="http://fake/v1", **settings)
    llm = LLMClient(base_url="http://fake/v1", model="m", client=FakeOpenAI(responder or answer_by_field(ANSWERS)))
    app = create_app(s, ocr_engine=engine or FakeOcrEngine(), llm_client=llm)
    app.testing = True
    return app


@pytest.fixture
def client():
    return make_app().test_client()


def img(name="a.png", data=None):
    return (io.BytesIO(data if data is not None else png_bytes()), name)


def test_health_contract(client):
    for path in ("/health", "/id_card_scan/health"):
        r = client.get(path)
        assert r.status_code == 200
        assert r.get_json() == {"success": True, "message": "OCR API is running", "status": "healthy"}


def test_ready_when_llm_answers(client):
    r = client.get("/ready")
    assert r.status_code == 200 and r.get_json()["checks"]["llm"]["models"] == ["fake-model"]


def test_not_ready_when_llm_down():
    s = Settings(llm_api_url="http://127.0.0.1:9/v1", llm_max_retries=0)
    app = create_app(s, ocr_engine=FakeOcrEngine())
    r = app.test_client().get("/ready")
    body = r.get_json()
    assert r.status_code == 503 and body["error_code"] == "NOT_READY"
    assert body["checks"]["llm"]["ok"] is False and "llm" in body["message"]


@pytest.mark.parametrize("prefix", ["", "/id_card_scan"])
def test_ocr_contract(client, prefix):
    r = client.post(f"{prefix}/ocr", data={"image_file": [img("a.png"), img("b.png")]},
                    content_type="multipart/form-data")
    assert r.status_code == 200
    body = r.get_json()
    assert body["success"] is True and body["trace_id"] == r.headers["X-Trace-Id"]
    data = body["data"]
    assert data["processed_count"] == 2 and data["error_count"] == 0
    first = data["results"][0]
    assert first["filename"] == "a.png"
    assert first["ocr_data"][0] == {"text": "MINI MART ABC", "confidence": 0.99,
                                    "box": [[10, 10], [110, 10], [110, 30], [10, 30]], "page": 1}
    assert set(first["processing_time"]) == {"detection_ms", "recognition_ms", "text_layer_ms"}
    assert first["page_count"] == 1
    assert first["pages"][0]["page"] == 1 and first["pages"][0]["source"] == "ocr"
    assert first["pages"][0]["ocr_data"] == first["ocr_data"]


def test_ocr_without_boxes(client):
    r = client.post("/ocr", data={"image_file": img(), "display_text_box": "false"})
    assert "box" not in r.get_json()["data"]["results"][0]["ocr_data"][0]


@pytest.mark.parametrize("prefix", ["", "/id_card_scan"])
def test_extract_contract(client, prefix):
    r = client.post(f"{prefix}/extract", data={"image_file": img(), "config": json.dumps({"info": INFO})})
    assert r.status_code == 200, r.get_json()
    result = r.get_json()["data"]["results"][0]
    assert result["extracted_fields"] == {"shop": "MINI MART ABC", "total": "3.00"}
    assert set(result["processing_time"]) == {"ocr_ms", "detection_ms", "recognition_ms", "text_layer_ms",
                                              "extraction_ms", "classify_ms", "mapping_ms", "captions_ms", "llm_ms"}
    # Five lines with no title: no type detected; "total amount" read after the printed "TOTAL"
    # by the caption reader, the shop's name (no caption) by the LLM.
    assert result["document_type"] is None and result["classification"]["type"] == "other"
    field = result["fields"]["total"]
    assert field["value"] == "3.00" and field["source"] == "rule" and field["grounded"] is True
    assert field["box"] == [[200, 102], [240, 102], [240, 122], [200, 122]] and field["page"] == 1
    assert field["matched_field"] is None and field["checks"]["caption"] == "TOTAL"
    assert result["fields"]["shop"]["source"] == "llm"
    assert "ocr_data" not in result
    assert [set(p) for p in result["pages"]] == [{"page", "width", "height", "source", "processing_time"}]


def test_extract_document_type_uses_rules_first(client):
    cfg = {"document_type": "receipt"}
    r = client.post("/extract", data={"image_file": img(), "config": json.dumps(cfg)})
    result = r.get_json()["data"]["results"][0]
    assert list(result["extracted_fields"]) == ["seller", "address", "date", "total"]
    fields = result["fields"]
    assert fields["seller"]["value"] == "MINI MART ABC" and fields["seller"]["source"] == "rule"
    assert fields["date"]["normalized"] == "2020-02-03"
    assert fields["total"]["normalized"] == {"amount": "3.00", "currency": None}
    assert fields["total"]["source"] == "rule" and fields["total"]["box"]
    assert "rules_ms" in result["processing_time"]


def test_extract_with_boxes_and_schema_mode(client):
    cfg = {"info": INFO, "mode": "schema", "display_text_box": True}
    r = client.post("/extract", data={"image_file": img(), "config": json.dumps(cfg)})
    result = r.get_json()["data"]["results"][0]
    assert result["extracted_fields"] == {"shop": "MINI MART ABC", "total": "3.00"}
    assert result["ocr_data"][0]["box"]


def test_batch_with_one_bad_file(client):
    r = client.post("/ocr", data={"image_file": [img("good.png"), img("bad.jpg", b"garbage"), img("good2.png")]})
    assert r.status_code == 200
    data = r.get_json()["data"]
    assert data["processed_count"] == 2 and data["error_count"] == 1
    bad = data["results"][1]
    assert bad == {"filename": "bad.jpg", "success": False, "error_code": "INVALID_IMAGE", "message": bad["message"]}
    assert "1 of 3 files failed" in r.get_json()["message"]


def assert_error(r, status, code):
    body = r.get_json()
    assert r.status_code == status, body
    assert body["success"] is False and body["error_code"] == code
    assert body["message"] and body["trace_id"]
    assert "Traceback" not in json.dumps(body)
    return body


def test_auth():
    c = make_app(token="s3cret").test_client()
    assert_error(c.post("/ocr", data={"image_file": img()}), 401, "UNAUTHORIZED")
    assert_error(c.post("/ocr", data={"image_file": img()}, headers={"X-API-Token": "wrong"}), 401, "UNAUTHORIZED")
    assert c.post("/ocr", data={"image_file": img()}, headers={"X-API-Token": "s3cret"}).status_code == 200
    assert c.post("/ocr", data={"image_file": img(), "hard_token": "s3cret"}).status_code == 200
    assert c.get("/health").status_code == 200  # health needs no token


def test_empty_token_disables_auth_with_warning(caplog):
    with caplog.at_level("WARNING"):
        c = make_app(token="").test_client()
    assert "authentication is DISABLED" in caplog.text
    assert c.post("/ocr", data={"image_file": img()}).status_code == 200


def test_missing_file(client):
    assert_error(client.post("/ocr", data={}), 400, "MISSING_FILE")
    assert_error(client.post("/extract", data={"config": json.dumps({"info": INFO})}), 400, "MISSING_FILE")


@pytest.mark.parametrize("config,code,needle", [
    (None, "MISSING_CONFIG", "config"),
    ("", "MISSING_CONFIG", "config"),
    ("{not json", "INVALID_CONFIG", "not valid JSON"),
    ("[1]", "INVALID_CONFIG", "JSON object"),
    ("{}", "INVALID_CONFIG", "config.info"),
    (json.dumps({"document_type": "passport"}), "INVALID_CONFIG", "config.document_type"),
    (json.dumps({"info": {}}), "INVALID_CONFIG", "config.info"),
    (json.dumps({"info": {"a": ""}}), "INVALID_CONFIG", "field 'a'"),
    (json.dumps({"info": INFO, "batch_size": 0}), "INVALID_CONFIG", "config.batch_size"),
    (json.dumps({"info": INFO, "llm_timeout": -1}), "INVALID_CONFIG", "config.llm_timeout"),
    (json.dumps({"info": INFO, "mode": "magic"}), "INVALID_CONFIG", "config.mode"),
    (json.dumps({"info": INFO, "parallel": "sometimes"}), "INVALID_CONFIG", "config.parallel"),
    (json.dumps({"info": INFO, "colour": "red"}), "INVALID_CONFIG", "config.colour: unknown key"),
])
def test_config_errors_name_the_key(client, config, code, needle):
    data = {"image_file": img()}
    if config is not None:
        data["config"] = config
    body = assert_error(client.post("/extract", data=data), 400, code)
    assert needle in body["message"]


def test_bad_display_text_box(client):
    body = assert_error(client.post("/ocr", data={"image_file": img(), "display_text_box": "maybe"}), 400,
                        "INVALID_PARAMETER")
    assert "display_text_box" in body["message"]


def test_single_invalid_image_is_400(client):
    body = assert_error(client.post("/ocr", data={"image_file": img("x.png", b"nope")}), 400, "INVALID_IMAGE")
    assert body["data"]["results"][0]["filename"] == "x.png"


def test_payload_too_large():
    app = make_app(max_request_bytes=10_000, max_file_bytes=5_000)
    c = app.test_client()
    assert_error(c.post("/ocr", data={"image_file": img(data=b"x" * 20_000)}), 413, "PAYLOAD_TOO_LARGE")
    # One file over the per-file limit in a batch: its own error entry.
    big = png_bytes(300, 300, color=(1, 2, 3))
    noise = __import__("os").urandom(6000)
    r = c.post("/ocr", data={"image_file": [img("ok.png"), img("big.png", big + noise)]})
    data = r.get_json()["data"]
    assert r.status_code == 200 and data["results"][1]["error_code"] == "PAYLOAD_TOO_LARGE"


def test_too_many_files():
    c = make_app(max_files_per_request=2).test_client()
    assert_error(c.post("/ocr", data={"image_file": [img(), img(), img()]}), 413, "PAYLOAD_TOO_LARGE")


def test_llm_unavailable_is_503():
    import httpx2
    import openai

    def down(kind, kw):
        raise openai.APIConnectionError(request=httpx2.Request("POST", "http://fake/v1"))

    c = make_app(responder=down).test_client()
    only_llm = {"shop": INFO["shop"]}  # no reader answers it
    assert_error(c.post("/extract", data={"image_file": img(), "config": json.dumps({"info": only_llm})}), 503,
                 "LLM_UNAVAILABLE")


def test_llm_timeout_is_504():
    import httpx2
    import openai

    def slow(kind, kw):
        raise openai.APITimeoutError(request=httpx2.Request("POST", "http://fake/v1"))

    c = make_app(responder=slow).test_client()
    only_llm = {"shop": INFO["shop"]}  # no reader answers it
    assert_error(c.post("/extract", data={"image_file": img(), "config": json.dumps({"info": only_llm})}), 504,
                 "LLM_TIMEOUT")


def test_unexpected_error_is_500_without_traceback(caplog):
    c = make_app(engine=FakeOcrEngine(error=RuntimeError("secret internals"))).test_client()
    body = assert_error(c.post("/ocr", data={"image_file": img()}), 500, "SYSTEM_ERROR")
    assert "secret internals" not in json.dumps(body)
    assert "secret internals" in caplog.text  # logged for operators


def test_not_found_and_method_not_allowed(client):
    assert_error(client.get("/nope"), 404, "NOT_FOUND")
    assert_error(client.get("/ocr"), 405, "METHOD_NOT_ALLOWED")


def test_incoming_request_id_is_used_as_trace_id(client):
    r = client.get("/health", headers={"X-Request-ID": "abc-123"})
    assert r.headers["X-Trace-Id"] == "abc-123"
