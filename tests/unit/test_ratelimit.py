"""Rate limits per API key: 429 RATE_LIMITED with Retry-After, probes exempt,
in-process storage and (when Redis answers) Redis shared by two app instances."""

from __future__ import annotations

import io
import uuid

import pytest

from app import create_app
from app.config import ConfigError, Settings
from app.llm.client import LLMClient
from tests.conftest import FakeOcrEngine, FakeOpenAI, png_bytes

REDIS_URL = "redis://127.0.0.1:6379/5"  # this capability's Redis database


def make_app(**settings):
    s = Settings(llm_api_url="http://fake/v1", **settings)
    llm = LLMClient(base_url="http://fake/v1", model="m", client=FakeOpenAI())
    app = create_app(s, ocr_engine=FakeOcrEngine(), llm_client=llm)
    app.testing = True
    return app


def ocr(client, token):
    return client.post("/ocr", data={"image_file": (io.BytesIO(png_bytes()), "a.png")},
                       headers={"X-API-Token": token})


def test_over_the_limit_gets_429_with_retry_after():
    client = make_app(rate_limit="2/minute").test_client()
    assert ocr(client, "key-a").status_code == 200
    assert client.post("/extract", headers={"X-API-Token": "key-a"}).status_code == 400  # counts too
    r = ocr(client, "key-a")
    body = r.get_json()
    assert r.status_code == 429
    assert body["success"] is False and body["error_code"] == "RATE_LIMITED" and body["trace_id"]
    assert "2 per 1 minute" in body["message"]
    assert 0 < int(r.headers["Retry-After"]) <= 60
    assert r.headers["X-RateLimit-Limit"] == "2" and r.headers["X-RateLimit-Remaining"] == "0"
    # The same budget covers the legacy prefix; another key has its own.
    assert ocr_legacy(client, "key-a").status_code == 429
    assert ocr(client, "key-b").status_code == 200
    # Health, probes, metrics and the description are never limited.
    for path in ("/health", "/ready", "/livez", "/readyz", "/metrics", "/openapi.json", "/docs",
                 "/id_card_scan/health"):
        assert client.get(path, headers={"X-API-Token": "key-a"}).status_code == 200, path


def ocr_legacy(client, token):
    return client.post("/id_card_scan/ocr", data={"image_file": (io.BytesIO(png_bytes()), "a.png")},
                       headers={"X-API-Token": token})


def test_token_in_form_field_is_the_key():
    client = make_app(rate_limit="1/minute").test_client()

    def post(token):
        return client.post("/ocr", data={"image_file": (io.BytesIO(png_bytes()), "a.png"), "hard_token": token})

    assert post("form-key").status_code == 200
    assert post("form-key").status_code == 429
    assert post("other-form-key").status_code == 200


def test_no_limit_by_default():
    client = make_app().test_client()
    assert all(ocr(client, "k").status_code == 200 for _ in range(5))
    assert "X-RateLimit-Limit" not in ocr(client, "k").headers


def test_rate_limit_setting_parsed_and_validated():
    s = Settings.from_env({"RATE_LIMIT": "10/second;500/hour", "REDIS_URL": REDIS_URL}, dotenv=False)
    assert s.rate_limit == "10/second;500/hour" and s.rate_limit_storage_url == REDIS_URL
    s = Settings.from_env({"REDIS_URL": REDIS_URL, "RATE_LIMIT_STORAGE_URL": "memory://"}, dotenv=False)
    assert s.rate_limit_storage_url == "memory://" and s.rate_limit == ""
    with pytest.raises(ConfigError, match="RATE_LIMIT"):
        Settings.from_env({"RATE_LIMIT": "lots"}, dotenv=False)


@pytest.fixture
def redis_db():
    redis = pytest.importorskip("redis")
    conn = redis.Redis.from_url(REDIS_URL, socket_timeout=2)
    try:
        conn.ping()
    except redis.RedisError as e:
        pytest.skip(f"Redis at {REDIS_URL} does not answer ({e})")
    yield conn
    for key in conn.scan_iter("LIMITS:LIMITER/docextract/*"):
        conn.delete(key)


def test_redis_storage_shared_between_workers(redis_db):
    """Two app instances (two gunicorn workers) share one budget in Redis."""
    token = "redis-key-" + uuid.uuid4().hex
    first = make_app(rate_limit="3/minute", rate_limit_storage_url=REDIS_URL).test_client()
    second = make_app(rate_limit="3/minute", rate_limit_storage_url=REDIS_URL).test_client()
    assert [ocr(c, token).status_code for c in (first, second, first, second)] == [200, 200, 200, 429]
    assert any(redis_db.scan_iter("LIMITS:LIMITER/docextract/*"))
    ready = first.get("/readyz").get_json()
    assert ready["checks"]["rate_limit_storage"] == {"ok": True, "storage": "redis"}
