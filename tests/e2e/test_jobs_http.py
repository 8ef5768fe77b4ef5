"""End to end on the embedded default: the real app under gunicorn with two
worker processes sharing one SQLite job store, real OCR, the real llama.cpp
server; a job of two receipts with a callback to the sample webhook receiver
(bench/webhook_receiver.py), which verifies the Standard Webhooks signature."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import requests

from tests.conftest import ROOT, free_port, stop
from tests.e2e.test_http import TOKEN, receipt, start_gunicorn

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def test_job_with_verified_webhook_on_the_embedded_engine(llama_server, tmp_path_factory, tmp_path):
    events = tmp_path / "events.jsonl"
    port = free_port()
    receiver = subprocess.Popen([sys.executable, str(ROOT / "bench" / "webhook_receiver.py"), "--port", str(port),
                                 "--log", str(events)], env={"WEBHOOK_SECRET": SECRET, "PATH": "/usr/bin:/bin"},
                                stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    base, proc = start_gunicorn(tmp_path_factory, "app:create_app()", LLM_API_URL=llama_server.url,
                                GUNICORN_WORKERS="2", STORAGE_DIR=str(tmp_path / "storage"), REDIS_URL="",
                                DATABASE_URL="", WEBHOOK_SECRET=SECRET, WEBHOOK_ALLOW_PRIVATE="true")
    try:
        headers = {"X-API-Token": TOKEN}
        r = requests.post(base + "/jobs", headers=headers, timeout=60,
                          files=[receipt(), receipt("X00016469612")],
                          data={"config": json.dumps({"document_type": "receipt"}),
                                "callback_url": f"http://127.0.0.1:{port}/hook"})
        assert r.status_code == 202, r.text
        url = base + r.json()["status_url"]
        assert r.headers["Location"] == r.json()["status_url"]
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline:
            job = requests.get(url + "?wait=30", headers=headers, timeout=60).json()
            if job["status"] not in ("queued", "running"):
                break
        assert job["status"] == "succeeded", job
        assert job["result"]["processed_count"] == 2 and job["progress"]["pages_ocr"] == 2
        assert job["review_status"] in ("approved", "manual_review")
        deadline = time.monotonic() + 60
        while not (events.exists() and events.read_text().endswith("\n")) and time.monotonic() < deadline:
            time.sleep(0.2)
        event = json.loads(events.read_text().splitlines()[0])
        assert event["verified"] and event["event"]["job_id"] == job["job_id"]
        assert event["event"]["type"] == "job.succeeded"
        listed = requests.get(base + f"/jobs?review_status={job['review_status']}", headers=headers, timeout=30)
        assert job["job_id"] in [j["job_id"] for j in listed.json()["jobs"]]
    finally:
        stop(proc)
        receiver.terminate()
        receiver.wait(timeout=10)
