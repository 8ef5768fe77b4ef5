"""glibc malloc settings for the API's worker processes.

A gunicorn worker grew from 1.2 to 2.1-2.35 GB RSS in 10 minutes under load
(docs/reliability.md, "Memory"). Not a leak: glibc's allocator kept what the OCR
freed. Two of its defaults do that with this workload:

* **one malloc arena per thread, up to 8 per core** (``M_ARENA_MAX``): a worker
  has 8 request threads plus ONNX Runtime's, and each OCR run allocates its
  page-sized buffers (decoded image, resized copies, detector input and maps,
  recogniser batches: megabytes each) in whichever arena its thread got, where
  the freed space stays for that arena's next use;
* **a dynamic mmap threshold** (``M_MMAP_THRESHOLD``): a block over 128 KiB is
  first given its own ``mmap`` (returned to the system on ``free``), but each
  such ``free`` raises the threshold to the block's size (up to 32 MiB), so
  afterwards those buffers come from the arenas' heaps and fragment them.

``run.sh`` preloads jemalloc instead when Debian's ``libjemalloc2`` is installed
(``MEMORY_ALLOCATOR``, measured in docs/reliability.md, "Memory": flat memory
for less CPU than this tuning); then nothing here applies. Otherwise
:func:`tune_malloc` sets ``M_ARENA_MAX`` to 2 and fixes ``M_MMAP_THRESHOLD`` at
128 KiB (which also turns the dynamic threshold off) with ``mallopt(3)``, in
each worker right after the fork (``post_fork`` in ``deploy/gunicorn.conf.py``),
before the app starts any thread. So every way the API is started (``run.sh``,
the systemd unit, the image, gunicorn by hand) gets them. A variable already
set in the environment (``MALLOC_ARENA_MAX``, ``MALLOC_MMAP_THRESHOLD_``, read
by glibc itself at start) is left as the operator set it; ``MALLOC_TUNING=false``
keeps glibc's defaults. Elsewhere than glibc (musl, macOS) nothing is done.
Measured with ``bench/memory_probe.py`` and ``bench/load.py``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from typing import Mapping

#: glibc's own environment variable -> (mallopt parameter, the value we set).
DEFAULTS: dict[str, tuple[int, int]] = {
    "MALLOC_ARENA_MAX": (-8, 2),  # M_ARENA_MAX
    "MALLOC_MMAP_THRESHOLD_": (-3, 128 * 1024),  # M_MMAP_THRESHOLD (bytes; fixing it disables the dynamic one)
}


def _libc():
    if not hasattr(os, "confstr"):
        return None
    try:
        if not os.confstr("CS_GNU_LIBC_VERSION"):
            return None
    except (ValueError, OSError):
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None


#: Allocators that replace glibc's malloc when preloaded (run.sh preloads jemalloc, ``MEMORY_ALLOCATOR``;
#: an operator may preload another).
PRELOADED = ("jemalloc", "mimalloc", "tcmalloc")


def preloaded_allocator(environ: Mapping[str, str] | None = None) -> str | None:
    """The malloc replacement named in ``LD_PRELOAD`` (``"jemalloc"``, ...), or None.

    ``LD_PRELOAD`` is read by the dynamic loader when the process starts, so a
    library named there is the process's malloc from its first allocation.
    """
    environ = os.environ if environ is None else environ
    for entry in environ.get("LD_PRELOAD", "").replace(" ", ":").split(":"):
        name = os.path.basename(entry)
        for allocator in PRELOADED:
            if name.startswith(f"lib{allocator}"):
                return allocator
    return None


def tune_malloc(environ: Mapping[str, str] | None = None) -> dict[str, int]:
    """Apply :data:`DEFAULTS` with ``mallopt(3)``, except those set in ``environ``.

    Call it in a new process before it starts threads (a gunicorn worker's
    ``post_fork``).

    Args:
        environ: the process environment (default ``os.environ``); its
            ``MALLOC_TUNING=false`` turns this off.

    Returns:
        ``{variable: value}`` of what was set (empty when off, outside glibc,
        when another allocator is preloaded (:func:`preloaded_allocator`), or
        everything was set by the operator).
    """
    environ = os.environ if environ is None else environ
    if environ.get("MALLOC_TUNING", "true").strip().lower() in ("0", "false", "no", "off"):
        return {}
    if preloaded_allocator(environ):
        return {}  # malloc is jemalloc's (run.sh): mallopt would tune glibc's unused allocator
    libc = _libc()
    if libc is None:
        return {}
    applied = {}
    for name, (param, value) in DEFAULTS.items():
        if environ.get(name, "").strip():
            continue  # glibc read it at start: the operator's value stands
        if libc.mallopt(ctypes.c_int(param), ctypes.c_int(value)) == 1:
            applied[name] = value
    return applied
