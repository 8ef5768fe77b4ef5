"""A real HTTP server on a loopback port, in a thread, for the fuzz suite.

``serve(app)`` runs Werkzeug's threaded WSGI server (``make_server``) on
``127.0.0.1:0`` and yields its base URL; the server is shut down on exit.
"""

from __future__ import annotations

import contextlib
import re
import threading
from typing import Iterator

from werkzeug.serving import make_server

from app import errors

_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


@contextlib.contextmanager
def serve(app) -> Iterator[str]:
    """Serve ``app`` on a free loopback port; yields ``http://127.0.0.1:PORT``."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="fuzz-http", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


def documented_codes() -> set[str]:
    """Every ``error_code`` of the exception tree (``app/errors.py``)."""
    codes, stack = set(), [errors.ServiceError]
    while stack:
        cls = stack.pop()
        codes.add(cls.code)
        stack.extend(cls.__subclasses__())
    return codes


def check_response(response, case_name: str, max_body: int = 64 * 1024) -> dict:
    """Assert the service's contract on one response; return its JSON body.

    * status below 500;
    * a JSON object; a failure is ``{success: false, message, error_code, trace_id}``
      with a documented ``error_code``; a success has ``data.results``;
    * the body of a failure is at most ``max_body`` bytes (oversized input is
      never echoed back whole);
    * no traceback or server path in the body;
    * valid UTF-8 holding no escaped UTF-16 surrogate (``\\ud83d``: JSON that
      strict decoders and PostgreSQL refuse).
    """
    assert response.status_code < 500, f"{case_name}: {response.status_code} {response.text[:500]}"
    response.content.decode("utf-8")  # strict
    assert not _SURROGATE_ESCAPE.search(response.text), f"{case_name}: a surrogate escaped in the body"
    for leak in ("Traceback", 'File "/', "site-packages"):
        assert leak not in response.text, f"{case_name}: the body leaks {leak!r}"
    try:
        body = response.json()
    except ValueError:
        raise AssertionError(f"{case_name}: not JSON: {response.status_code} {response.text[:300]}") from None
    assert isinstance(body, dict), case_name
    if response.status_code >= 400:
        assert body.get("success") is False, f"{case_name}: {body}"
        assert {"message", "error_code", "trace_id"} <= set(body), f"{case_name}: {body}"
        assert body["error_code"] in documented_codes(), f"{case_name}: undocumented {body['error_code']}"
        assert isinstance(body["message"], str) and body["message"], case_name
        assert len(response.content) <= max_body, f"{case_name}: {len(response.content)}-byte error body"
        for result in (body.get("data") or {}).get("results", []):
            assert result.get("error_code") in documented_codes(), f"{case_name}: {result}"
    else:
        assert body.get("success") is True and "results" in body["data"], f"{case_name}: {body}"
    return body
