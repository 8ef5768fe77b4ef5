"""Deployment of the jobs capability: compose profile "jobs", run.sh worker."""

from __future__ import annotations

import json
import subprocess

from tests.unit.test_deploy import ROOT, compose  # noqa: F401 (fixture)


def test_compose_jobs_profile(compose):  # noqa: F811
    result = compose("--profile", "gpu", "--profile", "jobs", "config", "--format", "json")
    assert result.returncode == 0, result.stderr
    services = json.loads(result.stdout)["services"]
    assert {"redis", "postgres", "worker-ocr", "worker-llm", "api", "vllm"} <= set(services)
    ocr, llm = services["worker-ocr"], services["worker-llm"]
    for worker in (ocr, llm):
        assert worker["command"] == ["./run.sh", "worker"]
        assert worker["environment"]["REDIS_URL"] == "redis://redis:6379/0"
        assert worker["environment"]["DATABASE_URL"].startswith("postgresql://docextract:")
        assert worker["depends_on"]["redis"]["condition"] == "service_healthy"
        assert worker["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert any(v["target"] == "/data/storage" for v in worker["volumes"])
    assert ocr["environment"]["WORKER_QUEUES"] == "ocr,maintenance" and ocr["environment"]["WORKER_BEAT"] == "true"
    assert llm["environment"]["WORKER_QUEUES"] == "extraction,webhooks"
    assert llm["environment"]["LLM_API_URL"] == "http://vllm:8001/v1"
    assert any(v["target"] == "/data/storage" for v in services["api"]["volumes"])


def test_compose_jobs_profile_alone(compose):  # noqa: F811
    result = compose("--profile", "jobs", "config", "--services")
    assert result.returncode == 0, result.stderr
    assert set(result.stdout.split()) == {"redis", "postgres", "worker-ocr", "worker-llm"}


def test_run_sh_worker_needs_redis():
    result = subprocess.run(["bash", str(ROOT / "run.sh"), "worker"], env={"PATH": "/usr/bin:/bin", "REDIS_URL": ""},
                            capture_output=True, text=True, cwd=ROOT, timeout=30)
    assert result.returncode != 0 and "REDIS_URL" in result.stderr
