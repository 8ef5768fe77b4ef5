"""Celery worker entry point: ``celery -A app.jobs.worker worker -Q ocr,extraction,...``
(``./run.sh worker``).

Like ``gunicorn 'app:create_app()'`` this module is a process entry point and
is imported only by the Celery command line: it reads the settings once and
builds a Celery app whose tasks run with services built in each worker
process on first use (the OCR engine only when an ``ocr`` step runs, so an
extraction-only worker loads no OCR model). Tests build their own worker app
with :func:`create_worker_app` and fakes.
"""

from __future__ import annotations

import logging
import os
import threading

from app.config import Settings

log = logging.getLogger(__name__)


def create_worker_app(settings: Settings | None = None, *, ocr_engine=None, llm_client=None):
    """Build the worker's Celery app.

    Args:
        settings: read from the environment when None.
        ocr_engine: an OCR engine to use instead of building ``OCR_ENGINE`` (tests).
        llm_client: an :class:`app.llm.client.LLMClient` to use instead of one from settings (tests).

    Returns:
        ``celery.Celery`` with the job tasks registered.
    """
    from celery import signals

    from app.observability.logs import configure_logging
    from app.jobs.engine import make_celery

    from app.config import ConfigError

    settings = settings or Settings.from_env()
    if settings.jobs_engine_name != "celery" or not settings.redis_url or not settings.database_url:
        raise ConfigError("a job worker needs REDIS_URL (the broker) and DATABASE_URL (the job store); "
                          "without them the API runs jobs itself (JOBS_ENGINE=local)")
    configure_logging(settings.log_level)
    state: dict = {}
    lock = threading.Lock()

    def services():
        # One set per worker process (prefork children build their own after the fork).
        with lock:
            if state.get("pid") != os.getpid():
                state.clear()
                state["pid"] = os.getpid()
                state["jobs"] = _build(settings, celery, ocr_engine, llm_client)
            return state["jobs"]

    celery = make_celery(settings, engine_provider=lambda: services().engine)

    @signals.worker_ready.connect(weak=False)
    def _recover(**_):
        # A worker starting after a crash sends again what its dead predecessor held.
        try:
            jobs = services()
            jobs.ensure_ready()
            jobs.engine.run_watchdog()
        except Exception as e:  # the store may still be starting; beat runs the watchdog again
            log.warning("start-up watchdog skipped: %s", e)

    return celery


def _build(settings: Settings, celery, ocr_engine, llm_client):
    # The parts app.services builds for every door, each on first use.
    from app.jobs.service import build_jobs
    from app.services import make_extractor, make_ocr_engine

    cache: dict = {}

    def get_ocr():
        if "ocr" not in cache:
            cache["ocr"] = make_ocr_engine(settings, ocr_engine)
        return cache["ocr"]

    def get_extractor():
        if "extractor" not in cache:
            cache["extractor"] = make_extractor(settings, llm_client)[1]
        return cache["extractor"]

    jobs = build_jobs(settings, get_ocr, get_extractor, celery=celery)
    jobs.ensure_ready()
    return jobs


def __getattr__(name: str):
    # ``celery -A app.jobs.worker`` looks up the attribute ``celery``: built on that first look-up.
    if name == "celery":
        app = create_worker_app()
        globals()["celery"] = app
        return app
    raise AttributeError(name)
