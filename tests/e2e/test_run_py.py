"""End to end: ``python3 run.py``, the manual entry point, started as a user
would, against a fake LLM server (a real HTTP server on a loopback port that
answers ``GET /v1/models`` like llama.cpp's server does). The API itself is the
real one (real RapidOCR engine)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from tests.conftest import ROOT, free_port, stop, wait_http

pytest.importorskip("rapidocr", reason="the real OCR engine (rapidocr) is needed to build the app")


class _ModelsHandler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's naming)
        if self.path.rstrip("/") != "/v1/models":
            self.send_error(404)
            return
        body = json.dumps({"object": "list", "data": [{"id": "gemma-3-270m", "object": "model",
                                                       "owned_by": "me"}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def fake_llm():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ModelsHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def start_run_py(tmp_path, *args, llm_url: str, **env):
    port = free_port()
    log_path = tmp_path / "run_py.log"
    full_env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(port), "GUNICORN_WORKERS": "1",
                "GUNICORN_THREADS": "2", "OCR_ENGINE": "rapidocr", "HARD_TOKEN": "t", "LLM_API_URL": llm_url,
                "LLM_WAIT_TIMEOUT": "30", **env}
    with open(log_path, "wb") as log_file:
        proc = subprocess.Popen([sys.executable, str(ROOT / "run.py"), *args], cwd=ROOT, env=full_env,
                                stdout=log_file, stderr=subprocess.STDOUT)
    return f"http://127.0.0.1:{port}", proc, log_path


@pytest.mark.parametrize("args", [(), ("--dev",)], ids=["gunicorn", "dev"])
def test_run_py_serves_health(tmp_path, fake_llm, args):
    base, proc, log_path = start_run_py(tmp_path, *args, llm_url=fake_llm)
    try:
        wait_http(base + "/health", proc, 120, log_path)
        r = requests.get(base + "/health", timeout=10)
        assert r.status_code == 200 and r.json()["status"] == "healthy"
        ready = requests.get(base + "/ready", timeout=10)
        assert ready.status_code == 200 and ready.json()["checks"]["llm"]["models"] == ["gemma-3-270m"]
    finally:
        stop(proc)
    out = log_path.read_text()
    assert f"API will answer at {base}" in out
    assert f"LLM server expected at {fake_llm}" in out
    assert ("gunicorn" if not args else "Flask development server") in out


def test_run_py_exits_when_llm_does_not_answer(tmp_path):
    dead = f"http://127.0.0.1:{free_port()}/v1"
    base, proc, log_path = start_run_py(tmp_path, llm_url=dead, LLM_WAIT_TIMEOUT="2")
    try:
        rc = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    out = log_path.read_text()
    assert rc == 1, out
    assert f"the LLM server did not answer at {dead} within 2 s" in out
    assert "--no-wait" in out
    with pytest.raises(requests.ConnectionError):
        requests.get(base + "/health", timeout=2)


def test_run_py_no_wait_starts_without_llm(tmp_path):
    dead = f"http://127.0.0.1:{free_port()}/v1"
    base, proc, log_path = start_run_py(tmp_path, "--no-wait", llm_url=dead)
    try:
        wait_http(base + "/health", proc, 120, log_path)
        ready = requests.get(base + "/ready", timeout=10)
        assert ready.status_code == 503 and ready.json()["error_code"] == "NOT_READY"
    finally:
        stop(proc)


def test_run_py_rejects_a_bad_setting(tmp_path, fake_llm):
    _, proc, log_path = start_run_py(tmp_path, llm_url=fake_llm, PORT="not-a-port")
    started = time.monotonic()
    rc = proc.wait(timeout=60)
    assert rc == 2 and time.monotonic() - started < 60
    assert "PORT must be an integer" in log_path.read_text()
