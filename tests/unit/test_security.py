"""Security review items of issue #10 (docs/security.md): token checks, no
document text in logs, upload names never used as paths, X-Request-ID
sanitised, security headers."""

from __future__ import annotations

import io
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from app import SECURITY_HEADERS, create_app
from app.api.auth import tokens_match
from app.config import Settings
from app.llm.client import LLMClient
from tests.conftest import FakeOcrEngine, FakeOpenAI, line, png_bytes

# A document whose every line is recognisable in a log.
SECRET_LINES = (
    line("CONG TY ZEBRAQUARTZ", 10, 10, w=300),
    line("Khach hang: Nguyen Van Xylophon", 10, 40, w=300),
    line("So CCCD 079203004477", 10, 70, w=300),
    line("TOTAL", 10, 100, w=50),
    line("987,654", 200, 102, w=60),
)
SECRETS = ("ZEBRAQUARTZ", "Xylophon", "079203004477", "987,654", "987654")


def make_app(llm_client=None, **settings):
    s = Settings(hard_token="tok", llm_api_url="http://fake/v1", **settings)
    app = create_app(s, ocr_engine=FakeOcrEngine(SECRET_LINES),
                     llm_client=llm_client or LLMClient(base_url="http://fake/v1", model="m", client=FakeOpenAI()))
    app.testing = True
    return app


def upload(name="scan.png"):
    return (io.BytesIO(png_bytes()), name)


# ------------------------------------------------------------------ tokens
def test_tokens_match():
    assert tokens_match("s3cret", "s3cret")
    assert not tokens_match("s3cre", "s3cret")
    assert not tokens_match("s3cret" * 100, "s3cret")
    assert not tokens_match("", "s3cret")
    assert not tokens_match("s\udcffcret", "s3cret")  # lone surrogates do not raise


def test_wrong_token_is_401_not_500():
    client = make_app().test_client()
    for token in ("wrong", "ü" * 3, "x" * 10_000):
        r = client.post("/ocr", data={"image_file": upload()}, headers={"X-API-Token": token},
                        content_type="multipart/form-data")
        assert r.status_code == 401 and r.get_json()["error_code"] == "UNAUTHORIZED"


# ------------------------------------------------------------------ headers
@pytest.mark.parametrize("method, path", [("get", "/health"), ("get", "/ready"), ("get", "/nope"),
                                          ("post", "/ocr")])
def test_security_headers_on_every_response(method, path):
    r = getattr(make_app().test_client(), method)(path)
    for name, value in SECURITY_HEADERS.items():
        assert r.headers[name] == value, name
    assert r.headers["X-Trace-Id"]


@pytest.mark.parametrize("incoming, kept", [
    ("order-42.A_b", True),
    ("a" * 64, True),
    ("a" * 65, False),
    ("has space", False),
    ("<script>alert(1)</script>", False),
    ("id\n", False),  # `$` in a plain match would have let the newline through
    ("id\r\nSet-Cookie: x=1", False),
    ("ünïcode", False),
    ("", False),
])
def test_request_id_sanitised(incoming, kept):
    client = make_app().test_client()
    r = client.get("/health", environ_base={"HTTP_X_REQUEST_ID": incoming})
    trace = r.headers["X-Trace-Id"]
    if kept:
        assert trace == incoming
    else:
        assert trace != incoming and len(trace) == 32 and all(c in "0123456789abcdef" for c in trace)


# ------------------------------------------------------------------ upload names
@pytest.mark.parametrize("name", ["../../../{tmp}/evil.png", "{tmp}/abs.png", "..\\..\\win.png", "a\x00b.png"])
def test_upload_names_are_never_paths(tmp_path, name, monkeypatch):
    monkeypatch.chdir(tmp_path)
    name = name.format(tmp=tmp_path)
    before = sorted(Path(tmp_path).rglob("*"))
    client = make_app().test_client()
    r = client.post("/ocr", data={"image_file": upload(name)}, headers={"X-API-Token": "tok"},
                    content_type="multipart/form-data")
    assert r.status_code == 200
    assert r.get_json()["data"]["results"][0]["filename"]  # echoed as text only
    assert sorted(Path(tmp_path).rglob("*")) == before  # nothing written anywhere near


# ------------------------------------------------------------------ logs
@pytest.fixture
def llm_server():
    """A real HTTP server speaking the OpenAI completions/chat API. Per-field prompts get the
    document's total; schema calls get JSON that is cut (invalid) and quotes the document;
    requests whose prompt names 'reject' get a 400 that quotes the prompt back."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _send(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            self._send(200, {"object": "list", "data": [{"id": "m", "object": "model", "owned_by": "x",
                                                         "created": 0}]})

        def do_POST(self):
            req = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            text = req.get("prompt") or json.dumps(req.get("messages"), ensure_ascii=False)
            if "reject" in text:
                return self._send(400, {"error": {"message": f"invalid input: {text[:500]}",
                                                  "type": "invalid_request_error"}})
            if self.path.endswith("/chat/completions"):
                content = '{"seller": "CONG TY ZEBRAQUARTZ", "total": "987,6'
                return self._send(200, {"id": "1", "object": "chat.completion", "created": 0, "model": "m",
                                        "choices": [{"index": 0, "finish_reason": "length",
                                                     "message": {"role": "assistant", "content": content}}]})
            return self._send(200, {"id": "1", "object": "text_completion", "created": 0, "model": "m",
                                    "choices": [{"index": 0, "finish_reason": "stop", "text": " 987,654",
                                                 "logprobs": None}]})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
def test_no_document_text_or_field_values_in_logs(llm_server, caplog, capfd, level):
    caplog.set_level(logging.DEBUG)
    llm = LLMClient(base_url=llm_server, model="m", backend="llamacpp", timeout=10, max_retries=0)
    client = make_app(llm_client=llm, log_level=level).test_client()
    headers = {"X-API-Token": "tok"}

    def post(path, config=None, name="scan.png"):
        data = {"image_file": upload(name)}
        if config is not None:
            data["config"] = json.dumps(config)
        return client.post(path, data=data, headers=headers, content_type="multipart/form-data")

    r = post("/ocr")
    assert r.status_code == 200 and "ZEBRAQUARTZ" in r.get_data(as_text=True)
    r = post("/extract", {"info": {"total": "total amount"}, "mode": "per_field"})
    assert r.get_json()["data"]["results"][0]["extracted_fields"]["total"] == "987,654"
    r = post("/extract", {"document_type": "receipt", "info": {"buyer": "customer name"}, "mode": "schema"})
    assert r.status_code == 200  # the cut JSON answer: field errors, logged without its content
    r = post("/extract", {"info": {"x": "reject this field"}, "mode": "per_field"})
    assert r.status_code == 502 and r.get_json()["error_code"] == "LLM_REJECTED"

    logged = caplog.text + "".join(capfd.readouterr())
    assert "schema mode: unparseable answer" in logged and "rejected a request with status 400" in logged
    for secret in SECRETS:
        assert secret not in logged, f"{secret!r} in the log:\n{logged}"
