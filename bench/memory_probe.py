"""RSS of one API process while receipts are extracted by a few threads.

Builds the real app in-process (``create_app``: the configured OCR engine, the LLM
unreachable so only the deterministic readers answer), posts ``--requests``
receipts (SROIE and MC-OCR images from ``../shared/data``, taken in turn) with
``config={"document_type": "receipt"}`` from ``--threads`` threads, and prints the
process's resident set size (MB) after 8 requests and at each quarter of the run.
Run it once per allocator setting to compare them (glibc's ``MALLOC_*`` variables
and ``LD_PRELOAD`` must be set before the process starts)::

    nice -n 10 .venv/bin/python bench/memory_probe.py --requests 120
    MALLOC_ARENA_MAX=2 nice -n 10 .venv/bin/python bench/memory_probe.py --requests 120
    nice -n 10 .venv/bin/python bench/memory_probe.py --threads 8 --active 2 --requests 80 --every 10

``--threads 8 --active 2`` is a gunicorn worker's shape (8 request threads, 2 of
them processing at once, the others queued): the OCR runs then move between
threads, and each thread may get its own glibc malloc arena. Also printed: the
median and mean seconds per processed request (the latency cost of a setting;
compare runs made under the same load, whose ``loadavg`` is printed too), and the
process's CPU seconds per request after the 8th, which other work on the machine
disturbs much less.

Figures are printed, never asserted (docs/reliability.md, "Memory").
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data"


def _minor_faults() -> int | None:
    """Minor page faults of this process so far (Linux ``/proc/self/stat``); a fresh ``mmap`` per buffer shows here."""
    try:
        return int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[7])
    except (OSError, IndexError, ValueError):
        return None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=int, default=120)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--active", type=int, default=0,
                        help="MAX_ACTIVE_REQUESTS (default: --threads, all process at once)")
    parser.add_argument("--images", type=int, default=20, help="distinct images per data set")
    parser.add_argument("--every", type=int, default=0, help="also sample RSS every N requests")
    args = parser.parse_args(argv)

    import psutil

    from app import create_app
    from app.config import Settings

    images = (sorted((DATA / "sroie" / "images").glob("*.jpg"))[: args.images]
              + sorted((DATA / "mcocr2021" / "images").glob("*.jpg"))[: args.images])
    if not images:
        raise SystemExit(f"no images under {DATA}")
    active = args.active or args.threads
    app = create_app(Settings(llm_api_url="http://127.0.0.1:9/v1", llm_max_retries=0, max_active_requests=active,
                              max_queued_requests=2 * args.threads, queue_timeout=3600, request_timeout=3600))
    blobs = [p.read_bytes() for p in images]

    def one(i: int) -> tuple[int, float]:
        data = {"image_file": (io.BytesIO(blobs[i % len(blobs)]), "receipt.jpg"),
                "config": json.dumps({"document_type": "receipt"})}
        response = app.test_client().post("/extract", data=data)
        # OCR + extraction time as the app measured it (the wait for a processing slot left out).
        results = ((response.get_json() or {}).get("data") or {}).get("results") or [{}]
        spent = results[0].get("processing_time")
        return response.status_code, (spent["ocr_ms"] + spent["extraction_ms"]) if spent else None

    n, proc, marks, codes, times = args.requests, psutil.Process(), [], {}, []
    checkpoints = {8, n // 4, n // 2, 3 * n // 4, n} | (set(range(args.every, n + 1, args.every)) if args.every else set())
    started = time.monotonic()
    cpu_start = sum(proc.cpu_times()[:2])
    with ThreadPoolExecutor(args.threads) as pool:
        # Counted as they complete: with more threads than processing slots, request 8 in
        # submission order may finish after 30 others, and its marks would be taken late.
        for i, future in enumerate(as_completed([pool.submit(one, k) for k in range(n)]), 1):
            code, ms = future.result()
            codes[code] = codes.get(code, 0) + 1
            if ms is not None:
                times.append(ms / 1000)
            if i == min(8, n):
                cpu_at_8 = sum(proc.cpu_times()[:2])
            if i in checkpoints:
                marks.append((i, round(proc.memory_info().rss / 2**20)))
    cpu_per_request = (sum(proc.cpu_times()[:2]) - cpu_at_8) / (n - 8) if n > 8 else None
    env = {k: v for k, v in os.environ.items() if k.startswith("MALLOC_") or k in ("LD_PRELOAD", "OCR_ORT_ARENA")}
    print(json.dumps({"env": env or "default", "threads": args.threads, "active": active, "status_codes": codes,
                      "rss_mb_after_requests": marks, "wall_s": round(time.monotonic() - started, 1),
                      "s_per_request": {"median": round(statistics.median(times), 2) if times else None,
                                        "mean": round(statistics.fmean(times), 2) if times else None},
                      # CPU seconds (user + system) of the process per request after the 8th: what an allocator
                      # setting costs, much less disturbed by other work on a shared machine than wall time.
                      "cpu_s_per_request": round(cpu_per_request, 2) if cpu_per_request is not None else None,
                      "cpu_s_per_request_whole_run": round((sum(proc.cpu_times()[:2]) - cpu_start) / n, 2),
                      "cpu_user_system_s": [round(x, 1) for x in proc.cpu_times()[:2]],
                      "minor_page_faults": _minor_faults(),
                      "loadavg_end": [round(x, 1) for x in os.getloadavg()]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
