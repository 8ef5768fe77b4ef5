"""Deadlines, the LLM circuit breaker and backpressure (docs/reliability.md), with
fakes injected and, for the client, the real openai library against loopback
HTTP servers (one that answers, one that accepts and never answers, none)."""

from __future__ import annotations

import io
import json
import socket
import threading
import time

import pytest

from app import create_app
from app.api.admission import AdmissionControl
from app.config import Settings
from app.errors import LLMTimeout, LLMUnavailable, Overloaded
from app.extraction.extractor import ExtractOptions
from app.llm.breaker import CLOSED, HALF_OPEN, OPEN, CircuitBreaker, CircuitOpen
from app.llm.client import LLMClient
from tests.conftest import FakeOcrEngine, FakeOpenAI, answer_by_field, free_port, png_bytes


# ------------------------------------------------------------------ breaker
class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_breaker_opens_after_consecutive_failures_and_probes_back():
    clock = Clock()
    b = CircuitBreaker(fail_max=3, reset_timeout=2.0, clock=clock)
    for _ in range(2):
        b.before_call()
        b.record_failure()
    b.before_call()
    b.record_success()  # a success resets the count
    for _ in range(3):
        b.before_call()
        b.record_failure()
    assert b.state == OPEN
    with pytest.raises(CircuitOpen) as e:
        b.before_call()
    assert e.value.retry_after == pytest.approx(2.0) and e.value.failures == 3
    clock.now += 2.0
    b.before_call()  # the probe
    assert b.state == HALF_OPEN
    with pytest.raises(CircuitOpen):
        b.before_call()  # only one probe at a time
    b.record_failure()  # probe failed: open again
    assert b.state == OPEN
    clock.now += 2.0
    b.before_call()
    b.record_success()
    assert b.state == CLOSED
    b.before_call()


def test_breaker_failures_while_open_do_not_push_the_probe_back():
    clock = Clock()
    b = CircuitBreaker(fail_max=1, reset_timeout=2.0, clock=clock)
    b.record_failure()
    clock.now += 1.5
    b.record_failure()  # e.g. a /ready probe that failed
    clock.now += 0.5
    b.before_call()
    assert b.state == HALF_OPEN


def test_breaker_hung_probe_does_not_block_the_next_one():
    clock = Clock()
    b = CircuitBreaker(fail_max=1, reset_timeout=2.0, clock=clock)
    b.record_failure()
    clock.now += 2.0
    b.before_call()
    clock.now += 2.0  # the probe never came back
    b.before_call()
    b.record_neutral()  # a timeout says nothing: the probe slot is free again
    b.before_call()


def test_breaker_does_not_hold_its_lock_during_calls():
    b = CircuitBreaker(fail_max=3)
    inside = threading.Barrier(4, timeout=5)

    def call():
        b.before_call()
        inside.wait()  # all four calls in flight together
        b.record_success()

    threads = [threading.Thread(target=call) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert not inside.broken


# ------------------------------------------------------------------ client + breaker, real sockets
def _client(url, breaker=None, retries=0, timeout=5.0):
    return LLMClient(base_url=url, model="m", timeout=timeout, max_retries=retries, breaker=breaker)


def test_dead_server_opens_the_circuit_then_fails_fast():
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens
    breaker = CircuitBreaker(fail_max=2, reset_timeout=30)
    client = _client(url, breaker)
    for _ in range(2):
        with pytest.raises(LLMUnavailable):
            client.complete("x")
    assert breaker.state == OPEN
    start = time.monotonic()
    with pytest.raises(LLMUnavailable) as e:
        client.complete("x")
    assert time.monotonic() - start < 0.05
    assert "circuit open" in e.value.message and 1 <= e.value.retry_after <= 30


@pytest.fixture
def silent_server():
    """Accepts connections and reads requests but never answers (a SIGSTOPped LLM server looks like this)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    conns, stop = [], threading.Event()

    def loop():
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                conns.append(srv.accept()[0])
            except OSError:
                pass

    t = threading.Thread(target=loop, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.getsockname()[1]}/v1"
    stop.set()
    t.join()
    for c in conns:
        c.close()
    srv.close()


def test_deadline_cuts_the_call_and_skips_retries(silent_server):
    breaker = CircuitBreaker(fail_max=1)
    client = _client(silent_server, breaker, retries=3, timeout=30)
    start = time.monotonic()
    with pytest.raises(LLMTimeout):
        client.complete("x", deadline=time.monotonic() + 1.0)
    elapsed = time.monotonic() - start
    assert 0.9 < elapsed < 3.0  # one attempt cut to the deadline, not 4 x 30 s
    assert breaker.state == CLOSED  # timeouts do not open the circuit
    with pytest.raises(LLMTimeout, match="deadline"):
        client.complete("x", deadline=time.monotonic() - 1)


def test_ready_probe_success_closes_the_circuit():
    fake = FakeOpenAI()
    breaker = CircuitBreaker(fail_max=1, reset_timeout=60)
    client = LLMClient(base_url="http://fake/v1", model="m", client=fake, breaker=breaker)
    breaker.record_failure()
    with pytest.raises(LLMUnavailable):
        client.complete("x")
    assert client.list_models() == ["fake-model"]  # /ready asks even while open
    assert breaker.state == CLOSED
    client.complete("x")


# ------------------------------------------------------------------ extractor deadline
def test_extraction_past_its_deadline_gets_llm_timeout_at_once():
    from app.extraction.extractor import FieldExtractor
    from app.llm.prompts import PromptBuilder
    from tests.conftest import RECEIPT_LINES
    from app.domain import OcrResult

    fake = FakeOpenAI(delay=5)
    extractor = FieldExtractor(LLMClient(base_url="http://fake/v1", model="m", client=fake), PromptBuilder("base"))
    ocr = OcrResult(RECEIPT_LINES, 100, 100, 1.0, 1.0)
    start = time.monotonic()
    with pytest.raises(LLMTimeout):
        extractor.extract(ocr, {"shop": "name of the shop"}, ExtractOptions(deadline=time.monotonic() - 0.1))
    # No call was made (the fake would have held it 5 s); the bound only has to stay under that delay,
    # not measure speed (it took 2.2 s once on a machine at load average 30).
    assert fake.requests == [] and time.monotonic() - start < 4.5


def test_deadline_keeps_the_readers_partial_answer():
    from app.extraction.extractor import FieldExtractor
    from app.llm.prompts import PromptBuilder
    from tests.conftest import RECEIPT_LINES
    from app.domain import OcrResult

    extractor = FieldExtractor(LLMClient(base_url="http://fake/v1", model="m", client=FakeOpenAI()),
                               PromptBuilder("base"))
    ocr = OcrResult(RECEIPT_LINES, 300, 200, 1.0, 1.0)
    out = extractor.extract(ocr, {"phone": "phone number of the shop"}, ExtractOptions(deadline=time.monotonic()),
                            document_type="receipt")
    assert out.fields["total"] == "3.00"  # the rule reader's answer
    assert out.fields["phone"] is None and out.errors["phone"].code == "LLM_TIMEOUT"


# ------------------------------------------------------------------ admission
def test_admission_queue_then_refusal():
    gate = AdmissionControl(max_active=1, max_queued=1, queue_timeout=5)
    gate.acquire()
    got = threading.Event()

    def queued():
        gate.acquire()
        got.set()

    t = threading.Thread(target=queued)
    t.start()
    time.sleep(0.1)
    assert gate.snapshot()["queued"] == 1
    with pytest.raises(Overloaded) as e:  # the queue is full: refused at once
        gate.acquire()
    assert e.value.retry_after == 2 and e.value.http_status == 503
    gate.release()
    t.join(timeout=5)
    assert got.is_set() and gate.snapshot()["active"] == 1
    gate.release()
    assert gate.snapshot() == {"active": 0, "queued": 0, "max_active": 1, "max_queued": 1, "refused": 1}


def test_admission_queue_timeout():
    gate = AdmissionControl(max_active=1, max_queued=4, queue_timeout=0.2)
    gate.acquire()
    start = time.monotonic()
    with pytest.raises(Overloaded, match="QUEUE_TIMEOUT"):
        gate.acquire()
    assert 0.15 < time.monotonic() - start < 2
    gate.release()


def test_admission_disabled():
    gate = AdmissionControl(max_active=0, max_queued=0, queue_timeout=0)
    for _ in range(100):
        gate.acquire()


def _app(responder=None, delay=0.0, **settings):
    s = Settings(hard_token="", llm_api_url="http://fake/v1", **settings)
    fake = FakeOpenAI(responder or answer_by_field({"name of the shop": "MINI MART ABC"}), delay=delay)
    app = create_app(s, ocr_engine=FakeOcrEngine(), llm_client=LLMClient(base_url="http://fake/v1", model="m",
                                                                        client=fake))
    app.testing = True
    return app


def _post(client, path="/extract"):
    data = {"image_file": (io.BytesIO(png_bytes()), "a.png")}
    if path == "/extract":
        data["config"] = json.dumps({"info": {"shop": "name of the shop"}})
    return client.post(path, data=data, content_type="multipart/form-data")


def test_busy_worker_answers_503_overloaded_with_retry_after_and_health_still_answers():
    app = _app(delay=1.0, max_active_requests=1, max_queued_requests=0, queue_timeout=0)
    results = []
    t = threading.Thread(target=lambda: results.append(_post(app.test_client())))
    t.start()
    time.sleep(0.3)
    r = _post(app.test_client())
    assert r.status_code == 503 and r.get_json()["error_code"] == "OVERLOADED"
    assert r.headers["Retry-After"] == "2"
    assert app.extensions["docextract"].admission.snapshot()["active"] == 1
    assert app.test_client().get("/health").status_code == 200
    t.join()
    assert app.test_client().get("/ready").get_json()["checks"]["admission"]["refused"] == 1
    assert results[0].status_code == 200
    assert _post(app.test_client(), "/ocr").status_code == 200  # the slot was given back


def test_stalled_llm_server_gets_504_within_the_request_deadline(silent_server):
    # llm_timeout 30 s per call with 1 retry, 4 fields: without a total deadline up to minutes.
    s = Settings(hard_token="", llm_api_url=silent_server, request_timeout=1.5)
    llm = LLMClient(base_url=silent_server, model="m", timeout=30, max_retries=1)
    app = create_app(s, ocr_engine=FakeOcrEngine(), llm_client=llm)
    data = {"image_file": (io.BytesIO(png_bytes()), "a.png"),
            "config": json.dumps({"info": {k: f"the {k}" for k in ("a", "b", "c", "d")}, "batch_size": 2})}
    start = time.monotonic()
    r = app.test_client().post("/extract", data=data, content_type="multipart/form-data")
    assert time.monotonic() - start < 3.0
    assert r.status_code == 504 and r.get_json()["error_code"] == "LLM_TIMEOUT"


def test_open_circuit_answers_503_with_retry_after():
    s = Settings(hard_token="", llm_api_url=f"http://127.0.0.1:{free_port()}/v1", llm_max_retries=0,
                 llm_breaker_failures=1, llm_breaker_reset_timeout=30)
    app = create_app(s, ocr_engine=FakeOcrEngine())
    client = app.test_client()
    first = _post(client)  # a real connection failure, which opens the circuit: retry after the reset time
    assert first.status_code == 503 and first.headers["Retry-After"] == "30"
    second = _post(client)
    assert second.status_code == 503 and second.get_json()["error_code"] == "LLM_UNAVAILABLE"
    assert 1 <= int(second.headers["Retry-After"]) <= 30
    assert client.get("/ready").get_json()["checks"]["llm"]["circuit"] == "open"


# ------------------------------------------------------------------ warming a new LLM server (app/llm/warmup.py)


def test_warm_up_sends_one_one_token_completion_without_document_text():
    from app.llm.warmup import WARMUP_PROMPT, warm_up

    fake = FakeOpenAI(lambda kind, kw: ",")
    seconds = warm_up(LLMClient(base_url="http://fake/v1", model="m", client=fake), timeout=7)
    assert seconds >= 0
    assert len(fake.requests) == 1
    kind, kw = fake.requests[0]
    assert kind == "completion" and kw["prompt"] == WARMUP_PROMPT and kw["max_tokens"] == 1 and kw["timeout"] == 7


def test_warm_up_cli_fails_softly_on_a_dead_server(monkeypatch, capsys):
    from app.llm import warmup

    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))
    port = dead.getsockname()[1]
    dead.close()  # nothing listens there now
    monkeypatch.setenv("LLM_API_URL", f"http://127.0.0.1:{port}/v1")
    assert warmup.main() == 1
    assert "LLM_UNAVAILABLE" in capsys.readouterr().err
