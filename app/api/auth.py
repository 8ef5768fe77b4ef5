"""Token authentication for the API routes.

The token comes in header ``X-API-Token`` or form field ``hard_token`` and is
compared with ``HARD_TOKEN`` in constant time (:func:`tokens_match`); a named
key (``dxk_...``, made by ``python -m app users create``, any role) is accepted
too (:meth:`app.jobs.review_store.UserStore.by_key`).
An empty ``HARD_TOKEN`` disables auth (``create_app`` logs a warning).
"""

from __future__ import annotations

from flask import current_app, request

from app.errors import Unauthorized
from app.tokens import tokens_match

__all__ = ["require_token", "tokens_match"]


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
    if tokens_match(given, expected):
        return
    users = current_app.extensions.get("docextract_users")
    if users is not None and given.startswith("dxk_"):
        current_app.extensions["docextract_jobs"].ensure_ready()
        if users.by_key(given) is not None:
            return
    raise Unauthorized("Invalid API token")
