"""RSS of one API process while receipts are extracted by a few threads.

Builds the real app in-process (``create_app``: the configured OCR engine, the LLM
unreachable so only the deterministic readers answer), posts ``--requests``
receipts (SROIE and MC-OCR images from ``../shared/data``, taken in turn) with
``config={"document_type": "receipt"}`` from ``--threads`` threads, and prints the
process's resident set size (MB) after 8 requests and at each quarter of the run.
Run it twice to compare glibc allocator settings, which must be set before the
process starts::

    nice -n 10 .venv/bin/python bench/memory_probe.py --requests 120
    MALLOC_ARENA_MAX=2 nice -n 10 .venv/bin/python bench/memory_probe.py --requests 120

Figures are printed, never asserted (docs/reliability.md, "Memory").
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=int, default=120)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--images", type=int, default=20, help="distinct images per data set")
    args = parser.parse_args(argv)

    import psutil

    from app import create_app
    from app.config import Settings

    images = (sorted((DATA / "sroie" / "images").glob("*.jpg"))[: args.images]
              + sorted((DATA / "mcocr2021" / "images").glob("*.jpg"))[: args.images])
    if not images:
        raise SystemExit(f"no images under {DATA}")
    app = create_app(Settings(llm_api_url="http://127.0.0.1:9/v1", llm_max_retries=0,
                              max_active_requests=args.threads, max_queued_requests=2 * args.threads))
    blobs = [p.read_bytes() for p in images]

    def one(i: int) -> int:
        data = {"image_file": (io.BytesIO(blobs[i % len(blobs)]), "receipt.jpg"),
                "config": json.dumps({"document_type": "receipt"})}
        return app.test_client().post("/extract", data=data).status_code

    n, proc, marks, codes = args.requests, psutil.Process(), [], {}
    checkpoints = {8, n // 4, n // 2, 3 * n // 4, n}
    with ThreadPoolExecutor(args.threads) as pool:
        for i, code in enumerate(pool.map(one, range(n)), 1):
            codes[code] = codes.get(code, 0) + 1
            if i in checkpoints:
                marks.append((i, round(proc.memory_info().rss / 2**20)))
    print(json.dumps({"MALLOC_ARENA_MAX": os.environ.get("MALLOC_ARENA_MAX", "default"), "threads": args.threads,
                      "status_codes": codes, "rss_mb_after_requests": marks}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
