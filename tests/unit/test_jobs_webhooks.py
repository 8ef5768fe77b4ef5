"""Webhooks: Standard Webhooks signatures verified by the sample receiver,
retries, 410, the delivery log, and the SSRF guard (address check + pinning)."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from standardwebhooks.webhooks import Webhook

from app.config import Settings
from app.errors import UnsafeUrl
from app.jobs.webhooks import WebhookSender, check_url, http_session
from bench.webhook_receiver import make_handler
from tests.unit.test_jobs import SECRET, make_app, submit, wait_done


@pytest.fixture
def receiver(tmp_path):
    """The sample receiver (bench/webhook_receiver.py) on a free port; yields (url, log path)."""
    log = tmp_path / "events.jsonl"
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(SECRET, str(log)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", log
    server.shutdown()


class Scripted(BaseHTTPRequestHandler):
    """Answers with the next status of ``statuses`` and records each request."""

    statuses: list[int] = []
    seen: list[dict] = []

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["content-length"]))
        type(self).seen.append({"headers": {k.lower(): v for k, v in self.headers.items()}, "body": body})
        self.send_response(type(self).statuses.pop(0) if type(self).statuses else 204)
        if self.path == "/redirect":
            self.send_header("Location", "http://127.0.0.1:9/")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def scripted():
    handler = type("H", (Scripted,), {"statuses": [], "seen": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()


def test_job_webhook_verified_by_sample_receiver(tmp_path, receiver):
    url, log = receiver
    app = make_app(tmp_path, webhook_secret=SECRET, webhook_allow_private=True)
    client = app.test_client()
    job = wait_done(client, submit(client, files=1, callback_url=url).get_json()["status_url"])
    deadline = time.monotonic() + 10
    while not (log.exists() and log.read_text().endswith("\n")) and time.monotonic() < deadline:
        time.sleep(0.05)
    events = [json.loads(x) for x in log.read_text().splitlines()]
    assert len(events) == 1 and events[0]["verified"]
    event = events[0]["event"]
    assert event["type"] == "job.succeeded" and event["job_id"] == job["job_id"]
    assert event["review_status"] == job["review_status"]
    assert event["data"]["results"][0]["extracted_fields"]["shop"] == "MINI MART ABC"
    detail = client.get(job["status_url"]).get_json()
    assert events[0]["webhook_id"] == detail["webhook"]["webhook_id"]
    assert [d["delivered"] for d in detail["webhook"]["deliveries"]] == [True]
    app.extensions["docextract_jobs"].stop()


def test_retries_on_5xx_with_the_same_webhook_id(tmp_path, scripted):
    base, handler = scripted
    handler.statuses = [500, 503]
    app = make_app(tmp_path, webhook_secret=SECRET, webhook_allow_private=True, job_retry_backoff=0.05)
    client = app.test_client()
    job = wait_done(client, submit(client, files=1, callback_url=base + "/hook").get_json()["status_url"])
    deadline = time.monotonic() + 10
    while len(handler.seen) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(handler.seen) == 3
    ids = {s["headers"]["webhook-id"] for s in handler.seen}
    assert ids == {f"msg_{job['job_id']}"}
    verifier = Webhook(SECRET)
    for s in handler.seen:
        assert verifier.verify(s["body"], s["headers"])["job_id"] == job["job_id"]
    time.sleep(0.2)
    log = client.get(job["status_url"]).get_json()["webhook"]["deliveries"]
    assert [(d["status_code"], d["delivered"]) for d in log] == [(500, False), (503, False), (204, True)]
    app.extensions["docextract_jobs"].stop()


def test_410_stops_and_redirects_are_not_followed(scripted):
    base, handler = scripted
    sender = WebhookSender(Settings(webhook_secret=SECRET, webhook_allow_private=True))
    handler.statuses = [410, 302]
    gone = sender.send(base + "/hook", "msg_1", {"a": 1})
    assert not gone.delivered and not gone.retry and gone.status_code == 410
    moved = sender.send(base + "/redirect", "msg_1", {"a": 1})
    assert not moved.delivered and len(handler.seen) == 2  # the redirect target was never asked


def test_signature_is_standard_webhooks_v1(scripted):
    base, handler = scripted
    WebhookSender(Settings(webhook_secret=SECRET, webhook_allow_private=True)).send(base, "msg_x", {"k": "é"})
    headers, body = handler.seen[0]["headers"], handler.seen[0]["body"]
    assert headers["webhook-signature"].startswith("v1,") and headers["webhook-id"] == "msg_x"
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 60
    assert Webhook(SECRET).verify(body, headers) == {"k": "é"}
    tampered = dict(headers, **{"webhook-id": "msg_y"})
    with pytest.raises(Exception):
        Webhook(SECRET).verify(body, tampered)


@pytest.mark.parametrize("url", ["http://127.0.0.1/", "http://localhost:80/", "http://10.1.2.3/",
                                 "http://192.168.0.1/", "http://169.254.169.254/", "http://[::1]/",
                                 "http://[fe80::1]/", "http://100.64.0.1/", "http://0.0.0.0/",
                                 "ftp://example.com/", "http:///x"])
def test_check_url_refuses_non_global(url):
    with pytest.raises(UnsafeUrl):
        check_url(url, allow_private=False)


def test_check_url_allows_global_and_private_when_told(monkeypatch):
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: [(socket.AF_INET, socket.SOCK_STREAM, 6, "",
                                                                  ("93.184.215.14", 443))])
    check_url("https://example.com/hook", allow_private=False)
    check_url("http://10.0.0.5/hook", allow_private=True)


def test_connection_pinned_to_checked_address(monkeypatch, scripted):
    """DNS rebinding: the host passes the check, then resolves to loopback at connect
    time; requests-hardened checks the address it connects to and refuses."""
    base, handler = scripted
    port = int(base.rsplit(":", 1)[1])
    real = socket.getaddrinfo
    answers = iter([[(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port))]])

    def rebinding(host, *args, **kwargs):
        if host == "hooks.example.test":
            return next(answers, real("127.0.0.1", port, type=socket.SOCK_STREAM))
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    outcome = WebhookSender(Settings(webhook_secret=SECRET)).send(f"http://hooks.example.test:{port}/", "m", {})
    assert not outcome.delivered and "non-public" in (outcome.error or "")
    assert handler.seen == []
    session = http_session(Settings())
    with pytest.raises(Exception):
        session.get(base)  # loopback refused by the pinned-connection filter itself
