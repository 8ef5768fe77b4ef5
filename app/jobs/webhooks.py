"""Outbound HTTP of the jobs capability: signed webhooks and ``source_url`` downloads.

Signing follows the Standard Webhooks specification
(https://www.standardwebhooks.com/, ``standardwebhooks`` package, MIT):
headers ``webhook-id`` (stable across retries), ``webhook-timestamp`` (Unix
seconds) and ``webhook-signature`` (``v1,`` + base64 HMAC-SHA256 over
``id.timestamp.body`` with the ``whsec_`` secret ``WEBHOOK_SECRET``).

SSRF guard: a URL must be ``http``/``https`` and every address its host
resolves to must be global (not private, loopback, link-local, multicast,
reserved, CG-NAT, ...; :func:`check_url`) unless ``WEBHOOK_ALLOW_PRIVATE=true``.
The request itself goes through ``requests-hardened`` (BSD), which resolves the
host again, refuses private and loopback addresses and pins the connection to
the address it checked (TLS still verified against the host name), so a DNS
answer that changes between the check and the connect cannot reach inside.
Redirects are never followed.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import logging
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from app.config import Settings
from app.errors import SourceFetchFailed, UnsafeUrl

log = logging.getLogger(__name__)


def check_url(url: str, *, allow_private: bool) -> None:
    """Refuse a URL the service must not call.

    Args:
        url: an absolute URL given by a client (``callback_url``, ``source_url``).
        allow_private: ``WEBHOOK_ALLOW_PRIVATE``: skip the address check.

    Raises:
        UnsafeUrl: not http(s), no host, credentials in the URL, the host does
            not resolve, or it resolves to a non-global address.
    """
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as e:
        raise UnsafeUrl(f"invalid URL: {e}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeUrl("the URL must be an absolute http:// or https:// URL")
    if parts.username or parts.password:
        raise UnsafeUrl("the URL must not carry credentials")
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise UnsafeUrl(f"the host {parts.hostname!r} does not resolve") from None
    for info in infos:
        ip = ipaddress.ip_address(info[4][0].split("%", 1)[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if not ip.is_global or ip.is_multicast:
            raise UnsafeUrl(f"the host {parts.hostname!r} resolves to a non-public address ({ip}); "
                            "set WEBHOOK_ALLOW_PRIVATE=true to allow private networks")


def http_session(settings: Settings):
    """A ``requests.Session`` with the SSRF filter, no redirects and timeouts.

    Returns:
        ``requests_hardened.HTTPSession`` (a ``requests.Session``).
    """
    from requests_hardened import Config, Manager

    timeout = settings.webhook_timeout
    return Manager(Config(
        ip_filter_enable=not settings.webhook_allow_private,
        ip_filter_allow_loopback_ips=False,
        never_redirect=True,
        default_timeout=(min(5.0, timeout), timeout),
        user_agent_override="docextract-webhooks/1",
    )).get_session()


def fetch_source(settings: Settings, url: str) -> tuple[str, bytes]:
    """Download a job's ``source_url`` (streamed, capped at ``SOURCE_URL_MAX_MB``).

    Returns:
        ``(file name from the URL path, body bytes)``.

    Raises:
        UnsafeUrl: refused by the SSRF guard.
        SourceFetchFailed: network error, non-2xx answer, or over the size cap.
    """
    import requests

    check_url(url, allow_private=settings.webhook_allow_private)
    limit = settings.source_url_max_bytes
    try:
        with http_session(settings) as session, session.get(url, stream=True, allow_redirects=False) as resp:
            if not 200 <= resp.status_code < 300:
                raise SourceFetchFailed(f"source_url answered HTTP {resp.status_code}")
            chunks, size = [], 0
            for chunk in resp.iter_content(64 * 1024):
                size += len(chunk)
                if size > limit:
                    raise SourceFetchFailed(f"source_url is over {limit / 1048576:.1f} MB (SOURCE_URL_MAX_MB)")
                chunks.append(chunk)
    except requests.RequestException as e:
        if type(e).__name__ == "InvalidIPAddress":
            raise UnsafeUrl("source_url resolves to a non-public address") from None
        raise SourceFetchFailed(f"source_url could not be downloaded: {type(e).__name__}") from None
    name = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1] or "source"
    return name, b"".join(chunks)


def payload(job: dict) -> dict:
    """The webhook body of a finished job.

    Returns:
        ``{type: "job.succeeded" | "job.failed" | "job.canceled", job_id,
        document_type, review_status, quality_score, data, error}``; ``data`` is
        the job's result (the ``/extract`` result shape) or None.
    """
    return {"type": f"job.{job['status']}", "job_id": job["id"], "document_type": job.get("document_type"),
            "review_status": job.get("review_status"), "quality_score": job.get("quality_score"),
            "data": job.get("result"), "error": job.get("error")}


@dataclass(frozen=True)
class DeliveryOutcome:
    """One delivery attempt.

    Attributes:
        delivered: the receiver answered 2xx.
        retry: deliver again later (network error, or non-2xx other than 410).
        status_code: the receiver's HTTP status (None on a network error).
        error: short description when not delivered.
        duration_ms: wall time of the attempt.
        refused: the SSRF guard refused the URL (nothing was sent).
    """

    delivered: bool
    retry: bool
    status_code: int | None
    error: str | None
    duration_ms: float
    refused: bool = False


class WebhookSender:
    """Signs and posts job webhooks.

    Args:
        settings: ``WEBHOOK_SECRET`` (``whsec_...``), ``WEBHOOK_TIMEOUT``,
            ``WEBHOOK_ALLOW_PRIVATE``.

    Raises:
        WebhookNotConfigured: (from :meth:`send`) no secret is set.
    """

    def __init__(self, settings: Settings):
        self.settings = settings

    def headers(self, webhook_id: str, body: str, timestamp: dt.datetime | None = None) -> dict[str, str]:
        """Standard Webhooks headers for ``body`` (plus ``content-type``)."""
        from standardwebhooks.webhooks import Webhook

        from app.errors import WebhookNotConfigured

        if not self.settings.webhook_secret:
            raise WebhookNotConfigured()
        timestamp = timestamp or dt.datetime.now(dt.timezone.utc)
        signature = Webhook(self.settings.webhook_secret).sign(webhook_id, timestamp, body)
        return {"webhook-id": webhook_id, "webhook-timestamp": str(int(timestamp.timestamp())),
                "webhook-signature": signature, "content-type": "application/json"}

    def send(self, url: str, webhook_id: str, body: dict) -> DeliveryOutcome:
        """POST ``body`` to ``url`` once; never raises for network or HTTP errors."""
        import requests

        text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        start = time.perf_counter()
        try:
            check_url(url, allow_private=self.settings.webhook_allow_private)
            with http_session(self.settings) as session:
                resp = session.post(url, data=text.encode("utf-8"), headers=self.headers(webhook_id, text),
                                    allow_redirects=False)
            ms = (time.perf_counter() - start) * 1000.0
            if 200 <= resp.status_code < 300:
                return DeliveryOutcome(True, False, resp.status_code, None, ms)
            return DeliveryOutcome(False, resp.status_code != 410, resp.status_code,
                                   f"HTTP {resp.status_code}", ms)
        except UnsafeUrl as e:
            return DeliveryOutcome(False, False, None, e.message, (time.perf_counter() - start) * 1000.0, True)
        except requests.RequestException as e:
            unsafe = type(e).__name__ == "InvalidIPAddress"
            return DeliveryOutcome(False, not unsafe, None,
                                   "refused: non-public address" if unsafe else type(e).__name__,
                                   (time.perf_counter() - start) * 1000.0, unsafe)
