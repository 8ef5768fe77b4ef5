"""Throughput of the Celery job engine: a burst of jobs, 1 and 2 workers.

Starts real Celery worker processes on real Redis and PostgreSQL (a fresh
database ``docextract_test_bench_<random>`` per run, dropped afterwards),
submits ``--jobs`` jobs through the HTTP API (Flask test client, in process)
as fast as it can, waits until every job has finished and prints, per worker
count:

* submit rate (jobs/s accepted by ``POST /jobs``);
* documents per hour from the first submit to the last job finished;
* a ledger check: every job succeeded exactly once (one ``succeeded`` history
  row, one claim per step), none lost, none duplicated.

Two pipelines:

* ``--pipeline fake`` (default): the test worker app (``tests.jobs_worker_app``)
  with the fake OCR engine and fake LLM: measures the job system itself
  (broker, claims, store, hand-over between the OCR and extraction queues).
* ``--pipeline real``: ``app.jobs.worker`` with the configured OCR engine and the
  LLM server at ``LLM_API_URL`` (must be running), over receipts from
  ``../shared/data/sroie/images``.

Usage::

    nice -n 10 .venv/bin/python bench/jobs_throughput.py --jobs 500 --workers 1,2
    nice -n 10 .venv/bin/python bench/jobs_throughput.py --pipeline real --start-llm --jobs 40 --workers 1 \
        [--concurrency 2] [--worker-env OCR_THREADS=1] [--queues 'ocr,maintenance+extraction,webhooks']

With ``--pipeline real`` the workers are started as deployed, through ``./run.sh worker``
(its memory allocator, ``WORKER_CONCURRENCY`` = ``--concurrency``, ``WORKER_QUEUES``).

Figures are printed, never asserted. On a shared machine run it with ``nice``
and read the load average it prints next to the figures.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

QUEUES = "ocr,extraction,webhooks,maintenance"


def _pg(url: str, sql: str) -> None:
    import pg8000.native

    parts = urlsplit(url)
    conn = pg8000.native.Connection(parts.username or "postgres", host=parts.hostname or "127.0.0.1",
                                    port=parts.port or 5432, password=parts.password, database="postgres")
    conn.run(sql)
    conn.close()


def _start_worker(env: dict, app_module: str, name: str, tmp: Path, beat: bool, *, run_sh: bool = False,
                  concurrency: int | None = None, queues: str = QUEUES) -> subprocess.Popen:
    """One Celery worker: ``./run.sh worker`` (its memory allocator and flags, as deployed) when
    ``run_sh``, else ``celery -A app_module worker`` directly (the test worker app)."""
    log = tmp / f"{name}.log"
    if run_sh:
        args = ["bash", str(ROOT / "run.sh"), "worker"]
        env = {**env, "WORKER_NAME": name, "WORKER_QUEUES": queues, "WORKER_BEAT": "true" if beat else "false"}
        if concurrency is not None:  # else run.sh's default
            env["WORKER_CONCURRENCY"] = str(concurrency)
    else:
        args = [sys.executable, "-m", "celery", "-A", app_module, "worker", "-Q", queues, "-c", str(concurrency or 1),
                "-n", f"{name}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "WARNING"]
        if beat:
            args += ["-B", "-s", str(tmp / f"beat-{name}")]
    with open(log, "ab") as f:
        proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=f, stderr=subprocess.STDOUT,
                                start_new_session=True)
    return proc


def _wait_ready(store, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            store.ping()
            return
        except Exception:
            time.sleep(0.5)
    raise SystemExit("job store not reachable")


def _images(pipeline: str, count: int) -> list[tuple[str, bytes]]:
    if pipeline == "fake":
        from tests.conftest import png_bytes

        return [(f"p{i}.png", png_bytes()) for i in range(count)]
    folder = ROOT.parent / "shared" / "data" / "sroie" / "images"
    files = sorted(folder.glob("*.jpg"))[:count]
    if not files:
        raise SystemExit(f"no images in {folder}")
    return [(p.name, p.read_bytes()) for p in files]


def run(workers: int, args) -> dict:
    from app import create_app
    from app.config import Settings
    from app.jobs.store import JobEvent
    from sqlalchemy import func, select
    from tests.conftest import FakeOcrEngine

    import redis

    db = f"docextract_test_bench_{uuid.uuid4().hex[:8]}"
    _pg(args.pg, f"CREATE DATABASE {db}")
    redis.Redis.from_url(args.redis).flushdb()
    tmp = Path(tempfile.mkdtemp(prefix="jobs-bench-"))
    env = {**os.environ, "REDIS_URL": args.redis, "DATABASE_URL": f"{args.pg.rstrip('/')}/{db}",
           "STORAGE_DIR": str(tmp / "storage"), "HARD_TOKEN": "", "LOG_LEVEL": "WARNING",
           "MAX_QUEUED_JOBS": str(max(1000, args.jobs * 2)), "JOB_REQUEUE_AFTER": "600",
           "PYTHONPATH": str(ROOT), **dict(pair.split("=", 1) for pair in args.worker_env)}
    app_module = "tests.jobs_worker_app" if args.pipeline == "fake" else "app.jobs.worker"
    procs = []
    try:
        settings = Settings.from_env(env, dotenv=False)
        app = create_app(settings, ocr_engine=FakeOcrEngine())  # the API never runs OCR on this engine
        client = app.test_client()
        jobs = app.extensions["docextract_jobs"]
        _wait_ready(jobs.store)
        jobs.ensure_ready()
        queue_sets = args.queues.split("+") if args.queues else [QUEUES]
        procs = [_start_worker(env, app_module, f"w{i}", tmp, beat=i == 0, run_sh=args.pipeline == "real",
                               concurrency=args.concurrency, queues=queue_sets[i % len(queue_sets)])
                 for i in range(workers)]
        time.sleep(args.warmup)  # workers import and connect before the clock starts
        images = _images(args.pipeline, args.jobs if args.pipeline == "real" else 1)
        config = json.dumps({"info": {"shop": "name of the shop", "total": "total amount"}}
                            if args.pipeline == "fake" else {"document_type": "receipt"})
        start = time.monotonic()
        ids = []
        for i in range(args.jobs):
            name, data = images[i % len(images)]
            r = client.post("/jobs", data={"config": config, "image_file": [(io.BytesIO(data), name)]},
                            content_type="multipart/form-data")
            if r.status_code != 202:
                raise SystemExit(f"submit {i}: {r.status_code} {r.get_json()}")
            ids.append(r.get_json()["job_id"])
        submitted = time.monotonic() - start
        deadline = time.monotonic() + args.timeout
        while time.monotonic() < deadline:
            if jobs.store.count_active() == 0:
                break
            time.sleep(0.5)
        rows = [jobs.store.get(i) for i in ids]
        finished = [r for r in rows if r and r["status"] in ("succeeded", "failed", "canceled")]
        last = max((r["finished_at"] for r in finished), default=None)
        first = min(r["created_at"] for r in rows if r)
        elapsed = (last - first).total_seconds() if last else float("nan")
        with jobs.store.session() as s:
            success_rows = s.scalar(select(func.count()).select_from(JobEvent).where(JobEvent.status == "succeeded"))
        load = os.getloadavg()
        result = {
            "workers": workers, "concurrency": args.concurrency, "queues": args.queues or QUEUES,
            "worker_env": args.worker_env, "jobs": args.jobs, "pipeline": args.pipeline,
            "submit_jobs_per_s": round(args.jobs / submitted, 1),
            "elapsed_s": round(elapsed, 1),
            "documents_per_hour": round(len(finished) / elapsed * 3600) if last else None,
            "succeeded": sum(r["status"] == "succeeded" for r in finished),
            "failed": sum(r["status"] == "failed" for r in finished),
            "unfinished": args.jobs - len(finished),
            "distinct_ids": len(set(ids)),
            "succeeded_history_rows": success_rows,
            "claims_per_job": sorted({r["attempts"] for r in rows if r}),
            "load_average_1m": round(load[0], 1),
        }
        jobs.stop()
        return result
    finally:
        for proc in procs:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=30)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(proc.pid, signal.SIGKILL)
        _pg(args.pg, f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=500)
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts to measure")
    parser.add_argument("--pipeline", choices=("fake", "real"), default="fake")
    parser.add_argument("--redis", default=os.environ.get("JOBS_BENCH_REDIS_URL", "redis://127.0.0.1:6379/2"))
    parser.add_argument("--pg", default=os.environ.get("JOBS_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432"))
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds to wait for the burst to finish")
    parser.add_argument("--warmup", type=float, default=8.0, help="seconds for workers to start before timing")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--concurrency", type=int, help="processes per worker (celery -c; default: run.sh's, "
                        "the number of cores, with --pipeline real; 1 with the fake pipeline)")
    parser.add_argument("--queues", help="queues per worker, '+' between workers, e.g. 'ocr+extraction,webhooks,"
                        "maintenance' (worker 0 takes the first set, worker 1 the second, ...); default all")
    parser.add_argument("--worker-env", action="append", default=[], metavar="NAME=VALUE",
                        help="setting for the workers, e.g. OCR_THREADS=1 (repeatable)")
    parser.add_argument("--start-llm", action="store_true",
                        help="--pipeline real: start a llama.cpp server (bench/services.start_llm) for the run")
    args = parser.parse_args(argv)
    if any("=" not in pair for pair in args.worker_env):
        parser.error("--worker-env takes NAME=VALUE")
    llm = None
    if args.start_llm:
        from bench.services import start_llm

        llm = start_llm(18530, Path(tempfile.mkdtemp(prefix="jobs-bench-llm-")))
        os.environ["LLM_API_URL"] = llm.url
    try:
        return _measure(args)
    finally:
        if llm is not None:
            from bench.services import stop

            stop(llm)


def _measure(args) -> int:
    results = []
    for count in (int(x) for x in args.workers.split(",")):
        result = run(count, args)
        results.append(result)
        print(json.dumps(result), flush=True)
    print(f"\n{'workers':>7} {'-c':>3} {'jobs':>5} {'docs/hour':>10} {'elapsed s':>10} {'submit/s':>9} {'ok':>5} "
          f"{'lost':>5} {'dup':>4} {'load':>5}")
    for r in results:
        dup = r["succeeded_history_rows"] - r["succeeded"]
        print(f"{r['workers']:>7} {r['concurrency'] or '-':>3} {r['jobs']:>5} {r['documents_per_hour']!s:>10} {r['elapsed_s']:>10} "
              f"{r['submit_jobs_per_s']:>9} {r['succeeded']:>5} {r['unfinished']:>5} {dup:>4} "
              f"{r['load_average_1m']:>5}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
