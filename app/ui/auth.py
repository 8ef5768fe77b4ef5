"""Sign-in, sessions and roles of the review UI.

A person signs in with a name and an API key (``python -m app users create NAME
--role reviewer`` prints one); ``HARD_TOKEN`` is accepted as the key of the
built-in ``client`` account. The session is Flask's signed cookie (``SECRET_KEY``);
it holds the user's name and role, and each request checks that the account still
exists and is enabled (a disabled key ends its sessions at once).

Roles, each including the one before: ``client`` (try it: upload and see its own
results), ``reviewer`` (queue, review, export), ``admin`` (the user list as well).
"""

from __future__ import annotations

import functools

from flask import current_app, g, redirect, request, session, url_for

from app.tokens import tokens_match
from app.errors import Forbidden, Unauthorized

ROLE_RANK = {"client": 0, "reviewer": 1, "admin": 2}
#: the account ``HARD_TOKEN`` signs in as
HARD_TOKEN_USER = "client"


def users():
    return current_app.extensions["docextract_ui"].users


def sign_in(name: str, key: str) -> dict | None:
    """The account for ``name`` + ``key`` (``{name, role}``), or None.

    ``HARD_TOKEN`` (compared in constant time) signs in as ``client`` when
    no named account matches.
    """
    name, key = (name or "").strip(), key or ""
    if not key:
        return None
    user = users().verify(name, key) if name else None
    if user is not None:
        return {"name": user["name"], "role": user["role"]}
    hard = current_app.extensions["docextract"].settings.hard_token
    if hard and tokens_match(key, hard) and name in ("", HARD_TOKEN_USER):
        return {"name": HARD_TOKEN_USER, "role": "client"}
    return None


def current_user() -> dict | None:
    """The signed-in account (``{name, role}``), or None; cached on ``g`` for the request."""
    if "ui_user" in g:
        return g.ui_user
    data = session.get("user")
    user = None
    if isinstance(data, dict) and data.get("role") in ROLE_RANK:
        if data.get("builtin"):
            user = {"name": HARD_TOKEN_USER, "role": "client"}
        else:
            current_app.extensions["docextract_jobs"].ensure_ready()  # schema migrated (once per process)
            row = users().get(str(data.get("name")))
            if row is not None and not row["disabled"]:
                user = {"name": row["name"], "role": row["role"]}
    g.ui_user = user
    return user


def login_session(user: dict) -> None:
    """Start a fresh session for ``user`` (clearing the old one: no session fixation)."""
    session.clear()
    session.permanent = True
    session["user"] = {"name": user["name"], "role": user["role"],
                       "builtin": user["name"] == HARD_TOKEN_USER and user["role"] == "client"}
    session["mine"] = []


def has_role(user: dict | None, role: str) -> bool:
    return user is not None and ROLE_RANK[user["role"]] >= ROLE_RANK[role]


def require(role: str):
    """View decorator: sign-in page for no session, 403 for a lower role."""
    def wrap(view):
        @functools.wraps(view)
        def inner(*args, **kwargs):
            user = current_user()
            if user is None:
                if request.method == "GET" and not request.path.startswith("/ui/api/"):
                    return redirect(url_for("ui.index", next=request.full_path.rstrip("?")))
                raise Unauthorized("Sign in first")
            if not has_role(user, role):
                raise Forbidden(f"This needs the {role} role; you are signed in as {user['role']}")
            return view(*args, **kwargs)
        return inner
    return wrap
