"""Slow and idle connections against the real server (gunicorn + deploy/gunicorn.conf.py,
the app with fake OCR and LLM): requests are received in the worker's event loop
(app/serving/worker.py), so connections that trickle, idle or never speak hold no
request thread (issue #25). One worker with 4 threads, CLIENT_READ_TIMEOUT 2 s."""

from __future__ import annotations

import io
import json
import socket
import time

import pytest

from tests.conftest import stop
from tests.e2e.test_http import TOKEN, start_gunicorn

THREADS = 4


@pytest.fixture(scope="module")
def slow_api(tmp_path_factory):
    pytest.importorskip("gunicorn")
    base, proc = start_gunicorn(tmp_path_factory, "tests.fuzz.apps:fake_app()", CLIENT_READ_TIMEOUT="2",
                                GUNICORN_THREADS=str(THREADS))
    yield base
    stop(proc)


def _address(base: str) -> tuple[str, int]:
    host, port = base.removeprefix("http://").split(":")
    return host, int(port)


def _read_all(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def _png() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 32), (255, 255, 255)).save(buf, format="PNG")
    return buf.getvalue()


def _multipart(payload: bytes) -> bytes:
    return (b'--b\r\nContent-Disposition: form-data; name="image_file"; filename="a.png"\r\n\r\n' + payload
            + b"\r\n--b--\r\n")


def _head(length: int, extra: str = "") -> bytes:
    return (f"POST /ocr HTTP/1.1\r\nHost: x\r\nX-API-Token: {TOKEN}\r\nConnection: close\r\n"
            f"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: {length}\r\n{extra}\r\n").encode()


def test_probe_answers_while_many_more_uploads_than_threads_trickle(slow_api):
    """Five times the thread count in stalled uploads and silent connections: /health still answers at once."""
    opened = []
    try:
        for i in range(5 * THREADS):
            sock = socket.create_connection(_address(slow_api), timeout=10)
            if i % 2:  # an upload that has sent its headers and the first bytes of its body
                sock.sendall(_head(100_000) + b"--b\r\n")
            opened.append(sock)  # the others never send a byte
        time.sleep(0.5)
        with socket.create_connection(_address(slow_api), timeout=10) as probe:
            probe.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            answer = _read_all(probe)
        assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
    finally:
        for sock in opened:
            sock.close()


def test_live_slow_upload_is_received_whole(slow_api):
    """A body sent in pieces with pauses under CLIENT_READ_TIMEOUT (2 s) but longer than it in total: 200."""
    body = _multipart(_png())
    with socket.create_connection(_address(slow_api), timeout=30) as sock:
        sock.sendall(_head(len(body)))
        step = len(body) // 4 + 1
        for i in range(0, len(body), step):
            time.sleep(0.8)
            sock.sendall(body[i:i + step])
        answer = _read_all(sock)
    assert answer.startswith(b"HTTP/1.1 200"), answer[:300]


def test_upload_silent_mid_body_gets_408_request_timeout(slow_api):
    with socket.create_connection(_address(slow_api), timeout=30) as sock:
        sock.sendall(_head(100_000) + b"--b\r\n")
        started = time.monotonic()
        answer = _read_all(sock)
    waited = time.monotonic() - started
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408"), answer[:300]
    assert json.loads(body)["error_code"] == "REQUEST_TIMEOUT"
    assert waited >= 1.5  # cut by the 2 s silence, not at once


def test_expect_100_continue_gets_interim_answer_before_the_body(slow_api):
    body = _multipart(_png())
    with socket.create_connection(_address(slow_api), timeout=30) as sock:
        sock.sendall(_head(len(body), "Expect: 100-continue\r\n"))
        interim = sock.recv(4096)
        assert interim.startswith(b"HTTP/1.1 100 Continue"), interim
        sock.sendall(body)
        answer = interim + _read_all(sock)
    assert b"HTTP/1.1 200" in answer, answer[:300]


def test_body_announced_over_the_limit_is_refused_without_being_sent(slow_api):
    """MAX_REQUEST_MB is 3 here: the app answers 413 from the headers alone."""
    with socket.create_connection(_address(slow_api), timeout=30) as sock:
        sock.sendall(_head(10_000_000))
        answer = _read_all(sock)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413"), answer[:300]
    assert json.loads(body)["error_code"] == "PAYLOAD_TOO_LARGE"


def test_pipelined_and_kept_alive_requests_are_all_answered(slow_api):
    with socket.create_connection(_address(slow_api), timeout=30) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n" * 2)
        time.sleep(0.3)
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        answer = _read_all(sock)
    assert answer.count(b"HTTP/1.1 200") == 3, answer[:600]
