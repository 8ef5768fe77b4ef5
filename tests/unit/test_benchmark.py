"""The benchmark's memory sampler (bench/benchmark.py)."""

import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_sampled_child_process_is_not_counted_twice():
    spec = importlib.util.spec_from_file_location("bench_benchmark", ROOT / "bench" / "benchmark.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    # The LLM server the benchmark starts is its child: it must count as llm_server only.
    import psutil

    child = subprocess.Popen([sys.executable, "-c", "x = bytearray(200 * 2**20); import time; time.sleep(5)"])
    try:
        time.sleep(1.5)
        me = psutil.Process()
        # This process and its other children (an LLM server a test fixture started, say).
        own = me.memory_info().rss + sum(c.memory_info().rss for c in me.children(recursive=True)
                                          if c.pid != child.pid)
        with bench.PeakRss({"api_process": os.getpid(), "llm_server": child.pid}, interval=0.05) as mem:
            time.sleep(0.3)
    finally:
        child.kill()
        child.wait()
    assert mem.peak["llm_server"] >= 200 * 2**20
    assert mem.peak["api_process"] < own + 100 * 2**20  # this process alone, not this process + the child
