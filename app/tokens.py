"""Constant-time comparison of API tokens, shared by every door (HTTP, gRPC, metrics, UI)."""

from __future__ import annotations

import hashlib
import hmac


def tokens_match(given: str, expected: str) -> bool:
    """Compare a presented token with a configured one in constant time.

    Both are hashed with SHA-256 first, so the comparison
    (:func:`hmac.compare_digest`) takes the same time whatever the presented
    token's length or content (``compare_digest`` alone may reveal the length).

    Args:
        given: the token the caller sent.
        expected: the configured token (non-empty).

    Returns:
        True when they are equal.
    """
    a = hashlib.sha256(given.encode("utf-8", "surrogateescape")).digest()
    b = hashlib.sha256(expected.encode("utf-8", "surrogateescape")).digest()
    return hmac.compare_digest(a, b)
