"""``python -m app.grpc.server`` (what ``./run.sh grpc`` execs) as a real process
with the real OCR engine: it serves (a job runs to the end through SubmitJob and
WatchJob), and SIGTERM drains it (health NOT_SERVING, the in-flight call
completes, exit status 0)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from app.grpc.generated.docextract.v1 import extraction_service_pb2 as v1
from app.grpc.generated.docextract.v1 import extraction_service_pb2_grpc as v1_grpc
from tests.conftest import ROOT, shared_path

pytest.importorskip("rapidocr")


def _start(tmp_path) -> tuple[subprocess.Popen, int, object]:
    env = {**os.environ, "GRPC_HOST": "127.0.0.1", "GRPC_PORT": "0", "GRPC_DRAIN_DELAY": "1",
           "GRPC_SHUTDOWN_GRACE": "60", "OCR_ENGINE": "rapidocr", "HARD_TOKEN": "",
           "LLM_API_URL": "http://127.0.0.1:9/v1", "LOG_LEVEL": "INFO",
           "STORAGE_DIR": str(tmp_path / "storage")}
    log_path = tmp_path / "grpc.log"
    log_file = open(log_path, "wb")
    proc = subprocess.Popen([sys.executable, "-m", "app.grpc.server"], cwd=ROOT, env=env, stdout=log_file,
                            stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        match = re.search(r"\(port (\d+)\)", log_path.read_text())
        if match:
            return proc, int(match.group(1)), log_file
        if proc.poll() is not None:
            pytest.fail(f"gRPC server exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.3)
    proc.kill()
    pytest.fail(f"gRPC server did not start within 180 s:\n{log_path.read_text()[-3000:]}")


def test_sigterm_drains_in_flight_calls(tmp_path):
    receipt = shared_path("sroie", "images", "X00016469612.jpg").read_bytes()
    proc, port, log_file = _start(tmp_path)
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            health_stub = health_pb2_grpc.HealthStub(channel)
            check = health_pb2.HealthCheckRequest(service="")
            assert health_stub.Check(check, timeout=5).status == health_pb2.HealthCheckResponse.SERVING
            # The process runs the jobs capability on its own pipeline (embedded SQLite store + threads).
            stub = v1_grpc.ExtractionServiceStub(channel)
            job = stub.SubmitJob(v1.SubmitJobRequest(files=[v1.JobFile(content=receipt, filename="r.jpg")],
                                                     document_type="receipt"), timeout=30).job
            updates = list(stub.WatchJob(v1.WatchJobRequest(job_id=job.job_id), timeout=300))
            final = updates[-1].job
            assert final.status == v1.JOB_STATUS_SUCCEEDED, final
            assert final.results[0].document_type == "receipt" and final.results[0].fields
            in_flight = v1_grpc.ExtractionServiceStub(channel).Ocr.future(
                v1.OcrRequest(content=receipt, filename="receipt.jpg"), timeout=120)
            time.sleep(0.3)
            proc.send_signal(signal.SIGTERM)
            time.sleep(0.3)
            assert health_stub.Check(check, timeout=5).status == health_pb2.HealthCheckResponse.NOT_SERVING
            response = in_flight.result()
            assert len(response.lines) > 10 and response.page_count == 1
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        log_file.close()
    log = (tmp_path / "grpc.log").read_text()
    assert "draining" in log and "gRPC server stopped" in log
