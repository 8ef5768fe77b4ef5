"""Malformed HTTP framing under the real server (gunicorn with deploy/gunicorn.conf.py):
a bad chunked body was ``500 SYSTEM_ERROR`` (gunicorn's ``InvalidChunkSize`` raised from
the body stream while Flask read the form). The app has fakes for OCR and LLM."""

from __future__ import annotations

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
