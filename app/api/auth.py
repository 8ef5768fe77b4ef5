"""Token authentication for the API routes.

The token comes in header ``X-API-Token`` or form field ``hard_token`` and is
compared with ``HARD_TOKEN`` in constant time (:func:`hmac.compare_digest`).
An empty ``HARD_TOKEN`` disables auth (``create_app`` logs a warning).
"""

from __future__ import annotations

import hmac

from flask import current_app, request

from app.errors import Unauthorized


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
    if not hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8")):
        raise Unauthorized("Invalid API token")
