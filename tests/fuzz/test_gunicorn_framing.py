"""Malformed HTTP framing under the real server (gunicorn with deploy/gunicorn.conf.py):
a bad chunked body was ``500 SYSTEM_ERROR`` (gunicorn's ``InvalidChunkSize`` raised from
the body stream while Flask read the form). The app has fakes for OCR and LLM."""

from __future__ import annotations

import json
import socket

import pytest

from tests.conftest import stop
from tests.e2e.test_http import TOKEN, start_gunicorn


@pytest.fixture(scope="module")
def fake_api(tmp_path_factory):
    pytest.importorskip("gunicorn")
    base, proc = start_gunicorn(tmp_path_factory, "tests.fuzz.apps:fake_app()")
    yield base
    stop(proc)


def raw_request(base: str, body: bytes, headers: str) -> tuple[int, bytes]:
    host, port = base.removeprefix("http://").split(":")
    head = (f"POST /ocr HTTP/1.1\r\nHost: {host}\r\nX-API-Token: {TOKEN}\r\nConnection: close\r\n"
            f"Content-Type: multipart/form-data; boundary=b\r\n{headers}\r\n").encode()
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(head + body)
        sock.shutdown(socket.SHUT_WR)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    status = int(data.split(b" ", 2)[1])
    return status, data


PART = b'--b\r\nContent-Disposition: form-data; name="image_file"; filename="a.png"\r\n\r\n\x89PNG\r\n--b--\r\n'


@pytest.mark.parametrize("name,body", [
    ("bad-chunk-size", b"zz\r\n" + PART + b"\r\n0\r\n\r\n"),
    ("chunk-longer-than-sent", b"%x\r\n" % (len(PART) + 5000) + PART),
    ("missing-chunk-terminator", b"%x\r\n" % len(PART) + PART + b"XX0\r\n\r\n"),
    ("no-last-chunk", b"%x\r\n" % len(PART) + PART + b"\r\n"),
])
def test_malformed_chunked_body_is_never_5xx(fake_api, name, body):
    status, data = raw_request(fake_api, body, "Transfer-Encoding: chunked\r\n")
    assert status < 500, (name, data[:500])
    if b"application/json" in data.split(b"\r\n\r\n", 1)[0]:
        assert b'"success":false' in data.replace(b" ", b"") and b"SYSTEM_ERROR" not in data


def test_valid_chunked_body_still_works(fake_api):
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 32), (255, 255, 255)).save(buf, format="PNG")
    part = (b'--b\r\nContent-Disposition: form-data; name="image_file"; filename="a.png"\r\n\r\n' + buf.getvalue()
            + b"\r\n--b--\r\n")
    status, data = raw_request(fake_api, b"%x\r\n" % len(part) + part + b"\r\n0\r\n\r\n", "Transfer-Encoding: chunked\r\n")
    assert status == 200, data[:500]


def raw_exchange(base: str, raw: bytes) -> tuple[int, dict, bytes]:
    """Send ``raw`` bytes as they are; return the status, the headers (lower-case names) and the body."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(raw)
        sock.shutdown(socket.SHUT_WR)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict((k.strip().lower(), v.strip()) for k, v in (line.split(":", 1) for line in lines[1:]))
    return int(lines[0].split(" ", 2)[1]), headers, body


OK_HEAD = "GET /health HTTP/1.1\r\nHost: x\r\n"


# Requests gunicorn's own parser refuses before the app sees them. It used to answer
# each with an HTML page of its own (text/html, "<h1><p>Bad Request</p></h1>").
@pytest.mark.parametrize("name,raw,status,code", [
    ("bad-request-line", b"GARBAGE\r\n\r\n", 400, "MALFORMED_REQUEST"),
    ("bad-method", b"G@T /health HTTP/1.1\r\nHost: x\r\n\r\n", 400, "MALFORMED_REQUEST"),
    ("bad-http-version", b"GET /health HTTP/9.x\r\nHost: x\r\n\r\n", 400, "MALFORMED_REQUEST"),
    ("space-in-header-name", (OK_HEAD + "Bad Header: y\r\n\r\n").encode(), 400, "MALFORMED_REQUEST"),
    ("header-without-colon", (OK_HEAD + "NoColonHere\r\n\r\n").encode(), 400, "MALFORMED_REQUEST"),
    ("obsolete-line-folding", (OK_HEAD + "X-A: b\r\n  folded\r\n\r\n").encode(), 400, "MALFORMED_REQUEST"),
    ("content-length-not-a-number", (OK_HEAD + "Content-Length: abc\r\n\r\n").encode(), 400, "MALFORMED_REQUEST"),
    ("request-line-too-long", ("GET /" + "a" * 5000 + " HTTP/1.1\r\nHost: x\r\n\r\n").encode(), 414,
     "REQUEST_LINE_TOO_LONG"),
    ("too-many-headers", (OK_HEAD + "".join(f"X-H{i}: v\r\n" for i in range(150)) + "\r\n").encode(), 431,
     "HEADERS_TOO_LARGE"),
    ("header-field-too-large", (OK_HEAD + "X-Big: " + "v" * 9000 + "\r\n\r\n").encode(), 431, "HEADERS_TOO_LARGE"),
    ("unsupported-transfer-coding", (OK_HEAD + "Transfer-Encoding: br, chunked\r\n\r\n").encode(), 400,
     "UNSUPPORTED_TRANSFER_CODING"),
    ("unknown-expectation", (OK_HEAD + "Expect: teapot\r\n\r\n").encode(), 417, "EXPECTATION_FAILED"),
])
def test_requests_gunicorn_refuses_get_the_json_error_shape(fake_api, name, raw, status, code):
    got, headers, body = raw_exchange(fake_api, raw)
    assert got == status, (name, body[:300])
    assert headers["content-type"] == "application/json", (name, headers)
    assert b"<html" not in body.lower()
    answer = json.loads(body)
    assert answer["success"] is False and answer["error_code"] == code, (name, answer)
    assert answer["message"] and len(answer["message"]) < 300, answer
    assert answer["trace_id"] == headers["x-trace-id"] and len(answer["trace_id"]) == 32
    assert headers["x-content-type-options"] == "nosniff" and headers["cache-control"] == "no-store"
    assert int(headers["content-length"]) == len(body)
    # The worker is unharmed: the next request is served.
    assert raw_exchange(fake_api, (OK_HEAD + "Connection: close\r\n\r\n").encode())[0] == 200


def test_a_long_request_target_is_not_echoed_whole(fake_api):
    _, _, body = raw_exchange(fake_api, ("GET /" + "x" * 5000 + " HTTP/1.1\r\nHost: x\r\n\r\n").encode())
    assert len(body) < 1000 and "x" * 100 not in json.loads(body)["message"]
