"""Rate limits per API key (Flask-Limiter).

``RATE_LIMIT`` (``limits`` notation: ``60/minute``, ``10/second;500/hour``)
is one budget per client shared by every limited route (Flask-Limiter's
*application limits*), counted in a fixed window. The client is the SHA-256
of its API token (header ``X-API-Token`` or form field ``hard_token``; the
token itself is never stored), or its IP address when it sends none.
Counters live in Redis when ``RATE_LIMIT_STORAGE_URL`` (or ``REDIS_URL``) is
set, so every gunicorn worker and host shares them; in process memory
otherwise (per worker). Health checks, probes, ``/metrics`` and the API
description are never limited. A client over its budget gets
``429 RATE_LIMITED`` in the service's error shape with ``Retry-After``
(seconds) and the ``X-RateLimit-*`` headers.

If the storage fails, requests are let through (``swallow_errors``) and the
failure is logged: a Redis outage must not take the API down.

Source: Flask-Limiter (https://flask-limiter.readthedocs.io/), RFC 6585 s. 4
(429 Too Many Requests), RFC 9110 s. 10.2.3 (Retry-After).
"""

from __future__ import annotations

import hashlib
import logging

from flask import Flask, request

log = logging.getLogger(__name__)

#: Blueprints (name prefixes) and endpoints that are never limited.
EXEMPT_BLUEPRINTS = ("health", "ops", "docs")
EXEMPT_ENDPOINTS = ("ops_metrics", "static")


def client_key() -> str:
    """The rate-limit key of the current request: ``key:<sha256[:32]>`` or ``ip:<address>``."""
    token = request.headers.get("X-API-Token")
    if token is None and request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        token = request.form.get("hard_token")
    if token:
        return "key:" + hashlib.sha256(token.encode("utf-8")).hexdigest()[:32]
    return "ip:" + (request.remote_addr or "unknown")


def _exempt() -> bool:
    blueprint = request.blueprint or ""
    return blueprint.startswith(EXEMPT_BLUEPRINTS) or (request.endpoint or "") in EXEMPT_ENDPOINTS


def init_app(app: Flask, limit: str, storage_url: str = ""):
    """Limit every non-exempt route of ``app`` to ``limit`` per client.

    Args:
        app: the app.
        limit: ``RATE_LIMIT``; empty disables limiting (returns None).
        storage_url: ``redis://host:port/db`` (or any ``limits`` storage URI);
            empty: process memory.

    Returns:
        The :class:`flask_limiter.Limiter`, or None when disabled.
    """
    if not limit:
        return None
    from flask_limiter import Limiter

    limiter = Limiter(
        client_key, app=app, application_limits=[limit], storage_uri=storage_url or "memory://",
        strategy="fixed-window", headers_enabled=True, retry_after="delta-seconds", swallow_errors=True,
        key_prefix="docextract", default_limits_exempt_when=_exempt, application_limits_exempt_when=_exempt)
    limiter.request_filter(_exempt)
    if storage_url:
        from app.observability.http import add_readiness_check

        def _storage_check() -> dict:
            if not limiter.storage.check():
                raise RuntimeError("rate-limit storage does not answer")
            return {"storage": storage_url.split("://", 1)[0]}

        add_readiness_check(app, "rate_limit_storage", _storage_check)
    log.info("rate limit %s per client (%s storage)", limit, "shared" if storage_url else "in-process")
    return limiter
