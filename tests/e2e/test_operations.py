"""Operations under gunicorn (deploy/gunicorn.conf.py, 2 workers): metrics
merged across workers (multiprocess mode), the metrics port, JSON logs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import ROOT, free_port, png_bytes, stop, wait_http

TOKEN = "ops-e2e-token"


def start(tmp_path, **env):
    port = free_port()
    log_path = tmp_path / "gunicorn.log"
    full_env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(port), "GUNICORN_WORKERS": "2",
                "GUNICORN_THREADS": "2", "HARD_TOKEN": TOKEN, **env}
    full_env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    gunicorn = Path(sys.executable).with_name("gunicorn")
    with open(log_path, "wb") as log_file:
        proc = subprocess.Popen([str(gunicorn), "-c", str(ROOT / "deploy" / "gunicorn.conf.py"),
                                 "tests.e2e.ops_apps:fake_app()"], cwd=ROOT, env=full_env, stdout=log_file,
                                stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    wait_http(base + "/livez", proc, 60, log_path)
    return base, proc, log_path


def samples(text: str) -> dict:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def extract_many(base, n):
    session = requests.Session()  # keep-alive would pin one worker: close each connection
    for _ in range(n):
        r = session.post(base + "/extract", headers={"X-API-Token": TOKEN, "Connection": "close"},
                         files={"image_file": ("a.png", png_bytes())},
                         data={"config": json.dumps({"document_type": "receipt"})}, timeout=30)
        assert r.status_code == 200, r.text


def test_metrics_merged_across_workers(tmp_path):
    base, proc, log_path = start(tmp_path)
    try:
        assert requests.get(base + "/metrics", timeout=10).status_code == 401
        extract_many(base, 12)
        r = requests.get(base + "/metrics", headers={"X-API-Token": TOKEN}, timeout=10)
        assert r.status_code == 200
        got = samples(r.text)
        assert got[("docextract_http_requests_total",
                    (("method", "POST"), ("route", "/extract"), ("status", "200")))] == 12
        assert got[("docextract_stage_duration_seconds_count",
                    (("document_type", "receipt"), ("stage", "total")))] == 12
        pids = {dict(labels)["pid"] for (name, labels) in got if name == "docextract_process_resident_memory_bytes"}
        assert len(pids) >= 1
        assert requests.get(base + "/readyz", timeout=10).json()["status"] == "ready"
    finally:
        stop(proc)
    assert "Traceback" not in log_path.read_text()


def test_metrics_port_and_json_logs(tmp_path):
    metrics_port = free_port()
    base, proc, log_path = start(tmp_path, METRICS_PORT=str(metrics_port), LOG_FORMAT="json")
    try:
        extract_many(base, 3)
        assert requests.get(base + "/metrics", headers={"X-API-Token": TOKEN}, timeout=10).status_code == 404
        text = requests.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).text
        got = samples(text)
        assert got[("docextract_http_requests_total",
                    (("method", "POST"), ("route", "/extract"), ("status", "200")))] == 3
    finally:
        stop(proc)
    time.sleep(0.2)
    lines = [line for line in log_path.read_text().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    requests_logged = [r for r in records if r.get("route") == "/extract"]
    assert len(requests_logged) == 3 and all(r["status"] == 200 and r["document_type"] == "receipt"
                                             and len(r["trace_id"]) == 32 for r in requests_logged)
