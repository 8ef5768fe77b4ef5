"""End to end: ``./run.sh api`` runs the API's workers on jemalloc when Debian's
libjemalloc2 is installed (``MEMORY_ALLOCATOR``, docs/reliability.md "Memory"),
and on glibc when told so. Checked in the real gunicorn worker's memory map
(``/proc/<pid>/maps``), not in run.sh's text."""

from __future__ import annotations

import glob
import os
import subprocess
from pathlib import Path

import psutil
import pytest

from tests.conftest import ROOT, free_port, stop, wait_http

pytest.importorskip("rapidocr", reason="the real OCR engine (rapidocr) is needed to build the app")

JEMALLOC = [p for p in glob.glob("/usr/lib/*/libjemalloc.so.2") + glob.glob("/usr/lib*/libjemalloc.so.2")
            if os.path.isfile(p)]


def _start(tmp_path: Path, command: str = "api", **env):
    port = free_port()
    log_path = tmp_path / "api.log"
    full_env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "MALLOC_CONF")}
    full_env.update({"HOST": "127.0.0.1", "PORT": str(port), "GUNICORN_WORKERS": "1", "GUNICORN_THREADS": "2",
                     "OCR_ENGINE": "rapidocr", "HARD_TOKEN": "t", "LLM_WAIT": "false", "METRICS_ENABLED": "false",
                     "LLM_API_URL": "http://127.0.0.1:9/v1", **env})
    with open(log_path, "wb") as log_file:
        proc = subprocess.Popen(["bash", str(ROOT / "run.sh"), command], cwd=ROOT, env=full_env,
                                stdout=log_file, stderr=subprocess.STDOUT)
    wait_http(f"http://127.0.0.1:{port}/health", proc, 120, log_path)
    return proc, log_path


def _worker_maps(proc: subprocess.Popen) -> str:
    """The memory map of a gunicorn worker under ``proc`` (a gunicorn whose parent is gunicorn)."""
    def is_gunicorn(p):
        return any("gunicorn" in part for part in p.cmdline())

    workers = [p for p in psutil.Process(proc.pid).children(recursive=True)
               if is_gunicorn(p) and p.parent() is not None and is_gunicorn(p.parent())]
    assert workers, "no gunicorn worker under the started process"
    return Path(f"/proc/{workers[0].pid}/maps").read_text()


@pytest.mark.skipif(not JEMALLOC, reason="libjemalloc2 is not installed (apt-get install libjemalloc2)")
def test_run_sh_api_puts_the_workers_on_jemalloc_when_installed(tmp_path):
    proc, log_path = _start(tmp_path)
    try:
        assert "libjemalloc.so.2" in _worker_maps(proc)
        assert "memory allocator: jemalloc" in log_path.read_text()
    finally:
        stop(proc)


@pytest.mark.skipif(not JEMALLOC, reason="libjemalloc2 is not installed (apt-get install libjemalloc2)")
def test_run_sh_serve_puts_the_api_on_jemalloc_too(tmp_path):
    # serve starts gunicorn itself (beside the LLM supervisor); "external": no LLM server here.
    proc, log_path = _start(tmp_path, "serve", LLM_BACKEND="external", SKIP_SETUP="true")
    try:
        assert "libjemalloc.so.2" in _worker_maps(proc)
    finally:
        stop(proc)


def test_memory_allocator_glibc_keeps_glibc_malloc(tmp_path):
    proc, log_path = _start(tmp_path, MEMORY_ALLOCATOR="glibc")
    try:
        assert "libjemalloc" not in _worker_maps(proc)
        assert "memory allocator: glibc" in log_path.read_text()
    finally:
        stop(proc)


def test_an_unknown_allocator_stops_run_sh_with_a_message(tmp_path):
    out = subprocess.run(["bash", str(ROOT / "run.sh"), "api"], cwd=ROOT, capture_output=True, text=True, timeout=60,
                         env={**os.environ, "MEMORY_ALLOCATOR": "tcmalloc", "LLM_WAIT": "false"})
    assert out.returncode != 0
    assert "MEMORY_ALLOCATOR must be auto, jemalloc or glibc" in out.stderr
