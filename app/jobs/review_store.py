"""Accounts, reviews and the audit trail of the review UI (``app/ui``), in the job store's database.

Three tables beside ``jobs`` (Alembic revision ``0002``):

* ``ui_users``: named API keys with a role (``admin``, ``reviewer``, ``client``);
  only a salted scrypt hash of each key is kept (:func:`werkzeug.security.generate_password_hash`).
* ``reviews``: one row per reviewed document (a job's file): its review status and
  the reviewer's **corrected output**. The model's output in ``jobs.result`` is never
  changed: the corrected values live here and overlay it.
* ``review_audit``: one row per change (who, when, action, field, before, after).

Keys look like ``dxk_<key id>_<secret>``: the key id (8 hex digits) finds the row,
so checking an API key costs one hash, whoever presents it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import threading
import time
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, UniqueConstraint, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from app.jobs.store import Base, JobStore, iso, utcnow

ROLES = ("admin", "reviewer", "client")
#: review statuses a reviewer sets (the job's own routing gives approved / manual_review)
REVIEW_STATUSES = ("approved", "rejected", "manual_review")
_KEY_PREFIX = "dxk_"
# Checked when a name is unknown, so a wrong name costs the same time as a wrong key.
_DUMMY_HASH = generate_password_hash("dxk_00000000_not-a-key", method="scrypt")


class UiUser(Base):
    """A named API key (``ui_users`` table)."""

    __tablename__ = "ui_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    key_id: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(255))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class Review(Base):
    """A reviewer's decision and corrected output for one document (``reviews`` table)."""

    __tablename__ = "reviews"
    __table_args__ = (UniqueConstraint("job_id", "file_index", name="uq_reviews_job_file"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    file_index: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), index=True)
    #: ``{"fields": {key: {"value", "normalized"}}, "line_items": [...]?}``: only what a person changed
    corrected: Mapped[dict] = mapped_column(JSON, default=dict)
    reviewed_by: Mapped[str | None] = mapped_column(String(64))
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime)


class ReviewAudit(Base):
    """One change made by a person (``review_audit`` table)."""

    __tablename__ = "review_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    file_index: Mapped[int] = mapped_column(Integer)
    at: Mapped[dt.datetime] = mapped_column(DateTime)
    user: Mapped[str] = mapped_column(String(64))
    #: ``edit`` (a field), ``line_items``, ``approve``, ``reject``, ``reopen``
    action: Mapped[str] = mapped_column(String(16))
    field: Mapped[str | None] = mapped_column(String(128))
    before: Mapped[Any] = mapped_column(JSON, nullable=True)
    after: Mapped[Any] = mapped_column(JSON, nullable=True)


def _user_dict(u: UiUser) -> dict:
    return {"id": u.id, "name": u.name, "role": u.role, "disabled": u.disabled, "created_at": iso(u.created_at)}


class UserStore:
    """Create and check named API keys.

    Args:
        store: the job store (its database and sessions).
    """

    #: seconds an API key's check is remembered (a disabled key stops working within this time)
    CACHE_SECONDS = 30.0

    def __init__(self, store: JobStore):
        self.store = store
        self._cache: dict[bytes, tuple[dict | None, float]] = {}
        self._lock = threading.Lock()

    def create(self, name: str, role: str) -> str:
        """Create a user and return its key (shown once; only its hash is stored).

        Raises:
            ValueError: unknown role, bad name, or the name is taken.
        """
        name = (name or "").strip()
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        if not name or len(name) > 64 or not name.isprintable():
            raise ValueError("name must be 1..64 printable characters")
        key_id = secrets.token_hex(4)
        key = f"{_KEY_PREFIX}{key_id}_{secrets.token_urlsafe(24)}"
        try:
            with self.store.session() as s:
                s.add(UiUser(name=name, role=role, key_id=key_id, disabled=False, created_at=utcnow(),
                             key_hash=generate_password_hash(key, method="scrypt")))
        except IntegrityError:
            raise ValueError(f"a user named {name!r} exists") from None
        return key

    def list(self) -> list[dict]:
        with self.store.session() as s:
            return [_user_dict(u) for u in s.scalars(select(UiUser).order_by(UiUser.name)).all()]

    def get(self, name: str) -> dict | None:
        """The user called ``name`` (enabled or not), or None."""
        with self.store.session() as s:
            user = s.scalars(select(UiUser).where(UiUser.name == name)).first()
            return _user_dict(user) if user else None

    def set_disabled(self, name: str, disabled: bool = True) -> bool:
        """Disable (or enable) a user; False when there is none of that name."""
        with self.store.session() as s:
            user = s.scalars(select(UiUser).where(UiUser.name == name)).first()
            if user is None:
                return False
            user.disabled = disabled
        with self._lock:
            self._cache.clear()  # this process at once; others within CACHE_SECONDS
        return True

    def verify(self, name: str, key: str) -> dict | None:
        """The user when ``name`` and ``key`` match an enabled user, else None.
        The hash comparison is constant-time (werkzeug uses :func:`hmac.compare_digest`)."""
        with self.store.session() as s:
            user = s.scalars(select(UiUser).where(UiUser.name == (name or "").strip())).first()
            ok = check_password_hash(user.key_hash if user else _DUMMY_HASH, key or "")
            return _user_dict(user) if ok and user is not None and not user.disabled else None

    def by_key(self, key: str) -> dict | None:
        """The enabled user whose key this is (API tokens), else None.

        The outcome is remembered for :attr:`CACHE_SECONDS` under the key's SHA-256
        (one scrypt check per key and half minute, not per request)."""
        digest = hashlib.sha256(key.encode("utf-8", "surrogateescape")).digest()
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(digest)
        if hit is not None and hit[1] > now:
            return hit[0]
        user = self._check_key(key)
        with self._lock:
            if len(self._cache) > 1000:
                self._cache.clear()
            self._cache[digest] = (user, now + self.CACHE_SECONDS)
        return user

    def _check_key(self, key: str) -> dict | None:
        key_id = key[len(_KEY_PREFIX):len(_KEY_PREFIX) + 8] if key.startswith(_KEY_PREFIX) else ""
        with self.store.session() as s:
            user = s.scalars(select(UiUser).where(UiUser.key_id == key_id)).first() if key_id else None
            ok = check_password_hash(user.key_hash if user else _DUMMY_HASH, key)
            return _user_dict(user) if ok and user is not None and not user.disabled else None


class ReviewStore:
    """Reviews (corrected output, status) and the audit trail of documents.

    A document is one file of a job: ``(job_id, file_index)``.
    """

    def __init__(self, store: JobStore):
        self.store = store

    @staticmethod
    def _dict(r: Review) -> dict:
        return {"job_id": r.job_id, "file_index": r.file_index, "status": r.status, "corrected": r.corrected or {},
                "reviewed_by": r.reviewed_by, "reviewed_at": iso(r.reviewed_at), "updated_at": iso(r.updated_at)}

    def get(self, job_id: str, index: int) -> dict | None:
        with self.store.session() as s:
            r = s.scalars(select(Review).where(Review.job_id == job_id, Review.file_index == index)).first()
            return self._dict(r) if r else None

    def all(self, job_ids: list[str] | None = None) -> dict[tuple[str, int], dict]:
        """Reviews keyed by ``(job_id, file_index)`` (of ``job_ids`` when given)."""
        query = select(Review)
        if job_ids is not None:
            query = query.where(Review.job_id.in_(job_ids))
        with self.store.session() as s:
            return {(r.job_id, r.file_index): self._dict(r) for r in s.scalars(query).all()}

    def change(self, job_id: str, index: int, user: str, *, fields: dict[str, dict] | None = None,
               line_items: list | None = None, status: str | None = None, original: dict | None = None,
               initial_status: str = "manual_review") -> dict:
        """Apply a person's changes in one transaction and log each in the audit trail.

        Args:
            fields: key -> ``{"value", "normalized"}`` (already validated by the caller).
            line_items: the whole corrected table, when it changed.
            status: ``approved`` / ``rejected`` / ``manual_review`` (reopen), or None.
            original: the model's per-file result (the ``before`` of a first edit).
            initial_status: the status of a document without a review row yet.

        Returns:
            The review row after the change.
        """
        try:
            return self._change(job_id, index, user, fields, line_items, status, original or {}, initial_status)
        except IntegrityError:  # two first edits of one document at once: the other row exists now
            return self._change(job_id, index, user, fields, line_items, status, original or {}, initial_status)

    def _change(self, job_id, index, user, fields, line_items, status, original, initial_status) -> dict:
        now = utcnow()
        with self.store.session() as s:
            r = s.scalars(select(Review).where(Review.job_id == job_id, Review.file_index == index)
                          .with_for_update()).first()
            if r is None:
                r = Review(job_id=job_id, file_index=index, status=initial_status, corrected={}, updated_at=now)
                s.add(r)
            corrected = {"fields": dict((r.corrected or {}).get("fields") or {}),
                         **({"line_items": r.corrected["line_items"]} if (r.corrected or {}).get("line_items")
                            is not None else {})}
            for key, new in (fields or {}).items():
                old = corrected["fields"].get(key) or (original.get("fields") or {}).get(key) or {}
                if old.get("value") == new.get("value"):
                    continue
                corrected["fields"][key] = {"value": new.get("value"), "normalized": new.get("normalized")}
                s.add(ReviewAudit(job_id=job_id, file_index=index, at=now, user=user, action="edit", field=key,
                                  before=old.get("value"), after=new.get("value")))
            if line_items is not None:
                old_items = corrected.get("line_items", original.get("line_items"))
                if old_items != line_items:
                    corrected["line_items"] = line_items
                    s.add(ReviewAudit(job_id=job_id, file_index=index, at=now, user=user, action="line_items",
                                      field="line_items", before=old_items, after=line_items))
            r.corrected = corrected
            if status is not None and status != r.status:
                action = {"approved": "approve", "rejected": "reject"}.get(status, "reopen")
                s.add(ReviewAudit(job_id=job_id, file_index=index, at=now, user=user, action=action,
                                  field=None, before=r.status, after=status))
                r.status = status
                r.reviewed_by, r.reviewed_at = user, now
            r.updated_at = now
            s.flush()
            return self._dict(r)

    def audit(self, job_id: str, index: int | None = None) -> list[dict]:
        """The audit trail, oldest first: ``[{at, user, action, field, before, after, file_index}]``."""
        query = select(ReviewAudit).where(ReviewAudit.job_id == job_id)
        if index is not None:
            query = query.where(ReviewAudit.file_index == index)
        with self.store.session() as s:
            return [{"at": iso(a.at), "user": a.user, "action": a.action, "field": a.field, "before": a.before,
                     "after": a.after, "file_index": a.file_index}
                    for a in s.scalars(query.order_by(ReviewAudit.id)).all()]
