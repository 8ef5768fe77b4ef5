"""Start and stop the real service processes for the fault, load and slow-client benchmarks.

``start_llm(port)`` runs llama.cpp's OpenAI-compatible server with the embedded
Gemma 3 270M GGUF (as ``run.sh llm`` does); ``start_api(port, **env)`` runs the
API under gunicorn with ``deploy/gunicorn.conf.py`` (as ``run.sh api`` does).
Both log to files under the given directory and are stopped by ``stop()``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

ROOT = Path(__file__).resolve().parent.parent
GGUF = ROOT / "weights" / "gemma-3-270m-q4_k_m.gguf"
PYTHON = sys.executable


@dataclass
class Proc:
    name: str
    proc: subprocess.Popen
    url: str
    log: Path
    answered_at: float = 0.0  # time.monotonic() when it first answered (/v1/models or /health)
    warmup_s: float | None = None  # seconds of the LLM server's warm-up completion; None when not warmed


def wait_url(url: str, timeout: float, proc: subprocess.Popen | None = None) -> float:
    """Poll ``url`` until it answers 200; returns the seconds waited. Raises RuntimeError on timeout/exit."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} while waiting for {url}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return time.monotonic() - start
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


def start_llm(port: int, log_dir: Path, threads: int | None = None, warm: bool = True,
              extra_args: Sequence[str] = ()) -> Proc:
    """llama.cpp server on 127.0.0.1:``port`` serving ``gemma-3-270m``; waits until /v1/models answers.

    ``extra_args`` go after the flags ``run.sh llm`` passes (a flag named again there wins,
    e.g. ``--logits_all True`` for a comparison).

    With ``warm`` (the default, as ``run.sh``'s supervisor and the systemd unit do) it
    then sends the server one tiny completion (:mod:`app.llm.warmup`) before returning.
    """
    if not GGUF.is_file():
        raise SystemExit(f"{GGUF} not found: run ./run.sh setup")
    log = log_dir / f"llm-{port}.log"
    env = {k: v for k, v in os.environ.items() if k not in ("PORT", "HOST")}
    with open(log, "ab") as out:
        proc = subprocess.Popen([PYTHON, "-m", "llama_cpp.server", "--model", str(GGUF), "--model_alias",
                                 "gemma-3-270m", "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "8192", "--logits_all", "False",
                                 "--n_threads", str(threads or os.cpu_count() or 2), "--verbose", "False",
                                 *extra_args],
                                stdout=out, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}/v1"
    wait_url(url + "/models", 180, proc)
    started = Proc("llm", proc, url, log, answered_at=time.monotonic())
    if warm:
        from app.llm.client import LLMClient
        from app.llm.warmup import warm_up

        started.warmup_s = round(warm_up(LLMClient(base_url=url, model="gemma-3-270m", max_retries=0)), 2)
    return started


def start_api(port: int, log_dir: Path, llm_url: str, **env) -> Proc:
    """gunicorn + the app on 127.0.0.1:``port``; ``env`` overrides settings; waits until /health answers."""
    log = log_dir / f"api-{port}.log"
    full_env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(port), "LLM_API_URL": llm_url,
                "LLM_BACKEND": "llamacpp", **{k: str(v) for k, v in env.items()}}
    with open(log, "ab") as out:
        proc = subprocess.Popen([PYTHON, "-m", "gunicorn", "-c", str(ROOT / "deploy" / "gunicorn.conf.py"),
                                 "app:create_app()"], cwd=ROOT, env=full_env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    wait_url(url + "/health", 180, proc)
    return Proc("api", proc, url, log, answered_at=time.monotonic())


def start_api_run_sh(port: int, log_dir: Path, llm_url: str, **env) -> Proc:
    """``./run.sh api`` on 127.0.0.1:``port`` (gunicorn as run.sh starts it, with its memory
    allocator, ``MEMORY_ALLOCATOR``); ``env`` overrides settings; waits until /health answers."""
    log = log_dir / f"api-run-sh-{port}.log"
    full_env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(port), "LLM_API_URL": llm_url,
                "LLM_BACKEND": "llamacpp", "LLM_WAIT": "false", **{k: str(v) for k, v in env.items()}}
    with open(log, "ab") as out:
        # exec chain: run.sh execs gunicorn, so this pid is gunicorn's master.
        proc = subprocess.Popen(["bash", str(ROOT / "run.sh"), "api"], cwd=ROOT, env=full_env, stdout=out,
                                stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    wait_url(url + "/health", 180, proc)
    return Proc("api", proc, url, log, answered_at=time.monotonic())


def stop(p: Proc | None, sig: int = signal.SIGTERM) -> None:
    if p is None or p.proc.poll() is not None:
        return
    try:
        os.kill(p.proc.pid, signal.SIGCONT)  # a stopped process cannot act on SIGTERM
    except ProcessLookupError:
        return
    p.proc.send_signal(sig)
    try:
        p.proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        p.proc.kill()
        p.proc.wait()


def rss_tree(pid: int) -> dict[str, float]:
    """RSS in MB of ``pid`` and each of its descendants, keyed ``name:pid``."""
    import psutil

    out = {}
    try:
        root = psutil.Process(pid)
        for p in [root, *root.children(recursive=True)]:
            try:
                out[f"{p.name()}:{p.pid}"] = round(p.memory_info().rss / 1e6, 1)
            except psutil.Error:
                pass
    except psutil.Error:
        pass
    return out
