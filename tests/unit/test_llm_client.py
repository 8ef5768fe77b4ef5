"""LLMClient over the real openai library against a local stub HTTP server:
checks what goes on the wire per backend and how errors are translated."""

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from app.errors import LLMRejected, LLMTimeout, LLMUnavailable
from app.llm.client import LLMClient


class Stub:
    def __init__(self):
        self.requests = []
        self.status = 200
        self.delay = 0.0
        self.content = '{"total": "3.00"}'


@pytest.fixture
def stub():
    state = Stub()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _reply(self, body: dict):
            if state.delay:
                time.sleep(state.delay)
            data = json.dumps(body).encode()
            try:
                self.send_response(state.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout test)

        def do_GET(self):
            state.requests.append(("GET", self.path, None))
            self._reply({"object": "list", "data": [{"id": "m1", "object": "model", "owned_by": "x", "created": 0}]})

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            state.requests.append(("POST", self.path, body))
            if state.status != 200:
                return self._reply({"error": {"message": "bad thing", "type": "invalid_request_error"}})
            if self.path.endswith("/chat/completions"):
                return self._reply({"id": "1", "object": "chat.completion", "created": 0, "model": "m1",
                                    "choices": [{"index": 0, "finish_reason": "stop",
                                                 "message": {"role": "assistant", "content": state.content}}]})
            return self._reply({"id": "1", "object": "text_completion", "created": 0, "model": "m1",
                                "choices": [{"index": 0, "finish_reason": "stop", "text": " 3.00", "logprobs": None}]})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    yield state
    server.shutdown()


def client(url, backend="llamacpp", **kw):
    return LLMClient(base_url=url, model="m1", backend=backend, timeout=kw.pop("timeout", 5), max_retries=0, **kw)


SCHEMA = {"type": "object", "properties": {"total": {"type": ["string", "null"]}}, "required": ["total"]}


def test_llamacpp_gets_json_object_with_schema(stub):
    out = client(stub.url, "llamacpp").chat([{"role": "user", "content": "hi"}], json_schema=SCHEMA)
    assert out == '{"total": "3.00"}'
    body = stub.requests[-1][2]
    assert body["response_format"] == {"type": "json_object", "schema": SCHEMA}
    assert body["temperature"] == 0.0 and body["model"] == "m1"


@pytest.mark.parametrize("backend", ["vllm", "external"])
def test_vllm_gets_json_schema_form(stub, backend):
    client(stub.url, backend).chat([{"role": "user", "content": "hi"}], json_schema=SCHEMA)
    rf = stub.requests[-1][2]["response_format"]
    assert rf["type"] == "json_schema"
    assert rf["json_schema"]["schema"] == SCHEMA and rf["json_schema"]["strict"] is True
    assert "guided_json" not in stub.requests[-1][2]


def test_completion_sends_stop_and_returns_text(stub):
    assert client(stub.url).complete("Value:", max_tokens=7, stop=("\n",)) == " 3.00"
    method, path, body = stub.requests[-1]
    assert path.endswith("/v1/completions")
    assert body["prompt"] == "Value:" and body["max_tokens"] == 7 and body["stop"] == ["\n"]


def test_list_models(stub):
    assert client(stub.url).list_models() == ["m1"]


@pytest.mark.parametrize("status,error", [(500, LLMUnavailable), (503, LLMUnavailable), (429, LLMUnavailable),
                                          (400, LLMRejected), (422, LLMRejected)])
def test_status_errors_are_translated(stub, status, error):
    stub.status = status
    with pytest.raises(error) as info:
        client(stub.url).complete("x")
    assert info.value.code in ("LLM_UNAVAILABLE", "LLM_REJECTED")


def test_timeout_is_translated(stub):
    stub.delay = 1.0
    with pytest.raises(LLMTimeout, match="0.2 s"):
        client(stub.url).complete("x", timeout=0.2)


def test_connection_refused_is_unavailable():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    with pytest.raises(LLMUnavailable, match="Cannot reach"):
        client(f"http://127.0.0.1:{port}/v1").complete("x")
