"""The jobs capability as the HTTP door sees it: submit, read, list, cancel, delete.

:func:`build_jobs` wires store, runner and engine from settings (called by
``create_app`` for the API and by :mod:`app.jobs.worker` for Celery workers).
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
import uuid
from typing import Callable

from app.config import Settings
from app.errors import JobConflict, JobNotFound, QueueFull, StoreUnavailable, WebhookNotConfigured
from app.jobs.engine import CeleryEngine, JobEngine, LocalEngine
from app.jobs.store import FINISHED, JobStore, iso
from app.jobs.tasks import JobRunner, write_uploads
from app.jobs.webhooks import check_url
from app.observability import metrics
from app.pipeline import Upload

log = logging.getLogger(__name__)


class JobService:
    """Submit and inspect jobs.

    Args:
        settings: job settings.
        store: the job store.
        runner: runs steps (used directly for deletes).
        engine: where steps run.
    """

    def __init__(self, settings: Settings, store: JobStore, runner: JobRunner, engine: JobEngine):
        self.settings = settings
        self.store = store
        self.runner = runner
        self.engine = engine
        self._ready = False
        self._lock = threading.Lock()

    def ensure_ready(self) -> None:
        """Migrate the schema on first use (retried on the next request after a failure).

        Raises:
            StoreUnavailable: the database cannot be reached.
        """
        if self._ready:
            return
        with self._lock:
            if not self._ready:
                self.store.migrate()
                self._ready = True

    def resume(self) -> None:
        """On the local engine with an existing SQLite store: start the worker
        threads now, so jobs left queued or running by a previous process are
        picked up by the first watchdog round (a new store waits for its first job)."""
        if not self.settings.jobs_resume or not isinstance(self.engine, LocalEngine):
            return
        path = self._sqlite_path()
        if path is not None and os.path.exists(path):
            try:
                self.ensure_ready()
            except StoreUnavailable as e:
                log.warning("jobs not resumed: %s", e.message)
                return
            self.engine.start()

    def _sqlite_path(self) -> str | None:
        if not self.store.is_sqlite:
            return None
        path = self.store.url.split("///", 1)[-1]
        return path if path and path != ":memory:" else None

    # ------------------------------------------------------------------ submit
    def submit(self, *, uploads: list[Upload], request: dict, source_url: str | None, callback_url: str | None,
               idempotency_key: str | None) -> tuple[dict, bool]:
        """Queue a job.

        Returns:
            ``(job row, created)``; ``created`` is False for a repeated ``Idempotency-Key``.

        Raises:
            UnsafeUrl: ``callback_url`` / ``source_url`` refused by the SSRF guard.
            WebhookNotConfigured: ``callback_url`` without ``WEBHOOK_SECRET``.
            QueueFull: ``MAX_QUEUED_JOBS`` jobs are queued or running.
            StoreUnavailable: database or broker unreachable (nothing is kept).
        """
        if callback_url:
            if not self.settings.webhook_secret:
                raise WebhookNotConfigured()
            check_url(callback_url, allow_private=self.settings.webhook_allow_private)
        if source_url:
            check_url(source_url, allow_private=self.settings.webhook_allow_private)
        self.ensure_ready()
        if idempotency_key:
            existing = self.store.get_by_key(idempotency_key)
            if existing is not None:
                return existing, False
        if self.store.count_active() >= self.settings.max_queued_jobs:
            raise QueueFull(f"{self.settings.max_queued_jobs} jobs are queued or running (MAX_QUEUED_JOBS); "
                            "retry later")
        job_id = uuid.uuid4().hex
        try:
            files = write_uploads(self.store, job_id, uploads)
            row, created = self.store.create(request=request, files=files, source_url=source_url,
                                             callback_url=callback_url, idempotency_key=idempotency_key,
                                             job_id=job_id)
        except Exception:
            shutil.rmtree(self.store.job_dir(job_id), ignore_errors=True)
            raise
        if not created:
            shutil.rmtree(self.store.job_dir(job_id), ignore_errors=True)
            return row, False
        try:
            self.engine.enqueue(job_id, "ocr")
        except StoreUnavailable:
            self.runner.delete(job_id)
            raise
        metrics.observe_job_enqueued(self.engine.name)
        return row, True

    # ------------------------------------------------------------------ read
    def get(self, job_id: str, wait: float = 0.0) -> dict:
        """The job's row; with ``wait`` > 0 block until it finishes or ``wait`` seconds pass.

        Raises:
            JobNotFound: no such job.
        """
        self.ensure_ready()
        deadline = time.monotonic() + wait
        delay = 0.1
        while True:
            row = self.store.get(job_id)
            if row is None:
                raise JobNotFound(f"No job {job_id!r}")
            if row["status"] in FINISHED or time.monotonic() >= deadline:
                return row
            time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            delay = min(1.0, delay * 1.5)

    def list(self, **filters) -> tuple[list[dict], str | None]:
        self.ensure_ready()
        return self.store.list(**filters)

    def cancel(self, job_id: str) -> dict:
        """Request cancellation (honoured between stages).

        Raises:
            JobNotFound, JobConflict: the job already finished.
        """
        self.ensure_ready()
        before = self.store.get(job_id)
        if before is None:
            raise JobNotFound(f"No job {job_id!r}")
        if before["status"] in FINISHED:
            raise JobConflict(f"The job is already {before['status']}")
        row = self.store.request_cancel(job_id)
        if row["status"] == "canceled" and row["callback_url"]:
            self.engine.enqueue_webhook(job_id)
        return row

    def delete(self, job_id: str) -> None:
        """Delete the job and its stored files (a running step finds it gone and stops writing).

        Raises:
            JobNotFound.
        """
        self.ensure_ready()
        if self.runner.delete(job_id) is None:
            raise JobNotFound(f"No job {job_id!r}")

    # ------------------------------------------------------------------ shape
    def public(self, row: dict, status_url: str, *, detail: bool = True) -> dict:
        """The response form of a job (see docs/jobs.md)."""
        out = {
            "job_id": row["id"], "status": row["status"], "status_url": status_url,
            "stage": row["stage"], "document_type": row["document_type"],
            "progress": {"stage": row["stage"], "done": row["progress_done"], "total": row["progress_total"],
                         "pages_ocr": row["progress_pages"]},
            "attempts": row["attempts"], "cancel_requested": row["cancel_requested"],
            "review_status": row["review_status"], "quality_score": row["quality_score"],
            "created_at": iso(row["created_at"]), "started_at": iso(row["started_at"]),
            "finished_at": iso(row["finished_at"]), "updated_at": iso(row["updated_at"]),
            "timings": row["timings"] or {},
        }
        if row["error"]:
            out["error"] = row["error"]
        if not detail:
            return out
        out["review_reasons"] = row["review_reasons"] or []
        if row["last_error"]:
            out["last_error"] = row["last_error"]
        out["files"] = [{"filename": f["filename"], "size": f["size"]} for f in row["files"]]
        if row["source_url"]:
            out["source_url"] = row["source_url"]
        out["result"] = row["result"]
        out["history"] = self.store.history(row["id"])
        if row["callback_url"]:
            out["webhook"] = {"url": row["callback_url"], "webhook_id": row["webhook_id"],
                              "deliveries": self.store.deliveries(row["id"])}
        return out

    def readiness(self) -> dict:
        """``/readyz`` check: the job store answers (and, for Celery, the broker).

        Raises:
            StoreUnavailable: either is unreachable.
        """
        out = {"engine": self.engine.name}
        if self._sqlite_path() is not None and not os.path.exists(self._sqlite_path()):
            return out  # the embedded store is created with the first job: nothing to reach yet
        self.store.ping()
        sizes = self.engine.queue_sizes()
        if self.engine.name == "celery" and sizes is None:
            raise StoreUnavailable("The job broker (Redis) is unavailable")
        if sizes is not None:
            out["queued_messages"] = sizes
        return out

    def stop(self) -> None:
        self.engine.stop()
        self.store.dispose()


def build_jobs(settings: Settings, ocr_engine: Callable, extractor: Callable, *, celery=None) -> JobService:
    """Wire the jobs capability for ``settings.jobs_engine_name``.

    Args:
        ocr_engine: returns the OCR engine (lazily: extraction-only workers never build one).
        extractor: returns the field extractor.
        celery: an existing Celery app (workers pass theirs).
    """
    store = JobStore(settings.jobs_database_url, settings.storage_dir)
    store.on_finish = lambda status, seconds: metrics.observe_job_finished(
        "cancelled" if status == "canceled" else status, seconds)
    runner = JobRunner(settings, store, ocr_engine, extractor)
    if settings.jobs_engine_name == "celery":
        engine: JobEngine = CeleryEngine(settings, runner, celery)
    else:
        engine = LocalEngine(settings, runner)
    return JobService(settings, store, runner, engine)
