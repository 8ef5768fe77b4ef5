"""Job engines: where job steps run. Two engines behind one small interface.

* ``local`` (default without ``REDIS_URL``): the API process runs steps on a
  thread pool (``JOB_WORKERS`` threads); delays and the periodic watchdog and
  purge run on one scheduler thread. The store is SQLite under ``STORAGE_DIR``
  unless ``DATABASE_URL`` is set. Nothing else to start.
* ``celery``: steps are Celery tasks on a Redis broker, the store is
  ``DATABASE_URL`` (PostgreSQL); workers run ``./run.sh worker``. Queues:
  ``ocr``, ``extraction``, ``webhooks``, ``maintenance`` (watchdog, purge).

Both only carry job ids; the database row is the truth (see
:mod:`app.jobs.store`). The design follows docling-serve's orchestrator
(one converter, interchangeable ``local`` / queue engines).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from abc import ABC, abstractmethod
from concurrent.futures import ThreadPoolExecutor

from app.config import Settings
from app.errors import StoreUnavailable
from app.jobs.tasks import JobRunner, StepOutcome

log = logging.getLogger(__name__)

QUEUES = {"ocr": "ocr", "extraction": "extraction", "webhook": "webhooks", "maintenance": "maintenance"}
TASK_STEP = "docextract.jobs.step"
TASK_WEBHOOK = "docextract.jobs.webhook"
TASK_WATCHDOG = "docextract.jobs.watchdog"
TASK_PURGE = "docextract.jobs.purge"


class JobEngine(ABC):
    """Runs job steps somewhere.

    Args:
        settings: engine settings.
        runner: executes steps (shared by both engines).
    """

    name = "base"

    def __init__(self, settings: Settings, runner: JobRunner):
        self.settings = settings
        self.runner = runner

    @abstractmethod
    def enqueue(self, job_id: str, step: str, delay: float = 0.0) -> None:
        """Schedule ``step`` of ``job_id`` (after ``delay`` seconds).

        Raises:
            StoreUnavailable: the broker cannot be reached.
        """

    @abstractmethod
    def enqueue_webhook(self, job_id: str, delay: float = 0.0) -> None:
        """Schedule a webhook delivery attempt."""

    def describe(self) -> dict:
        return {"engine": self.name}

    def stop(self) -> None:
        """Release threads/connections (tests, shutdown)."""

    def after_step(self, job_id: str, step: str, outcome: StepOutcome) -> None:
        """Enqueue what a step's outcome asks for."""
        if outcome.next_step:
            self.enqueue(job_id, outcome.next_step)
        if outcome.retry_in is not None:
            self.enqueue(job_id, step, outcome.retry_in)
        if outcome.webhook:
            self.enqueue_webhook(job_id)

    def run_step(self, job_id: str, step: str) -> None:
        """Run a step and enqueue its follow-ups (the body of every step task)."""
        self.after_step(job_id, step, self.runner.run_step(job_id, step))

    def run_webhook(self, job_id: str) -> None:
        delay = self.runner.deliver(job_id)
        if delay is not None:
            self.enqueue_webhook(job_id, delay)

    def queue_sizes(self) -> dict[str, int] | None:
        """Messages waiting in the broker per step, or None when unknown."""
        return None

    def run_watchdog(self) -> int:
        """Send again the steps of stuck jobs; returns how many were sent.

        A job whose holder's lease expired is always sent again. A job waiting
        quietly is sent again only while the broker holds fewer messages for its
        step than jobs wait for it (some message was lost), so a long backlog is
        not flooded with duplicates.
        """
        from app.observability import metrics

        stuck = self.runner.watchdog()
        waiting = self.runner.store.count_waiting()
        for step in ("ocr", "extraction"):
            metrics.set_queue_depth(waiting.get(step, 0), QUEUES[step])
        sizes = self.queue_sizes() if any(reason == "quiet" for _, _, reason in stuck) else None
        missing = None
        if sizes is not None:
            missing = {step: max(0, waiting.get(step, 0) - sizes.get(step, 0)) for step in waiting}
        sent = 0
        for job_id, step, reason in stuck:
            if reason == "quiet" and missing is not None:
                if missing.get(step, 0) <= 0:
                    continue
                missing[step] -= 1
            log.warning("watchdog: sending %s of job %s again (%s)", step, job_id,
                        "holder's lease expired" if reason == "lease" else "no message seen")
            self.enqueue(job_id, step)
            sent += 1
        return sent


class LocalEngine(JobEngine):
    """Thread pool in the API process (started on first use)."""

    name = "local"

    def __init__(self, settings: Settings, runner: JobRunner):
        super().__init__(settings, runner)
        self._lock = threading.Condition()
        self._heap: list[tuple[float, int, object]] = []
        self._seq = itertools.count()
        self._pool: ThreadPoolExecutor | None = None
        self._thread: threading.Thread | None = None
        self._stopped = False
        self._pending: dict[str, int] = {}

    def start(self) -> None:
        """Start the pool and the scheduler now (otherwise on the first enqueue)."""
        with self._lock:
            self._start()

    def _start(self) -> None:
        if self._pool is not None:
            return
        self._pool = ThreadPoolExecutor(self.settings.job_workers, thread_name_prefix="job")
        self._thread = threading.Thread(target=self._scheduler, name="job-scheduler", daemon=True)
        self._thread.start()
        # Jobs left queued or held by a process that stopped: picked up by the first watchdog round.
        self._at(0.5, self._maintenance)

    def _at(self, delay: float, fn) -> None:
        with self._lock:
            self._start()
            heapq.heappush(self._heap, (time.monotonic() + max(0.0, delay), next(self._seq), fn))
            self._lock.notify()

    def _scheduler(self) -> None:
        while True:
            with self._lock:
                while not self._stopped and (not self._heap or self._heap[0][0] > time.monotonic()):
                    self._lock.wait(None if not self._heap else max(0.0, self._heap[0][0] - time.monotonic()))
                if self._stopped:
                    return
                _, _, fn = heapq.heappop(self._heap)
            self._pool.submit(self._safe, fn)

    @staticmethod
    def _safe(fn) -> None:
        try:
            fn()
        except StoreUnavailable as e:
            log.warning("job engine: %s", e.message)
        except Exception:
            log.exception("job engine task failed")

    def _maintenance(self) -> None:
        try:
            self.run_watchdog()
            now = time.monotonic()
            if now - getattr(self, "_last_purge", 0.0) >= self.settings.job_purge_interval:
                self._last_purge = now
                self.runner.purge()
        finally:
            if not self._stopped:
                self._at(self.settings.job_watchdog_interval, self._maintenance)

    def enqueue(self, job_id: str, step: str, delay: float = 0.0) -> None:
        with self._lock:
            self._pending[step] = self._pending.get(step, 0) + 1

        def run():
            with self._lock:
                self._pending[step] -= 1
            self.run_step(job_id, step)

        self._at(delay, run)

    def enqueue_webhook(self, job_id: str, delay: float = 0.0) -> None:
        self._at(delay, lambda: self.run_webhook(job_id))

    def queue_sizes(self) -> dict[str, int] | None:
        """Steps scheduled in this process and not started yet."""
        with self._lock:
            return dict(self._pending)

    def describe(self) -> dict:
        return {"engine": self.name, "workers": self.settings.job_workers}

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            self._lock.notify_all()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)


def celery_config(settings: Settings) -> dict:
    """Celery settings of the ``celery`` engine (see docs/jobs.md "Reliability").

    * ``task_acks_late`` + ``task_reject_on_worker_lost``: a message is
      acknowledged only after its task returns, and goes back to the queue when
      the worker process dies; deliveries are capped by ``JOB_MAX_ATTEMPTS``
      claims per step in the store.
    * ``worker_prefetch_multiplier=1``: a worker holds one message per process.
    * Redis ``visibility_timeout`` above the hard time limit plus the longest
      retry delay, so a running or delayed task is not redelivered meanwhile.
    * ``task_time_limit`` = ``JOB_TIME_LIMIT`` (hard, kills the process), the
      soft limit 10 % earlier.
    """
    limit = settings.job_time_limit
    visibility = int(limit + settings.job_retry_backoff_max + 120)
    return {
        "broker_url": settings.redis_url,
        "broker_connection_retry_on_startup": True,
        "broker_connection_timeout": 5,
        "broker_transport_options": {"visibility_timeout": visibility, "socket_timeout": 5,
                                     "socket_connect_timeout": 5, "retry_on_timeout": True},
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "task_acks_on_failure_or_timeout": True,
        "worker_prefetch_multiplier": 1,
        "task_time_limit": limit,
        "task_soft_time_limit": max(1.0, limit * 0.9),
        "task_ignore_result": True,
        "task_default_queue": QUEUES["maintenance"],
        "task_serializer": "json",
        "accept_content": ["json"],
        "worker_hijack_root_logger": False,
        "worker_cancel_long_running_tasks_on_connection_loss": False,
        "broker_publish_retry_policy": {"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5,
                                        "interval_max": 1.0},
        "beat_schedule": {
            "watchdog": {"task": TASK_WATCHDOG, "schedule": settings.job_watchdog_interval,
                         "options": {"queue": QUEUES["maintenance"], "expires": settings.job_watchdog_interval}},
            "purge": {"task": TASK_PURGE, "schedule": settings.job_purge_interval,
                      "options": {"queue": QUEUES["maintenance"], "expires": settings.job_purge_interval}},
        },
    }


class CeleryEngine(JobEngine):
    """Celery tasks on Redis; the API only publishes, workers run the steps.

    Args:
        celery: the Celery app (from :func:`make_celery`); built from settings when None.
    """

    name = "celery"

    def __init__(self, settings: Settings, runner: JobRunner, celery=None):
        super().__init__(settings, runner)
        self.celery = celery if celery is not None else make_celery(settings)

    def _send(self, name: str, args: list, queue: str, delay: float) -> None:
        from kombu.exceptions import OperationalError as KombuOperationalError

        try:
            self.celery.send_task(name, args=args, queue=queue, countdown=delay or None, retry=True)
        except (KombuOperationalError, ConnectionError, OSError) as e:
            raise StoreUnavailable(f"The job broker (Redis) is unavailable: {type(e).__name__}") from e

    def enqueue(self, job_id: str, step: str, delay: float = 0.0) -> None:
        self._send(TASK_STEP, [job_id, step], QUEUES[step], delay)

    def enqueue_webhook(self, job_id: str, delay: float = 0.0) -> None:
        self._send(TASK_WEBHOOK, [job_id], QUEUES["webhook"], delay)

    def describe(self) -> dict:
        return {"engine": self.name, "queues": sorted(set(QUEUES.values()))}

    def queue_sizes(self) -> dict[str, int] | None:
        # Kombu's Redis transport keeps a queue's ready messages in a list named
        # after it (tasks here carry no priority, so no priority sub-lists).
        import redis

        try:
            client = redis.Redis.from_url(self.settings.redis_url, socket_timeout=5, socket_connect_timeout=5)
            with client:
                return {step: int(client.llen(QUEUES[step])) for step in ("ocr", "extraction")}
        except Exception as e:  # broker down: resend everything quiet (duplicates are harmless)
            log.warning("watchdog: queue sizes unknown (%s)", type(e).__name__)
            return None

    def stop(self) -> None:
        try:
            self.celery.close()
        except Exception:  # closing a never-connected pool
            pass


def make_celery(settings: Settings, engine_provider=None):
    """Build the Celery app and register the job tasks.

    Args:
        settings: ``REDIS_URL`` and the job settings.
        engine_provider: returns the :class:`CeleryEngine` a worker runs tasks
            with (built once per worker process); None on the publishing side.

    Returns:
        ``celery.Celery``.
    """
    from celery import Celery
    from celery.exceptions import SoftTimeLimitExceeded

    celery = Celery("docextract", set_as_current=False)
    celery.conf.update(celery_config(settings))

    def engine() -> CeleryEngine:
        if engine_provider is None:
            raise RuntimeError("this Celery app only publishes tasks")
        return engine_provider()

    @celery.task(name=TASK_STEP, bind=True)
    def step(self, job_id: str, step_name: str) -> None:
        eng = engine()
        try:
            eng.run_step(job_id, step_name)
        except SoftTimeLimitExceeded:
            from app.errors import JobTimeLimit

            eng.runner.store.fail(job_id, None, {**JobTimeLimit().to_dict(), "stage": step_name})
            eng.enqueue_webhook(job_id)

    @celery.task(name=TASK_WEBHOOK)
    def webhook(job_id: str) -> None:
        engine().run_webhook(job_id)

    @celery.task(name=TASK_WATCHDOG)
    def watchdog() -> int:
        return engine().run_watchdog()

    @celery.task(name=TASK_PURGE)
    def purge() -> int:
        return engine().runner.purge()

    return celery
