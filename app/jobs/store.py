"""The job store: SQLAlchemy 2 models and every query the jobs capability runs.

The database row is the source of truth (Celery's own guidance): brokers and
thread pools only carry job ids. Every state change is a conditional
``UPDATE ... WHERE`` so that a redelivered task, a second worker or the
watchdog can never store a second result: a claim succeeds for exactly one
caller. Schema changes go through Alembic (``app/jobs/migrations/``);
:meth:`JobStore.migrate` runs ``upgrade head``.

Times are naive UTC ``datetime`` values (the same on SQLite and PostgreSQL).
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import logging
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from sqlalchemy import (JSON, Boolean, DateTime, Float, ForeignKey, Integer, String, Text, create_engine, delete,
                        event, func, or_, select, update)
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

from app.errors import StoreUnavailable

log = logging.getLogger(__name__)

STATUSES = ("queued", "running", "succeeded", "failed", "canceled")
ACTIVE = ("queued", "running")
FINISHED = ("succeeded", "failed", "canceled")
#: Steps a job goes through, each run by one task (on its own queue with Celery).
STEPS = ("ocr", "extraction")


def utcnow() -> dt.datetime:
    """Now, naive UTC (the store's time representation)."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def iso(value: dt.datetime | None) -> str | None:
    """ISO 8601 with a ``Z`` (or None)."""
    return None if value is None else value.isoformat(timespec="milliseconds") + "Z"


class Base(DeclarativeBase):
    type_annotation_map = {dict: JSON, list: JSON}


class Job(Base):
    """One submitted batch of documents (``jobs`` table)."""

    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    #: the stage the job is in or last finished: uploaded, ocr, extraction, validation, done
    stage: Mapped[str] = mapped_column(String(16))
    #: the task that must run next (``ocr`` or ``extraction``), None when finished
    step: Mapped[str | None] = mapped_column(String(16))
    #: the worker holding the job and until when (a dead worker's lease expires)
    worker: Mapped[str | None] = mapped_column(String(200))
    lease_expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    step_attempts: Mapped[int] = mapped_column(Integer, default=0)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    idempotency_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    request: Mapped[dict] = mapped_column(JSON)
    files: Mapped[list] = mapped_column(JSON)
    source_url: Mapped[str | None] = mapped_column(Text)
    callback_url: Mapped[str | None] = mapped_column(Text)
    document_type: Mapped[str | None] = mapped_column(String(32))
    progress_done: Mapped[int] = mapped_column(Integer, default=0)
    progress_total: Mapped[int] = mapped_column(Integer, default=0)
    #: pages read by OCR so far (a multi-page PDF counts each page)
    progress_pages: Mapped[int] = mapped_column(Integer, default=0)
    timings: Mapped[dict] = mapped_column(JSON, default=dict)
    result: Mapped[dict | None] = mapped_column(JSON)
    error: Mapped[dict | None] = mapped_column(JSON)
    last_error: Mapped[dict | None] = mapped_column(JSON)
    review_status: Mapped[str | None] = mapped_column(String(16), index=True)
    quality_score: Mapped[float | None] = mapped_column(Float)
    review_reasons: Mapped[list | None] = mapped_column(JSON)
    webhook_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime, index=True)


class JobEvent(Base):
    """Status history: one row per transition (``job_events`` table)."""

    __tablename__ = "job_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(16))
    stage: Mapped[str] = mapped_column(String(16))
    message: Mapped[str | None] = mapped_column(Text)


class WebhookDelivery(Base):
    """One attempt to deliver a job's webhook (``webhook_deliveries`` table)."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    webhook_id: Mapped[str] = mapped_column(String(64))
    event_type: Mapped[str] = mapped_column(String(32))
    attempt: Mapped[int] = mapped_column(Integer)
    at: Mapped[dt.datetime] = mapped_column(DateTime)
    url: Mapped[str] = mapped_column(Text)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[float] = mapped_column(Float)
    delivered: Mapped[bool] = mapped_column(Boolean, default=False)


@dataclass(frozen=True)
class Claim:
    """Outcome of :meth:`JobStore.claim`.

    Attributes:
        claimed: this worker now holds the job's step.
        exhausted: the step was claimed ``max_attempts`` times already; the job
            has been marked failed (``JOB_ATTEMPTS_EXHAUSTED``).
        canceled: a cancel was pending and this call finished the job as canceled.
        job: the row as a dict after the claim (None when the job is gone).
    """

    claimed: bool
    exhausted: bool = False
    job: dict | None = None
    canceled: bool = False


def _encode_cursor(created_at: dt.datetime, job_id: str) -> str:
    return base64.urlsafe_b64encode(f"{created_at.isoformat()}|{job_id}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[dt.datetime, str]:
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    stamp, job_id = raw.split("|", 1)
    return dt.datetime.fromisoformat(stamp), job_id


def row_dict(job: Job) -> dict:
    """All columns of ``job`` as a plain dict (detached from the session)."""
    return {c.key: getattr(job, c.key) for c in Job.__table__.columns}


class JobStore:
    """All reads and writes of jobs, their history and webhook deliveries.

    Args:
        url: SQLAlchemy database URL (``sqlite:///path`` or
            ``postgresql+pg8000://user@host/db``).
        storage_dir: where uploaded files live (``STORAGE_DIR``), one folder per job.

    Raises (from every method):
        StoreUnavailable: the database cannot be reached.
    """

    def __init__(self, url: str, storage_dir: Path):
        self.url = url
        self.storage_dir = Path(storage_dir)
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            self.engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

            @event.listens_for(self.engine, "connect")
            def _sqlite_pragmas(dbapi_connection, _record):
                cursor = dbapi_connection.cursor()
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA foreign_keys=ON")
                cursor.execute("PRAGMA busy_timeout=30000")
                cursor.close()
        else:
            self.engine = create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5, pool_timeout=5,
                                        connect_args={"timeout": 5} if "pg8000" in url else {})
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        #: called as ``on_finish(status, seconds from start to end)`` once per job that reaches a final
        #: state (metrics; set by :func:`app.jobs.service.build_jobs`)
        self.on_finish: Callable[[str, float | None], None] | None = None

    # ------------------------------------------------------------------ plumbing
    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision (``upgrade head``).

        Raises:
            StoreUnavailable: the database cannot be reached.
        """
        logging.getLogger("alembic").setLevel(logging.WARNING)  # its INFO lines say nothing an operator needs
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
        config.attributes["engine"] = self.engine
        if self.is_sqlite and "///" in self.url:
            path = self.url.split("///", 1)[1]
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
        with self._errors():
            command.upgrade(config, "head")

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except (OperationalError, DBAPIError) as e:
            if isinstance(e, IntegrityError):
                raise
            if isinstance(e, (OperationalError, InterfaceError)) or getattr(e, "connection_invalidated", False):
                raise StoreUnavailable(f"The job database is unavailable: {type(e.orig).__name__}") from e
            raise
        except OSError as e:  # pg8000 raises socket errors on connect
            raise StoreUnavailable(f"The job database is unavailable: {type(e).__name__}") from e

    @contextlib.contextmanager
    def session(self):
        """A session in a transaction, committed on success (errors mapped to StoreUnavailable)."""
        with self._errors(), self._sessions.begin() as session:
            yield session

    def ping(self) -> None:
        """Raise StoreUnavailable unless the database answers."""
        with self.session() as s:
            s.execute(select(1))

    def job_dir(self, job_id: str) -> Path:
        return self.storage_dir / job_id

    def dispose(self) -> None:
        self.engine.dispose()

    @staticmethod
    def _event(session, job_id: str, status: str, stage: str, message: str | None = None) -> None:
        session.add(JobEvent(job_id=job_id, at=utcnow(), status=status, stage=stage, message=message))

    # ------------------------------------------------------------------ submit / read
    def create(self, *, request: dict, files: list[dict], source_url: str | None, callback_url: str | None,
               idempotency_key: str | None, job_id: str | None = None) -> tuple[dict, bool]:
        """Insert a queued job.

        Args:
            request: the validated extraction config (``info``, ``document_type``, ``mode``, ...).
            files: ``[{filename, path, size}]`` already written under :meth:`job_dir`.
            idempotency_key: the client's ``Idempotency-Key``; a second create with
                the same key returns the first job.

        Returns:
            ``(job row dict, created)``; ``created`` is False when the key matched an existing job.
        """
        job_id = job_id or uuid.uuid4().hex
        now = utcnow()
        job = Job(id=job_id, status="queued", stage="uploaded", step="ocr", attempts=0, step_attempts=0,
                  cancel_requested=False, idempotency_key=idempotency_key, request=request, files=files,
                  source_url=source_url, callback_url=callback_url, document_type=request.get("document_type"),
                  progress_done=0, progress_total=len(files), progress_pages=0, timings={}, webhook_id=f"msg_{job_id}",
                  created_at=now, updated_at=now)
        try:
            with self.session() as s:
                s.add(job)
                s.flush()
                self._event(s, job_id, "queued", "uploaded")
            return row_dict(job), True
        except IntegrityError:
            if idempotency_key is None:
                raise
            existing = self.get_by_key(idempotency_key)
            if existing is None:
                raise
            return existing, False

    def get_by_key(self, key: str) -> dict | None:
        with self.session() as s:
            job = s.scalars(select(Job).where(Job.idempotency_key == key)).first()
            return row_dict(job) if job else None

    def get(self, job_id: str) -> dict | None:
        """The job's row as a dict, or None."""
        with self.session() as s:
            job = s.get(Job, job_id)
            return row_dict(job) if job else None

    def history(self, job_id: str) -> list[dict]:
        """Status history, oldest first: ``[{at, status, stage, message}]``."""
        with self.session() as s:
            rows = s.scalars(select(JobEvent).where(JobEvent.job_id == job_id).order_by(JobEvent.id)).all()
            return [{"at": iso(r.at), "status": r.status, "stage": r.stage, "message": r.message} for r in rows]

    def deliveries(self, job_id: str) -> list[dict]:
        """Webhook delivery log, oldest first."""
        with self.session() as s:
            rows = s.scalars(select(WebhookDelivery).where(WebhookDelivery.job_id == job_id)
                             .order_by(WebhookDelivery.id)).all()
            return [{"webhook_id": r.webhook_id, "type": r.event_type, "attempt": r.attempt, "at": iso(r.at),
                     "url": r.url, "status_code": r.status_code, "error": r.error,
                     "duration_ms": round(r.duration_ms, 1), "delivered": r.delivered} for r in rows]

    def list(self, *, status: str | None = None, review_status: str | None = None, limit: int = 50,
             cursor: str | None = None) -> tuple[list[dict], str | None]:
        """Jobs newest first, filtered; returns ``(rows, next_cursor)``.

        Raises:
            ValueError: ``cursor`` is not one this method returned.
        """
        query = select(Job)
        if status:
            query = query.where(Job.status == status)
        if review_status:
            query = query.where(Job.review_status == review_status)
        if cursor:
            created, last_id = _decode_cursor(cursor)
            query = query.where(or_(Job.created_at < created, (Job.created_at == created) & (Job.id < last_id)))
        query = query.order_by(Job.created_at.desc(), Job.id.desc()).limit(limit + 1)
        with self.session() as s:
            rows = [row_dict(j) for j in s.scalars(query).all()]
        more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = _encode_cursor(rows[-1]["created_at"], rows[-1]["id"]) if more and rows else None
        return rows, next_cursor

    def count_by_status(self) -> dict[str, int]:
        """``{status: number of jobs}`` for every status (for metrics and dashboards)."""
        with self.session() as s:
            rows = s.execute(select(Job.status, func.count()).group_by(Job.status)).all()
        counts = dict.fromkeys(STATUSES, 0)
        counts.update({status: n for status, n in rows})
        return counts

    def count_active(self) -> int:
        """Jobs queued or running (for ``MAX_QUEUED_JOBS``)."""
        with self.session() as s:
            return s.scalar(select(func.count()).select_from(Job).where(Job.status.in_(ACTIVE))) or 0

    # ------------------------------------------------------------------ worker side
    def claim(self, job_id: str, step: str, worker: str, lease_s: float, max_attempts: int) -> Claim:
        """Take the job's ``step`` for ``worker``, exactly once.

        One conditional UPDATE: the job must be active, waiting for ``step``,
        and either unheld or held by a worker whose lease expired (it died).
        A redelivered task, or the same task on two workers, gets ``claimed=False``.

        Args:
            lease_s: seconds the claim is valid (above the hard time limit).
            max_attempts: claims of one step before the job fails.
        """
        now = utcnow()
        with self.session() as s:
            res = s.execute(
                update(Job)
                .where(Job.id == job_id, Job.step == step, Job.status.in_(ACTIVE), Job.cancel_requested.is_(False),
                       or_(Job.worker.is_(None), Job.lease_expires_at < now))
                .values(status="running", stage=step, worker=worker,
                        lease_expires_at=now + dt.timedelta(seconds=lease_s),
                        attempts=Job.attempts + 1, step_attempts=Job.step_attempts + 1, updated_at=now,
                        started_at=func.coalesce(Job.started_at, now))
                .execution_options(synchronize_session=False))
            if res.rowcount != 1:
                job = s.get(Job, job_id)
                if job is not None and job.cancel_requested and job.status in ACTIVE and (
                        job.worker is None or (job.lease_expires_at and job.lease_expires_at < now)):
                    if self._finish(s, job_id, None, "canceled", stage=job.stage, message="canceled before " + step):
                        s.refresh(job)
                        return Claim(False, job=row_dict(job), canceled=True)
                return Claim(False, job=row_dict(job) if job else None)
            job = s.get(Job, job_id)
            s.refresh(job)
            if job.step_attempts > max_attempts:
                self._finish(s, job_id, worker, "failed", stage=job.stage, error={
                    "error_code": "JOB_ATTEMPTS_EXHAUSTED",
                    "message": f"the {step} step was started {job.step_attempts - 1} times without finishing "
                               f"(JOB_MAX_ATTEMPTS={max_attempts}); its worker may crash on this input"})
                s.refresh(job)
                return Claim(False, exhausted=True, job=row_dict(job))
            self._event(s, job_id, "running", step, f"attempt {job.step_attempts} on {worker}")
            return Claim(True, job=row_dict(job))

    def progress(self, job_id: str, worker: str, *, stage: str | None = None, done: int | None = None,
                 total: int | None = None, pages: int | None = None, timings: dict | None = None) -> bool:
        """Record progress while holding the job.

        Returns:
            False when the worker lost the job (lease taken over) or a cancel was requested.
        """
        values: dict[str, Any] = {"updated_at": utcnow()}
        if stage is not None:
            values["stage"] = stage
        if done is not None:
            values["progress_done"] = done
        if total is not None:
            values["progress_total"] = total
        if pages is not None:
            values["progress_pages"] = pages
        if timings is not None:
            values["timings"] = timings
        with self.session() as s:
            res = s.execute(update(Job).where(Job.id == job_id, Job.worker == worker, Job.status == "running",
                                              Job.cancel_requested.is_(False)).values(**values)
                            .execution_options(synchronize_session=False))
            if res.rowcount == 1 and stage is not None:
                self._event(s, job_id, "running", stage)
            return res.rowcount == 1

    def update_files(self, job_id: str, worker: str, files: list[dict]) -> bool:
        with self.session() as s:
            res = s.execute(update(Job).where(Job.id == job_id, Job.worker == worker)
                            .values(files=files, progress_total=len(files), updated_at=utcnow())
                            .execution_options(synchronize_session=False))
            return res.rowcount == 1

    def hand_over(self, job_id: str, worker: str, next_step: str, timings: dict) -> bool:
        """Finish this worker's step and leave the job waiting for ``next_step`` (unheld)."""
        with self.session() as s:
            res = s.execute(update(Job).where(Job.id == job_id, Job.worker == worker, Job.status == "running")
                            .values(step=next_step, worker=None, lease_expires_at=None, step_attempts=0,
                                    timings=timings, updated_at=utcnow())
                            .execution_options(synchronize_session=False))
            return res.rowcount == 1

    def release(self, job_id: str, worker: str, error: dict) -> bool:
        """Give the step back for a retry after a transient error (kept in ``last_error``)."""
        with self.session() as s:
            res = s.execute(update(Job).where(Job.id == job_id, Job.worker == worker, Job.status == "running")
                            .values(worker=None, lease_expires_at=None, last_error=error, updated_at=utcnow())
                            .execution_options(synchronize_session=False))
            if res.rowcount == 1:
                job = s.get(Job, job_id)
                self._event(s, job_id, "running", job.stage, f"retry after {error.get('error_code')}")
            return res.rowcount == 1

    def complete(self, job_id: str, worker: str, *, result: dict, timings: dict, review: dict) -> bool:
        """Store the result once: only the worker holding the job can (returns False otherwise)."""
        with self.session() as s:
            return self._finish(s, job_id, worker, "succeeded", stage="done", result=result, timings=timings,
                                review_status=review["review_status"], quality_score=review["quality_score"],
                                review_reasons=review["reasons"])

    def fail(self, job_id: str, worker: str | None, error: dict, timings: dict | None = None,
             result: dict | None = None) -> bool:
        """Mark the job failed with a structured error (``{error_code, message, stage}``)."""
        with self.session() as s:
            job = s.get(Job, job_id)
            if job is None:
                return False
            extra = {"timings": timings} if timings is not None else {}
            if result is not None:
                extra["result"] = result
            return self._finish(s, job_id, worker, "failed", stage=job.stage, error=error, **extra)

    def cancel_if_requested(self, job_id: str, worker: str) -> bool:
        """Between stages: when a cancel was requested, finish as canceled (returns True)."""
        with self.session() as s:
            job = s.get(Job, job_id)
            if job is None or not job.cancel_requested or job.status not in ACTIVE:
                return False
            return self._finish(s, job_id, worker, "canceled", stage=job.stage, message="canceled between stages")

    def _finish(self, s, job_id: str, worker: str | None, status: str, *, stage: str, message: str | None = None,
                **values) -> bool:
        now = utcnow()
        cond = [Job.id == job_id, Job.status.in_(ACTIVE)]
        if worker is not None:
            cond.append(Job.worker == worker)
        res = s.execute(update(Job).where(*cond).values(
            status=status, stage=stage, step=None, worker=None, lease_expires_at=None, updated_at=now,
            finished_at=now, **values).execution_options(synchronize_session=False))
        if res.rowcount == 1:
            err = values.get("error")
            self._event(s, job_id, status, stage, message or (err or {}).get("error_code"))
            if self.on_finish is not None:
                started = s.execute(select(func.coalesce(Job.started_at, Job.created_at))
                                    .where(Job.id == job_id)).scalar()
                self.on_finish(status, (now - started).total_seconds() if started else None)
        return res.rowcount == 1

    # ------------------------------------------------------------------ client actions
    def request_cancel(self, job_id: str) -> dict | None:
        """Cancel: a queued, unheld job is canceled now; a running one at its next stage boundary.

        Returns:
            The row after the request, or None when there is no such job.
        """
        with self.session() as s:
            job = s.get(Job, job_id)
            if job is None:
                return None
            if job.status in ACTIVE:
                s.execute(update(Job).where(Job.id == job_id).values(cancel_requested=True, updated_at=utcnow())
                          .execution_options(synchronize_session=False))
                if job.worker is None:
                    self._finish(s, job_id, None, "canceled", stage=job.stage, message="canceled while queued")
                else:
                    self._event(s, job_id, job.status, job.stage, "cancel requested")
            s.refresh(job)
            return row_dict(job)

    def delete(self, job_id: str) -> dict | None:
        """Delete the job, its history and deliveries; returns the deleted row (files are the caller's)."""
        with self.session() as s:
            job = s.get(Job, job_id)
            if job is None:
                return None
            row = row_dict(job)
            s.execute(delete(JobEvent).where(JobEvent.job_id == job_id))
            s.execute(delete(WebhookDelivery).where(WebhookDelivery.job_id == job_id))
            s.execute(delete(Job).where(Job.id == job_id))
            return row

    def expired(self, older_than: dt.datetime, limit: int = 500) -> list[str]:
        """Ids of finished jobs that finished before ``older_than`` (retention)."""
        with self.session() as s:
            return list(s.scalars(select(Job.id).where(Job.status.in_(FINISHED), Job.finished_at < older_than)
                                  .limit(limit)).all())

    # ------------------------------------------------------------------ watchdog
    def stuck(self, now: dt.datetime, requeue_after_s: float) -> list[dict]:
        """Jobs needing a (re)send: held past their lease (worker died or hung), or
        waiting unheld for longer than ``requeue_after_s`` (a lost broker message).

        Each returned job's ``updated_at`` is bumped, so it is returned at most once
        per ``requeue_after_s``.
        """
        quiet = now - dt.timedelta(seconds=requeue_after_s)
        with self.session() as s:
            jobs = s.scalars(select(Job).where(Job.status.in_(ACTIVE), or_(
                Job.lease_expires_at < now, Job.worker.is_(None) & (Job.updated_at < quiet))).limit(1000)).all()
            out = []
            for job in jobs:
                res = s.execute(update(Job).where(Job.id == job.id, Job.updated_at == job.updated_at)
                                .values(updated_at=now).execution_options(synchronize_session=False))
                if res.rowcount == 1:
                    if job.lease_expires_at is not None and job.lease_expires_at < now:
                        self._event(s, job.id, job.status, job.stage, f"lease of {job.worker} expired; resent")
                    lease = job.lease_expires_at is not None and job.lease_expires_at < now
                    out.append({"id": job.id, "step": job.step, "cancel_requested": job.cancel_requested,
                                "reason": "lease" if lease else "quiet"})
            return out

    def count_waiting(self) -> dict[str, int]:
        """``{step: active jobs waiting unheld for that step}`` (each should have a broker message)."""
        with self.session() as s:
            rows = s.execute(select(Job.step, func.count()).where(Job.status.in_(ACTIVE), Job.worker.is_(None))
                             .group_by(Job.step)).all()
        return {step: n for step, n in rows if step}

    def record_delivery(self, job_id: str, *, webhook_id: str, event_type: str, attempt: int, url: str,
                        status_code: int | None, error: str | None, duration_ms: float, delivered: bool) -> None:
        with self.session() as s:
            s.add(WebhookDelivery(job_id=job_id, webhook_id=webhook_id, event_type=event_type, attempt=attempt,
                                  at=utcnow(), url=url, status_code=status_code, error=error,
                                  duration_ms=duration_ms, delivered=delivered))

    def delivery_state(self, job_id: str) -> tuple[int, bool, bool]:
        """``(attempts so far, delivered, stopped by 410)`` of the job's webhook."""
        with self.session() as s:
            rows = s.execute(select(WebhookDelivery.status_code, WebhookDelivery.delivered)
                             .where(WebhookDelivery.job_id == job_id)).all()
            return len(rows), any(d for _, d in rows), any(c == 410 for c, _ in rows)
