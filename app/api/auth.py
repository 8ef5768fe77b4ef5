"""Token authentication for the API routes.

The token comes in header ``X-API-Token`` or form field ``hard_token`` and is
compared with ``HARD_TOKEN`` in constant time (:func:`tokens_match`).
An empty ``HARD_TOKEN`` disables auth (``create_app`` logs a warning).
"""

from __future__ import annotations

import hashlib
import hmac

from flask import current_app, request

from app.errors import Unauthorized


def tokens_match(given: str, expected: str) -> bool:
    """Compare a presented token with the configured one in constant time.

    Both are hashed with SHA-256 first, so the comparison
    (:func:`hmac.compare_digest`) takes the same time whatever the presented
    token's length or content (``compare_digest`` alone may reveal the length).
    For every door that checks ``HARD_TOKEN`` (HTTP here; gRPC and the UI use it too).

    Args:
        given: the token the caller sent.
        expected: ``HARD_TOKEN`` (non-empty).
    """
    a = hashlib.sha256(given.encode("utf-8", "surrogateescape")).digest()
    b = hashlib.sha256(expected.encode("utf-8", "surrogateescape")).digest()
    return hmac.compare_digest(a, b)


def require_token() -> None:
    """``before_request`` hook: raise :class:`Unauthorized` unless the token matches."""
    expected = current_app.extensions["docextract"].settings.hard_token
    if not expected:
        return
    given = request.headers.get("X-API-Token")
    if given is None:
        given = request.form.get("hard_token")
    if given is None:
        raise Unauthorized("Missing API token: send header X-API-Token or form field hard_token")
    if not tokens_match(given, expected):
        raise Unauthorized("Invalid API token")
