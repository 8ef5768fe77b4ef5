"""app/serving/memory.py: glibc malloc settings applied in each gunicorn worker.

Each case runs in a fresh interpreter (mallopt changes the whole process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# A freed 4 MiB mmapped block raises glibc's dynamic mmap threshold to 4 MiB, so the next
# 4 MiB block comes from an arena's heap (kept after free); with the threshold fixed, it is
# mmapped again (returned to the system on free). mallinfo2().hblks counts mmapped blocks.
PROBE = r"""
import ctypes, json, sys
sys.path.insert(0, sys.argv[1])
from app.serving.memory import tune_malloc
applied = tune_malloc() if sys.argv[2] == "tune" else {}
libc = ctypes.CDLL("libc.so.6")
class MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                "fsmblks", "uordblks", "fordblks", "keepcost")]
libc.mallinfo2.restype = MallInfo2
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
libc.free(libc.malloc(4 << 20))
before = libc.mallinfo2().hblks
block = libc.malloc(4 << 20)
print(json.dumps({"applied": applied, "mmapped": libc.mallinfo2().hblks - before}))
"""


def run_probe(mode: str, **env) -> dict:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    out = subprocess.run([sys.executable, "-c", PROBE, str(ROOT), mode], env={**full_env, **env},
                         capture_output=True, text=True, timeout=60, check=True)
    return json.loads(out.stdout)


@pytest.fixture(autouse=True)
def _glibc_only():
    if not (hasattr(os, "confstr") and os.confstr("CS_GNU_LIBC_VERSION")):
        pytest.skip("not glibc: tune_malloc does nothing there")


def test_tuned_worker_returns_large_freed_buffers_to_the_system():
    assert run_probe("plain")["mmapped"] == 0  # glibc's dynamic threshold: kept in the heap
    tuned = run_probe("tune")
    assert tuned["applied"] == {"MALLOC_ARENA_MAX": 2, "MALLOC_MMAP_THRESHOLD_": 131072}
    assert tuned["mmapped"] == 1


def test_operator_values_and_the_switch_are_respected():
    assert run_probe("tune", MALLOC_ARENA_MAX="4")["applied"] == {"MALLOC_MMAP_THRESHOLD_": 131072}
    off = run_probe("tune", MALLOC_TUNING="false")
    assert off["applied"] == {} and off["mmapped"] == 0


CONF_PROBE = r"""
import runpy, sys, types
sys.path.insert(0, sys.argv[1])
conf = runpy.run_path(sys.argv[1] + "/deploy/gunicorn.conf.py")
lines = []
server = types.SimpleNamespace(log=types.SimpleNamespace(debug=lambda msg, *a: lines.append(msg % a)))
conf["post_fork"](server, types.SimpleNamespace(pid=4242))
print(lines[0])
"""


def test_gunicorn_conf_applies_it_after_the_fork():
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    env["METRICS_ENABLED"] = "false"
    out = subprocess.run([sys.executable, "-c", CONF_PROBE, str(ROOT)], env=env, capture_output=True, text=True,
                         timeout=60, check=True)
    assert out.stdout.strip() == "worker 4242: malloc MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=131072"


def test_a_preloaded_allocator_is_recognised_and_glibc_is_left_alone():
    from app.serving.memory import preloaded_allocator, tune_malloc

    assert preloaded_allocator({"LD_PRELOAD": "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"}) == "jemalloc"
    assert preloaded_allocator({"LD_PRELOAD": "/opt/libfoo.so:/usr/lib/libmimalloc.so.2"}) == "mimalloc"
    assert preloaded_allocator({"LD_PRELOAD": "/opt/libfoo.so"}) is None
    assert preloaded_allocator({}) is None
    assert tune_malloc({"LD_PRELOAD": "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"}) == {}
