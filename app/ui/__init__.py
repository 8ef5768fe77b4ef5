"""The review web page (``/ui/``): sign in, try the service, review the queue, correct, approve, export.

A Flask blueprint with its templates and static files in this package (plain
HTML, CSS and a little hand-written JavaScript; no build step, nothing from a
CDN), served by the same gunicorn as the API. Documents, results, corrections
and the audit trail live in the job store (:mod:`app.jobs.review_store`);
uploads go through the jobs service, i.e. the one pipeline. See docs/review-ui.md.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from dataclasses import dataclass

from flask import Flask

from app.config import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class UiServices:
    """What the UI's routes use (``app.extensions["docextract_ui"]``)."""

    users: object
    reviews: object


def init_app(app: Flask, settings: Settings, jobs) -> bool:
    """Register the UI on ``app`` when it can run safely.

    Sessions are signed with ``SECRET_KEY``; without one the UI is not mounted
    (``/ui/`` answers 503 saying why) unless ``UI_INSECURE_DEV`` asks for a random
    per-process key. Cookies: HttpOnly, SameSite=Lax, Secure when
    ``SESSION_COOKIE_SECURE``. Every form and JSON post is CSRF-checked (Flask-WTF).

    Args:
        app: the Flask app.
        settings: run-time settings.
        jobs: the :class:`app.jobs.service.JobService` (its store holds the UI's tables).

    Returns:
        True when the UI was mounted.
    """
    if not settings.ui_enabled:
        return False
    secret = settings.secret_key
    if not secret:
        if not settings.ui_insecure_dev:
            log.warning("review UI not started: SECRET_KEY is empty (set it, or UI_INSECURE_DEV=true for development)")
            _mount_refusal(app)
            return False
        log.warning("review UI: UI_INSECURE_DEV=true, using a random SECRET_KEY (sessions end on restart)")
        secret = secrets.token_hex(32)
    from flask_wtf.csrf import CSRFProtect

    from app.jobs.review_store import ReviewStore, UserStore
    from app.ui.views import ui

    app.config.update(
        SECRET_KEY=secret,
        SESSION_COOKIE_NAME="docextract_ui",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.session_cookie_secure,
        SESSION_COOKIE_PATH="/ui",
        PERMANENT_SESSION_LIFETIME=dt.timedelta(seconds=settings.ui_session_lifetime),
        # CSRF only where the UI asks for it (the API authenticates with a header token, not a cookie)
        WTF_CSRF_CHECK_DEFAULT=False,
        WTF_CSRF_TIME_LIMIT=int(settings.ui_session_lifetime),
        WTF_CSRF_SSL_STRICT=True,
    )
    CSRFProtect(app)
    app.extensions["docextract_ui"] = UiServices(app.extensions.get("docextract_users") or UserStore(jobs.store),
                                                  ReviewStore(jobs.store))
    app.register_blueprint(ui)
    return True


def _mount_refusal(app: Flask) -> None:
    from flask import Blueprint

    off = Blueprint("ui_off", __name__, url_prefix="/ui")

    @off.route("/", defaults={"rest": ""})
    @off.route("/<path:rest>")
    def refused(rest: str):
        from app.api.errors import error_response
        from app.errors import ServiceNotReady

        return error_response(ServiceNotReady("The review UI is off: the operator must set SECRET_KEY"))

    app.register_blueprint(off)
