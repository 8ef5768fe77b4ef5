"""End to end, faults of the LLM server (issue #10, item 4) and the log of a full
run (item 6): the real app under gunicorn (deploy/gunicorn.conf.py), real
RapidOCR, a real llama.cpp server of this module's own (it is stopped and
killed here), real receipts over HTTP."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from bench.faults import LLM_ONLY, note_png
from tests.conftest import LLAMA_ALIAS, ROOT, free_port, llama_server_env, shared_path, stop, wait_http

TOKEN = "faults-token"
RECEIPT = "X00016469619"  # INDAH GIFT & HOME DECO, 27,JALAN DEDAP 13, total 60.30
REQUEST_TIMEOUT = 40  # generous: OCR of a receipt alone took 10+ s on the shared 2-core machine


def _start_llama(gguf_path: Path, port: int, log: Path) -> subprocess.Popen:
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf_path), "--model_alias", LLAMA_ALIAS,
             "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096", "--logits_all", "False", "--n_threads", "2", "--verbose",
             "False"], stdout=out, stderr=subprocess.STDOUT, env=llama_server_env())
    wait_http(f"http://127.0.0.1:{port}/v1/models", proc, 180, log)
    return proc


@pytest.fixture(scope="module")
def stack(gguf_path, tmp_path_factory):
    pytest.importorskip("llama_cpp.server", reason="llama-cpp-python[server] is not installed (./run.sh setup)")
    tmp = tmp_path_factory.mktemp("faults")
    llm_port, port = free_port(), free_port()
    state = {"llm": _start_llama(gguf_path, llm_port, tmp / "llm.log")}
    env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(port), "GUNICORN_WORKERS": "1", "HARD_TOKEN": TOKEN,
           "LLM_BACKEND": "llamacpp", "LLM_API_URL": f"http://127.0.0.1:{llm_port}/v1", "OCR_ENGINE": "rapidocr",
           "REQUEST_TIMEOUT": str(REQUEST_TIMEOUT), "LLM_BREAKER_FAILURES": "3", "LLM_BREAKER_RESET_TIMEOUT": "3",
           "LOG_LEVEL": "debug"}
    api_log = tmp / "api.log"
    with open(api_log, "wb") as out:
        api = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", str(ROOT / "deploy" / "gunicorn.conf.py"),
                                "app:create_app()"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    wait_http(base + "/health", api, 120, api_log)
    state.update(base=base, api_log=api_log, llm_port=llm_port, gguf=gguf_path, tmp=tmp)
    yield state
    stop(api)
    os.kill(state["llm"].pid, signal.SIGCONT) if state["llm"].poll() is None else None
    stop(state["llm"])


def extract(base, config, receipt=True, timeout=300):
    if receipt:
        path = shared_path("sroie", "images", f"{RECEIPT}.jpg")
        upload = (path.name, path.read_bytes(), "image/jpeg")
    else:
        upload = ("note.png", note_png(), "image/png")
    start = time.monotonic()
    r = requests.post(base + "/extract", headers={"X-API-Token": TOKEN}, timeout=timeout,
                      files=[("image_file", upload)], data={"config": json.dumps(config)})
    return r, time.monotonic() - start


READERS_AND_LLM = {"document_type": "receipt", "info": {"phone": "telephone number of the shop"}, "llm_timeout": 300}


def test_stalled_llm_server_gets_504_or_the_readers_answer_within_the_deadline(stack):
    base, llm = stack["base"], stack["llm"]
    r, _ = extract(base, LLM_ONLY, receipt=False)
    assert r.status_code == 200, r.text
    os.kill(llm.pid, signal.SIGSTOP)
    try:
        with ThreadPoolExecutor(2) as pool:  # both wait out the same deadline together
            llm_only = pool.submit(extract, base, LLM_ONLY, False)
            readers = pool.submit(extract, base, READERS_AND_LLM)
            time.sleep(2)
            assert requests.get(base + "/health", timeout=5).status_code == 200
            (r1, took1), (r2, took2) = llm_only.result(), readers.result()
        assert r1.status_code == 504 and r1.json()["error_code"] == "LLM_TIMEOUT", r1.text
        # llm_timeout is 300 s per call: the answers came from the request's deadline.
        assert took1 < REQUEST_TIMEOUT + 20 and took2 < REQUEST_TIMEOUT + 20
        assert r2.status_code == 200, r2.text
        result = r2.json()["data"]["results"][0]
        assert result["extracted_fields"]["total"] == "60.30"  # the rule reader's answer
        assert result["field_errors"]["phone"]["error_code"] == "LLM_TIMEOUT"
    finally:
        os.kill(llm.pid, signal.SIGCONT)
    r, _ = extract(base, LLM_ONLY, receipt=False)
    assert r.status_code == 200, r.text


def test_dead_llm_server_gets_503_then_the_circuit_opens_and_recovers(stack):
    base = stack["base"]
    stop(stack["llm"])
    codes = []
    for _ in range(4):
        r, _ = extract(base, LLM_ONLY, receipt=False)
        codes.append((r.status_code, r.json()["error_code"], r.headers.get("Retry-After")))
    assert {c[:2] for c in codes} == {(503, "LLM_UNAVAILABLE")}, codes
    assert codes[0][2] is None and codes[-1][2] is not None  # the circuit opened: Retry-After
    ready = requests.get(base + "/ready", timeout=10).json()
    assert ready["error_code"] == "NOT_READY" and ready["checks"]["llm"]["ok"] is False
    r, _ = extract(base, READERS_AND_LLM)  # the readers still answer without any LLM
    assert r.status_code == 200 and r.json()["data"]["results"][0]["extracted_fields"]["total"] == "60.30"

    stack["llm"] = _start_llama(stack["gguf"], stack["llm_port"], stack["tmp"] / "llm.log")
    time.sleep(3.5)  # past LLM_BREAKER_RESET_TIMEOUT: the next call is the probe
    r, _ = extract(base, LLM_ONLY, receipt=False)
    assert r.status_code == 200, r.text
    assert requests.get(base + "/ready", timeout=10).json()["checks"]["llm"]["circuit"] == "closed"


def test_log_of_a_full_run_has_no_document_text(stack):
    """Runs after the others: /ocr and /extract answered, LLM errors, timeouts, the circuit, at LOG_LEVEL=debug."""
    base = stack["base"]
    path = shared_path("sroie", "images", f"{RECEIPT}.jpg")
    r = requests.post(base + "/ocr", headers={"X-API-Token": TOKEN}, timeout=300,
                      files=[("image_file", (path.name, path.read_bytes(), "image/jpeg"))])
    texts = [line["text"] for line in r.json()["data"]["results"][0]["ocr_data"]]
    r, _ = extract(base, READERS_AND_LLM)
    values = [v for v in r.json()["data"]["results"][0]["extracted_fields"].values() if v]
    assert "INDAH GIFT & HOME DECO" in texts and "60.30" in values
    log = stack["api_log"].read_text(errors="replace")
    assert "POST /extract" in log and "LLM_UNAVAILABLE" in log  # the log is the full run's
    distinctive = [t for t in texts + values if len(t) >= 6 and any(ch.isalpha() for ch in t)]
    assert len(distinctive) >= 5
    leaked = [t for t in distinctive + ["60.30"] if t in log]
    assert leaked == [], leaked
