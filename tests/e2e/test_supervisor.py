"""End to end: ``./run.sh serve`` keeps the API up when the LLM server dies and
restarts the LLM server (issue #10: it used to stop the API too, via ``wait -n``).

Real processes: run.sh, the real llama.cpp server with the embedded GGUF, gunicorn
with the real app (RapidOCR engine)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import GGUF_IN_WEIGHTS, ROOT, free_port

psutil = pytest.importorskip("psutil")


def _llama_pids(root_pid: int) -> list[int]:
    try:
        children = psutil.Process(root_pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    out = []
    for p in children:
        try:
            if "llama_cpp.server" in " ".join(p.cmdline()):
                out.append(p.pid)
        except psutil.Error:
            pass
    return out


def _wait(predicate, timeout: float, what: str, log: Path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    pytest.fail(f"{what} not within {timeout} s:\n{log.read_text()[-3000:]}")


def _status(url: str) -> int | None:
    try:
        return requests.get(url, timeout=5).status_code
    except requests.RequestException:
        return None


def test_serve_restarts_a_dead_llm_server_and_keeps_the_api(tmp_path):
    pytest.importorskip("llama_cpp.server", reason="llama-cpp-python[server] is not installed (./run.sh setup)")
    if not GGUF_IN_WEIGHTS.is_file():
        pytest.skip(f"{GGUF_IN_WEIGHTS} not assembled (./run.sh setup)")
    port, llm_port = free_port(), free_port()
    log = tmp_path / "serve.log"
    env = {**os.environ, "SKIP_SETUP": "true", "VENV_DIR": str(Path(sys.executable).parent.parent),
           "HOST": "127.0.0.1", "PORT": str(port), "LLM_SERVER_PORT": str(llm_port),
           "LLM_API_URL": f"http://127.0.0.1:{llm_port}/v1", "LLM_BACKEND": "llamacpp", "LLM_THREADS": "1",
           "LLM_MAX_MODEL_LEN": "2048", "GUNICORN_WORKERS": "1", "OCR_ENGINE": "rapidocr", "LLM_WAIT_TIMEOUT": "180"}
    with open(log, "wb") as out:
        proc = subprocess.Popen(["bash", str(ROOT / "run.sh"), "serve"], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(lambda: _status(base + "/ready") == 200, 240, "/ready 200", log)
        first = _llama_pids(proc.pid)
        assert len(first) == 1, first
        os.kill(first[0], signal.SIGKILL)

        # The API stays up while the LLM server is down and restarting.
        health = []
        def restarted():
            health.append(_status(base + "/health"))
            pids = _llama_pids(proc.pid)
            return pids and pids != first and _status(base + "/ready") == 200
        _wait(restarted, 180, "a restarted LLM server answering /ready", log)
        assert proc.poll() is None, log.read_text()[-3000:]
        assert set(health) == {200}, health
        assert "the LLM server exited (status 137); restarting it in 1s" in log.read_text()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    # Nothing left behind: no LLM server, no gunicorn.
    time.sleep(1)
    leftovers = [p for p in psutil.process_iter(["cmdline"])
                 if str(llm_port) in " ".join(p.info["cmdline"] or []) and p.pid != os.getpid()]
    assert leftovers == [], [p.info["cmdline"] for p in leftovers]
    assert _status(base + "/health") is None
