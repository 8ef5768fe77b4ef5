"""The steps of a job, run by either engine: thin, idempotent, taking job ids.

A job has two steps, each its own task (and, with Celery, its own queue, so
OCR and LLM capacity scale on their own hosts):

* ``ocr``: fetch ``source_url`` when given, then text detection + recognition
  of every document through the pipeline's OCR door
  (:meth:`DocumentPipeline.ocr_batch`); the OCR results are stored beside the
  job's files (``ocr.json``).
* ``extraction``: :meth:`DocumentPipeline.extract_batch`, the same call as
  ``POST /extract``, given each document's stored pages, so nothing is decoded,
  rendered or recognised again and the extraction host needs no OCR models
  (a file the ``ocr`` step could not read is read again, and fails the same way);
  then validation and review routing.

Each step starts with a conditional claim (:meth:`JobStore.claim`) and writes
only while it holds the job, so a redelivered or duplicated task is a no-op.
Transient failures of the LLM (``LLM_UNAVAILABLE``, ``LLM_TIMEOUT``, for the whole
document or for any of its fields) retry with exponential backoff and full jitter (AWS Architecture Blog, "Exponential
Backoff And Jitter", 2015); bad input fails at once.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
import os
import random
import shutil
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from app.config import Settings
from app.domain import OcrResult, PageText, TextLine
from app.errors import LLMTimeout, LLMUnavailable, ServiceError
from app.api.schemas import validate_extract_config
from app.extraction.extractor import ExtractOptions
from app.jobs.review import review
from app.jobs.store import FINISHED, JobStore, utcnow
from app.jobs.webhooks import WebhookSender, fetch_source, payload
from app.observability import metrics
from app.ocr.base import OcrEngine
from app.pipeline import DocumentPipeline, Upload

log = logging.getLogger(__name__)

TRANSIENT = (LLMUnavailable, LLMTimeout)


def worker_token() -> str:
    """A unique holder id for one task execution: ``host:pid:random``."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def backoff(attempt: int, base: float, cap: float) -> float:
    """Seconds before retry ``attempt`` (1-based): full jitter over ``min(cap, base * 2**(attempt-1))``."""
    return random.uniform(0.5, 1.0) * min(cap, base * 2 ** max(0, attempt - 1))


def image_key(image: np.ndarray) -> str:
    """Content hash of a decoded page image (shape + pixels)."""
    digest = hashlib.sha256(repr(image.shape).encode())
    digest.update(np.ascontiguousarray(image).data)
    return digest.hexdigest()


def ocr_to_record(ocr: OcrResult) -> dict:
    """An OCR result as JSON-ready data (``{lines: [[text, confidence, box (4, 2)]], width, height,
    detection_ms, recognition_ms, engine, orientation?}``), as the ``ocr`` step stores it;
    :func:`ocr_from_record` reads it back."""
    out = {"lines": [[ln.text, float(ln.confidence), [list(map(float, p)) for p in ln.box]] for ln in ocr.lines],
           "width": ocr.width, "height": ocr.height, "detection_ms": ocr.detection_ms,
           "recognition_ms": ocr.recognition_ms, "engine": ocr.engine}
    if ocr.orientation is not None:
        out["orientation"] = ocr.orientation
    return out


def ocr_from_record(d: dict) -> OcrResult:
    """The :class:`OcrResult` stored by :func:`ocr_to_record` (lines without ``page``)."""
    lines = tuple(TextLine(t, c, tuple(tuple(p) for p in box)) for t, c, box in d["lines"])
    return OcrResult(lines, d["width"], d["height"], d["detection_ms"], d["recognition_ms"], d.get("engine", ""),
                     orientation=d.get("orientation"))


def page_to_record(page: PageText) -> dict:
    """A page as JSON-ready data: :func:`ocr_to_record` of its lines plus ``{number,
    width, height, source, text_layer_ms}``; :func:`page_from_record` reads it back."""
    return {**ocr_to_record(page.ocr), "number": page.number, "page_width": page.width,
            "page_height": page.height, "source": page.source, "text_layer_ms": page.text_layer_ms}


def page_from_record(d: dict) -> PageText:
    """The :class:`PageText` stored by :func:`page_to_record` (each line's ``page`` set)."""
    ocr = ocr_from_record(d)
    ocr = dataclasses.replace(ocr, lines=tuple(dataclasses.replace(ln, page=d["number"]) for ln in ocr.lines))
    return PageText(d["number"], d["page_width"], d["page_height"], d["source"], ocr, d["text_layer_ms"])


def stored_pages(records: dict) -> list[list[PageText] | None] | None:
    """Each document's pages from a job's ``ocr.json`` (``{"documents": [[page record, ...] or
    null, ...]}``, in upload order; null: the file failed), or None for the older form
    (page records keyed by :func:`image_key`, which :class:`ReplayOcrEngine` answers from)."""
    if "documents" not in records:
        return None
    return [None if doc is None else [page_from_record(p) for p in doc] for doc in records["documents"]]


class CountingOcrEngine(OcrEngine):
    """Runs ``engine`` and calls ``on_page(pages recognised so far)`` after each page."""

    def __init__(self, engine: OcrEngine, on_page: Callable[[int], None] | None = None):
        self.engine = engine
        self.name = getattr(engine, "name", "ocr")
        self.pages = 0
        self.on_page = on_page
        self._lock = threading.Lock()

    def recognize(self, image):
        result = self.engine.recognize(image)
        with self._lock:
            self.pages += 1
            pages = self.pages
        if self.on_page is not None:
            self.on_page(pages)
        return result

    def describe(self) -> dict:
        return self.engine.describe()


class ReplayOcrEngine(OcrEngine):
    """Answers with OCR results stored by :func:`image_key` (the ``ocr.json`` of a job whose
    ``ocr`` step ran on an earlier version); runs ``fallback()`` (the real engine, built on
    first need) for an image it has no record of."""

    def __init__(self, records: dict[str, dict], fallback: Callable[[], OcrEngine]):
        self.records = records
        self.fallback = fallback
        self.name = "replay"

    def recognize(self, image):
        record = self.records.get(image_key(image))
        if record is not None:
            return ocr_from_record(record)
        return self.fallback().recognize(image)


@dataclass(frozen=True)
class StepOutcome:
    """What the engine must do after a step.

    Attributes:
        next_step: enqueue this step of the job now.
        retry_in: enqueue the same step again after this many seconds.
        webhook: the job finished and has a ``callback_url``: deliver it.
    """

    next_step: str | None = None
    retry_in: float | None = None
    webhook: bool = False


def _transient_field_error(results: list) -> ServiceError | None:
    """The LLM outage behind any field's error, if one: ``/extract`` answers with
    what the readers found and per-field errors, a job retries the extraction
    step instead (and fails with that code when out of attempts).

    Args:
        results: ``BatchResult.results`` (:class:`app.domain.DocumentResult` or ``FileFailure``).
    """
    codes = {e.code: e.message for r in results if r.success for e in r.field_errors.values()}
    for cls in TRANSIENT:
        if cls.code in codes:
            return cls(codes[cls.code])
    return None


def _options(request: dict, settings: Settings) -> ExtractOptions:
    # The stored request is the ExtractConfig the door validated (model_dump); the step's
    # LLM calls end by the soft time limit (the local engine has no other).
    # (A row stored by another version that no longer validates fails the job with INVALID_CONFIG.)
    return validate_extract_config(request).options(settings, time.monotonic() + settings.job_time_limit * 0.9)


class JobRunner:
    """Runs job steps against the store and the document pipeline.

    Args:
        settings: job limits, retry policy, review threshold.
        store: the job store.
        ocr_engine: returns the OCR engine (called only when OCR must run, so
            an extraction-only worker never loads OCR models).
        extractor: returns the field extractor.
    """

    def __init__(self, settings: Settings, store: JobStore, ocr_engine: Callable[[], OcrEngine],
                 extractor: Callable[[], object]):
        self.settings = settings
        self.store = store
        self._ocr_engine = ocr_engine
        self._extractor = extractor
        self.sender = WebhookSender(settings)

    @property
    def lease_s(self) -> float:
        """How long a claim holds: the hard time limit plus a margin."""
        return self.settings.job_time_limit + 5.0

    # ------------------------------------------------------------------ steps
    def run_step(self, job_id: str, step: str, worker: str | None = None) -> StepOutcome:
        """Claim and run one step of a job; never raises for the job's own failures.

        Returns:
            What to enqueue next (nothing when the claim failed: another worker
            has the job, it finished, or it was canceled or deleted).
        """
        worker = worker or worker_token()
        claim = self.store.claim(job_id, step, worker, self.lease_s, self.settings.job_max_attempts)
        if not claim.claimed:
            finished_here = claim.exhausted or claim.canceled
            return StepOutcome(webhook=bool(finished_here and claim.job and claim.job["callback_url"]))
        job = claim.job
        try:
            if step == "ocr":
                return self._ocr(job, worker)
            return self._extraction(job, worker)
        except TRANSIENT as e:
            attempt = job["step_attempts"]
            if attempt < self.settings.job_max_attempts:
                delay = backoff(attempt, self.settings.job_retry_backoff, self.settings.job_retry_backoff_max)
                log.info("job %s: %s on attempt %d; retry in %.1f s", job_id, e.code, attempt, delay)
                self.store.release(job_id, worker, {**e.to_dict(), "attempt": attempt})
                return StepOutcome(retry_in=delay)
            return self._failed(job, worker, e)
        except ServiceError as e:
            return self._failed(job, worker, e)
        except Exception as e:  # a bug or an unexpected library error: fail the job, log the traceback
            from app.errors import JobTimeLimit, SystemFailure

            if type(e).__name__ == "SoftTimeLimitExceeded":  # Celery's soft limit (JOB_TIME_LIMIT * 0.9)
                return self._failed(job, worker, JobTimeLimit())
            log.exception("job %s: %s step crashed", job_id, step)
            return self._failed(job, worker, SystemFailure(f"{step} step failed: {type(e).__name__}"))

    def _failed(self, job: dict, worker: str, error: ServiceError) -> StepOutcome:
        self.store.fail(job["id"], worker, {**error.to_dict(), "stage": job["stage"]})
        return StepOutcome(webhook=bool(job["callback_url"]))

    def _canceled(self, job: dict, worker: str) -> StepOutcome | None:
        if self.store.cancel_if_requested(job["id"], worker):
            return StepOutcome(webhook=bool(job["callback_url"]))
        return None

    def _uploads(self, job: dict) -> list[Upload]:
        base = self.store.job_dir(job["id"])
        return [Upload(f["filename"], (base / f["path"]).read_bytes()) for f in job["files"]]

    def _pipeline(self, ocr_engine: OcrEngine) -> DocumentPipeline:
        return DocumentPipeline(self.settings, ocr_engine, self._extractor())

    def _ocr(self, job: dict, worker: str) -> StepOutcome:
        job_id, timings = job["id"], dict(job["timings"] or {})
        if "queued_ms" not in timings and job.get("started_at"):
            timings["queued_ms"] = round((job["started_at"] - job["created_at"]).total_seconds() * 1000.0, 1)
        if job["source_url"] and not job["files"]:
            start = time.perf_counter()
            name, data = fetch_source(self.settings, job["source_url"])
            directory = self.store.job_dir(job_id)
            directory.mkdir(parents=True, exist_ok=True)
            (directory / "0").write_bytes(data)
            job["files"] = [{"filename": name, "path": "0", "size": len(data)}]
            self.store.update_files(job_id, worker, job["files"])
            timings["fetch_ms"] = round((time.perf_counter() - start) * 1000.0, 1)
        if (done := self._canceled(job, worker)) is not None:
            return done
        if not self.store.progress(job_id, worker, done=0, total=len(job["files"])):
            return self._canceled(job, worker) or StepOutcome()
        start = time.perf_counter()
        counter = CountingOcrEngine(self._ocr_engine(),
                                    on_page=lambda n: self.store.progress(job_id, worker, pages=n))
        pipeline = self._pipeline(counter)
        documents = []
        for i, upload in enumerate(self._uploads(job)):
            (read,) = pipeline.ocr_batch([upload]).results
            documents.append([page_to_record(p) for p in read.pages] if read.success else None)
            if not self.store.progress(job_id, worker, done=i + 1):
                return self._canceled(job, worker) or StepOutcome()
        path = self.store.job_dir(job_id) / "ocr.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"documents": documents}))
        tmp.replace(path)
        timings["ocr_ms"] = round((time.perf_counter() - start) * 1000.0, 1)
        if not self.store.hand_over(job_id, worker, "extraction", timings):
            return StepOutcome()
        return StepOutcome(next_step="extraction")

    def _extraction(self, job: dict, worker: str) -> StepOutcome:
        job_id, timings, request = job["id"], dict(job["timings"] or {}), job["request"]
        if (done := self._canceled(job, worker)) is not None:
            return done
        path = self.store.job_dir(job_id) / "ocr.json"
        records = json.loads(path.read_text()) if path.exists() else {}
        if not self.store.progress(job_id, worker, done=0):
            return self._canceled(job, worker) or StepOutcome()
        start = time.perf_counter()
        documents = stored_pages(records)
        # A file without stored pages (it failed in the ocr step) is read again with the real
        # engine, built only then; the older ocr.json form is answered by its image hashes.
        pipeline = self._pipeline(ReplayOcrEngine({} if documents is not None else records, self._ocr_engine))
        options = _options(request, self.settings)
        results, stored, first_error = [], [], None
        for i, upload in enumerate(self._uploads(job)):
            pages = documents[i] if documents is not None and i < len(documents) else None
            batch = pipeline.extract_batch([upload], request.get("info"), options,
                                           document_type=request.get("document_type"), pages=[pages])
            transient = _transient_field_error(batch.results)
            if transient is not None:
                raise transient
            results.extend(batch.results)
            stored.extend(batch.to_dicts(request.get("display_text_box", False)))
            first_error = first_error or batch.first_error
            if not self.store.progress(job_id, worker, done=i + 1):
                return self._canceled(job, worker) or StepOutcome()
        timings["extraction_ms"] = round((time.perf_counter() - start) * 1000.0, 1)
        if not self.store.progress(job_id, worker, stage="validation"):
            return self._canceled(job, worker) or StepOutcome()
        start = time.perf_counter()
        processed = sum(1 for r in results if r.success)
        # The job stores the HTTP JSON of its results; review routing reads that form (as the
        # review page does after a correction), metrics the typed results.
        data = {"results": stored, "processed_count": processed, "error_count": len(results) - processed}
        routing = review(stored, self.settings.review_threshold)
        data["review"] = {"quality_score": routing["quality_score"], "review_status": routing["review_status"],
                          "reasons": routing["reasons"], "documents": routing["documents"]}
        timings["validation_ms"] = round((time.perf_counter() - start) * 1000.0, 1)
        if processed == 0 and first_error is not None:
            self.store.fail(job_id, worker, {**first_error.to_dict(), "stage": "extraction"}, timings=timings,
                            result=data)
        elif self.store.complete(job_id, worker, result=data, timings=timings, review=routing):
            metrics.observe_review(routing["review_status"])
            metrics.observe_results("job", results, request.get("document_type"))  # stages, pages, fields
        return StepOutcome(webhook=bool(job["callback_url"]))

    # ------------------------------------------------------------------ webhooks
    def deliver(self, job_id: str) -> float | None:
        """One webhook delivery attempt for a finished job.

        Returns:
            Seconds until the next attempt, or None when done (delivered,
            410 Gone, out of attempts, or nothing to deliver).
        """
        job = self.store.get(job_id)
        if job is None or not job["callback_url"] or job["status"] not in FINISHED:
            return None
        attempts, delivered, gone = self.store.delivery_state(job_id)
        if delivered or gone or attempts >= self.settings.webhook_max_attempts:
            return None
        body = payload(job)
        outcome = self.sender.send(job["callback_url"], job["webhook_id"], body)
        self.store.record_delivery(job_id, webhook_id=job["webhook_id"], event_type=body["type"],
                                   attempt=attempts + 1, url=job["callback_url"], status_code=outcome.status_code,
                                   error=outcome.error, duration_ms=outcome.duration_ms,
                                   delivered=outcome.delivered)
        again = outcome.retry and attempts + 1 < self.settings.webhook_max_attempts
        metrics.observe_webhook_delivery("delivered" if outcome.delivered else "retrying" if again
                                         else "refused" if outcome.refused else "failed")
        if again:
            return backoff(attempts + 1, self.settings.job_retry_backoff, self.settings.job_retry_backoff_max)
        return None

    # ------------------------------------------------------------------ housekeeping
    def delete(self, job_id: str) -> dict | None:
        """Delete the job's row and its stored files; returns the row or None."""
        row = self.store.delete(job_id)
        if row is not None:
            shutil.rmtree(self.store.job_dir(job_id), ignore_errors=True)
        return row

    def purge(self, now: dt.datetime | None = None) -> int:
        """Delete jobs finished more than ``JOB_RETENTION_DAYS`` ago (and their files)."""
        cutoff = (now or utcnow()) - dt.timedelta(days=self.settings.job_retention_days)
        count = 0
        while ids := self.store.expired(cutoff):
            for job_id in ids:
                if self.delete(job_id) is not None:
                    count += 1
                    metrics.observe_job_finished("expired")
        if count:
            log.info("purged %d jobs finished before %s", count, cutoff.isoformat())
        return count

    def watchdog(self, now: dt.datetime | None = None) -> list[tuple[str, str, str]]:
        """Jobs to send again: ``[(job_id, step, reason)]``; reason ``lease`` (the
        holder's lease expired: it died or hung) or ``quiet`` (waiting unheld for
        ``JOB_REQUEUE_AFTER``: its broker message may have been lost)."""
        stuck = self.store.stuck(now or utcnow(), self.settings.job_requeue_after)
        return [(j["id"], j["step"], j["reason"]) for j in stuck if j["step"]]


def write_uploads(store: JobStore, job_id: str, uploads: list[Upload]) -> list[dict]:
    """Store uploaded files under ``STORAGE_DIR/<job_id>/`` (names are indices, never client paths)."""
    directory = store.job_dir(job_id)
    directory.mkdir(parents=True, exist_ok=True)
    files = []
    for i, upload in enumerate(uploads):
        (directory / str(i)).write_bytes(upload.data)
        files.append({"filename": Path(upload.filename).name or f"file{i}", "path": str(i), "size": len(upload.data)})
    return files
