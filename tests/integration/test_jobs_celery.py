"""Jobs on the ``celery`` engine against real Redis and PostgreSQL, with real
Celery worker processes (``celery -A tests.jobs_worker_app worker``; the fake
OCR engine and fake LLM are injected there: the models are not under test).

Redis: ``JOBS_TEST_REDIS_URL`` (default ``redis://127.0.0.1:6379/1``); the
Redis-restart test runs its own ``redis-server`` on a free port. PostgreSQL:
``JOBS_TEST_PG_URL`` (default ``postgresql://postgres@127.0.0.1:5432``); each
test gets a fresh database ``docextract_test_<random>``. A test whose server is
unreachable is skipped with the reason (``./run.sh test`` starts both).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from app import create_app
from app.config import Settings
from tests.conftest import ROOT, FakeOcrEngine, free_port, png_bytes

REDIS_URL = os.environ.get("JOBS_TEST_REDIS_URL", "redis://127.0.0.1:6379/1")
PG_URL = os.environ.get("JOBS_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432")
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
INFO = {"shop": "name of the shop", "total": "total amount"}
QUEUES = "ocr,extraction,webhooks,maintenance"


def _redis_client(url: str):
    import redis

    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def _pg_admin():
    import pg8000.native

    parts = urlsplit(PG_URL)
    return pg8000.native.Connection(parts.username or "postgres", host=parts.hostname or "127.0.0.1",
                                    port=parts.port or 5432, password=parts.password, database="postgres",
                                    timeout=5)


@pytest.fixture
def redis_url():
    try:
        client = _redis_client(REDIS_URL)
        client.ping()
    except Exception as e:
        pytest.skip(f"Redis not reachable at {REDIS_URL} ({type(e).__name__}); ./run.sh test starts it")
    client.flushdb()
    yield REDIS_URL
    client.flushdb()


@pytest.fixture
def database_url():
    try:
        admin = _pg_admin()
    except Exception as e:
        pytest.skip(f"PostgreSQL not reachable at {PG_URL} ({type(e).__name__}); ./run.sh test starts it")
    name = f"docextract_test_{uuid.uuid4().hex[:10]}"
    admin.run(f"CREATE DATABASE {name}")
    yield f"{PG_URL.rstrip('/')}/{name}"
    admin.run(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.close()


class Stack:
    """The API (in-process Flask app) plus worker processes and a webhook receiver."""

    def __init__(self, tmp: Path, redis_url: str, database_url: str, **env):
        self.tmp = tmp
        self.env = {**os.environ, "REDIS_URL": redis_url, "DATABASE_URL": database_url,
                    "STORAGE_DIR": str(tmp / "storage"), "HARD_TOKEN": "", "LOG_LEVEL": "INFO",
                    "JOB_TIME_LIMIT": "20", "JOB_REQUEUE_AFTER": "3", "JOB_WATCHDOG_INTERVAL": "1",
                    "JOB_RETRY_BACKOFF": "0.2", "JOB_RETRY_BACKOFF_MAX": "0.5", "JOB_MAX_ATTEMPTS": "3",
                    "WEBHOOK_SECRET": SECRET, "WEBHOOK_ALLOW_PRIVATE": "true", "WEBHOOK_TIMEOUT": "3",
                    "JOBS_TEST_LLM_DOWN": str(tmp / "llm-down"), "PYTHONPATH": str(ROOT),
                    **{k: str(v) for k, v in env.items()}}
        self.settings = Settings.from_env(self.env, dotenv=False)
        self.app = create_app(self.settings, ocr_engine=FakeOcrEngine())
        self.app.testing = True
        self.client = self.app.test_client()
        self.workers: dict[str, subprocess.Popen] = {}
        self.receiver = None
        self.events = tmp / "webhooks.jsonl"

    # ---------------------------------------------------------------- processes
    def start_worker(self, name: str, queues: str = QUEUES, beat: bool = True, concurrency: int = 1):
        log = self.tmp / f"{name}.log"
        args = [sys.executable, "-m", "celery", "-A", "tests.jobs_worker_app", "worker", "-Q", queues,
                "-c", str(concurrency), "-n", f"{name}@%h", "--without-gossip", "--without-mingle",
                "--without-heartbeat", "-l", "INFO"]
        if beat:
            args += ["-B", "-s", str(self.tmp / f"beat-{name}")]
        with open(log, "ab") as f:
            proc = subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=f, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        self.workers[name] = proc
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"worker {name} exited {proc.returncode}:\n{log.read_text()[-3000:]}")
            if " ready." in log.read_text(errors="replace"):
                return proc
            time.sleep(0.3)
        pytest.fail(f"worker {name} not ready in 90 s:\n{log.read_text()[-3000:]}")

    def kill_worker(self, name: str, sig=signal.SIGKILL):
        proc = self.workers.pop(name)
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)

    def start_receiver(self) -> str:
        port = free_port()
        log = self.tmp / "receiver.log"
        with open(log, "ab") as f:
            self.receiver = subprocess.Popen(
                [sys.executable, str(ROOT / "bench" / "webhook_receiver.py"), "--port", str(port), "--log",
                 str(self.events)], env=self.env, stdout=f, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while "listening" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        return f"http://127.0.0.1:{port}/hook"

    def close(self):
        for name in list(self.workers):
            self.kill_worker(name, signal.SIGTERM)
        if self.receiver is not None:
            self.receiver.terminate()
            self.receiver.wait(timeout=10)
        self.app.extensions["docextract_jobs"].stop()

    # ---------------------------------------------------------------- API
    def submit(self, files: int = 1, callback_url: str | None = None, key: str | None = None):
        data = {"config": json.dumps({"info": INFO}),
                "image_file": [(io.BytesIO(png_bytes()), f"p{i}.png") for i in range(files)]}
        if callback_url:
            data["callback_url"] = callback_url
        r = self.client.post("/jobs", data=data, content_type="multipart/form-data",
                             headers={"Idempotency-Key": key} if key else {})
        assert r.status_code in (200, 202), r.get_json()
        return r.get_json()["job_id"]

    def job(self, job_id: str) -> dict:
        return self.client.get(f"/jobs/{job_id}").get_json()

    def wait_all(self, ids, timeout: float) -> dict[str, dict]:
        deadline = time.monotonic() + timeout
        pending, done = set(ids), {}
        while pending and time.monotonic() < deadline:
            for job_id in list(pending):
                body = self.job(job_id)
                if body["status"] in ("succeeded", "failed", "canceled"):
                    done[job_id] = body
                    pending.discard(job_id)
            time.sleep(0.3)
        assert not pending, f"{len(pending)} jobs unfinished: " + ", ".join(
            f"{j}={self.job(j)['status']}/{self.job(j)['stage']}" for j in list(pending)[:5]) + "\n" + "\n".join(
            (self.tmp / f"{n}.log").read_text()[-1500:] for n in self.workers)
        return done

    def webhook_events(self) -> list[dict]:
        if not self.events.exists():
            return []
        return [json.loads(line) for line in self.events.read_text().splitlines() if line.strip()]


@pytest.fixture
def stack_factory(tmp_path, redis_url, database_url):
    stacks = []

    def make(**env):
        stack = Stack(tmp_path, env.pop("redis_url", redis_url), database_url, **env)
        stacks.append(stack)
        return stack

    yield make
    for stack in stacks:
        stack.close()


def _succeeded_events(job: dict) -> int:
    return sum(1 for h in job["history"] if h["status"] == "succeeded")


def test_job_on_celery_with_verified_webhook(stack_factory):
    stack = stack_factory()
    stack.start_worker("w1")
    hook = stack.start_receiver()
    ids = [stack.submit(files=2, callback_url=hook) for _ in range(2)]
    jobs = stack.wait_all(ids, 60)
    for job_id, job in jobs.items():
        assert job["status"] == "succeeded", job
        assert job["result"]["processed_count"] == 2
        assert job["result"]["results"][0]["extracted_fields"] == {"shop": "MINI MART ABC", "total": "3.00"}
    deadline = time.monotonic() + 20
    while len(stack.webhook_events()) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    events = stack.webhook_events()
    assert {e["event"]["job_id"] for e in events} == set(ids)
    for e in events:
        assert e["verified"] and e["event"]["type"] == "job.succeeded"
        assert e["event"]["review_status"] in ("approved", "manual_review")
        assert e["webhook_id"] == jobs[e["event"]["job_id"]]["webhook"]["webhook_id"]
    log = stack.job(ids[0])["webhook"]["deliveries"]
    assert log and log[-1]["delivered"] and log[-1]["status_code"] == 204


def test_worker_sigkilled_mid_job_completes_after_restart(stack_factory):
    stack = stack_factory(JOBS_TEST_OCR_DELAY=3, JOB_TIME_LIMIT=10)  # lease 15 s
    stack.start_worker("w1")
    hook = stack.start_receiver()
    job_id = stack.submit(files=1, callback_url=hook)
    deadline = time.monotonic() + 30
    while stack.job(job_id)["stage"] != "ocr" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert stack.job(job_id)["status"] == "running"
    stack.kill_worker("w1", signal.SIGKILL)
    stack.start_worker("w2")
    job = stack.wait_all([job_id], 60)[job_id]
    assert job["status"] == "succeeded", job
    assert job["attempts"] == 3  # ocr (killed), ocr again after the lease expired, extraction
    assert _succeeded_events(job) == 1
    assert any("lease" in (h["message"] or "") for h in job["history"])
    deadline = time.monotonic() + 20
    while not stack.webhook_events() and time.monotonic() < deadline:
        time.sleep(0.2)
    events = stack.webhook_events()
    assert events and {e["webhook_id"] for e in events} == {job["webhook"]["webhook_id"]}


def test_llm_down_retries_then_fails_and_resubmitted_jobs_succeed(stack_factory):
    stack = stack_factory()
    (stack.tmp / "llm-down").write_text("down")
    stack.start_worker("w1")
    ids = [stack.submit() for _ in range(3)]
    jobs = stack.wait_all(ids, 60)
    for job in jobs.values():
        assert job["status"] == "failed" and job["error"]["error_code"] == "LLM_UNAVAILABLE", job
        assert job["attempts"] == 4  # ocr once, extraction JOB_MAX_ATTEMPTS=3 times with backoff
        assert sum("retry after LLM_UNAVAILABLE" in (h["message"] or "") for h in job["history"]) == 2
    listed = stack.client.get("/jobs?status=failed").get_json()["jobs"]
    assert {j["job_id"] for j in listed} == set(ids)  # nothing lost
    (stack.tmp / "llm-down").unlink()
    again = [stack.submit(key=f"retry-{i}") for i in range(3)]
    assert all(j["status"] == "succeeded" for j in stack.wait_all(again, 60).values())


def test_burst_split_queues_none_lost_or_duplicated(stack_factory):
    stack = stack_factory()
    stack.start_worker("ocr", queues="ocr,maintenance")
    stack.start_worker("llm", queues="extraction,webhooks", beat=False)
    ids = [stack.submit() for _ in range(20)]
    assert len(set(ids)) == 20
    jobs = stack.wait_all(ids, 90)
    assert all(j["status"] == "succeeded" for j in jobs.values())
    assert all(j["attempts"] == 2 and _succeeded_events(j) == 1 for j in jobs.values())
    ocr_log = (stack.tmp / "ocr.log").read_text()
    llm_log = (stack.tmp / "llm.log").read_text()
    assert ocr_log.count("docextract.jobs.step[") and llm_log.count("docextract.jobs.step[")


def test_redis_restarted_mid_burst(stack_factory, tmp_path):
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed (Debian package redis-server); ./run.sh test installs it as root")
    port = free_port()
    args = [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", str(tmp_path)]

    def start_redis():
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                _redis_client(f"redis://127.0.0.1:{port}/0").ping()
                return proc
            except Exception:
                time.sleep(0.1)
        pytest.fail("private redis-server did not start")

    redis_proc = start_redis()
    try:
        stack = stack_factory(redis_url=f"redis://127.0.0.1:{port}/0", JOBS_TEST_OCR_DELAY=0.3)
        stack.start_worker("w1")
        ids = [stack.submit() for _ in range(12)]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and sum(stack.job(i)["status"] == "succeeded" for i in ids) < 2:
            time.sleep(0.2)
        redis_proc.terminate()  # queued messages are lost: --save "" --appendonly no
        redis_proc.wait(timeout=10)
        r = stack.client.post("/jobs", data={"config": json.dumps({"info": INFO}),
                                             "image_file": [(io.BytesIO(png_bytes()), "x.png")]},
                              content_type="multipart/form-data")
        assert r.status_code == 503 and r.get_json()["error_code"] == "STORE_UNAVAILABLE"
        redis_proc = start_redis()
        jobs = stack.wait_all(ids, 90)
        assert all(j["status"] == "succeeded" and _succeeded_events(j) == 1 for j in jobs.values())
        assert len(stack.client.get("/jobs?limit=100").get_json()["jobs"]) == 12  # the 503 job was not kept
    finally:
        redis_proc.terminate()
        redis_proc.wait(timeout=10)


def test_postgres_unavailable_at_submit_is_503(redis_url, tmp_path):
    port = free_port()  # nothing listens there
    env = {"REDIS_URL": redis_url, "DATABASE_URL": f"postgresql://postgres@127.0.0.1:{port}/docextract_test_x",
           "STORAGE_DIR": str(tmp_path / "storage"), "HARD_TOKEN": ""}
    app = create_app(Settings.from_env(env, dotenv=False), ocr_engine=FakeOcrEngine())
    client = app.test_client()
    r = client.post("/jobs", data={"config": json.dumps({"info": INFO}),
                                   "image_file": [(io.BytesIO(png_bytes()), "x.png")]},
                    content_type="multipart/form-data")
    assert r.status_code == 503 and r.get_json()["error_code"] == "STORE_UNAVAILABLE"
    assert r.headers["Retry-After"]
    assert client.get("/jobs").status_code == 503
    assert not any((tmp_path / "storage").glob("*/0"))  # no orphaned upload
    app.extensions["docextract_jobs"].stop()
