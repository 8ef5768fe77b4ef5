"""Worst-case cost of one image through the real OCR engine: peak memory and time.

Usage::

    nice -n 10 .venv/bin/python bench/worst_case.py [--engine hybrid|rapidocr]
        [--case NAME ...] [--rss-limit-mb 3000] [--timeout 120] [--json out.json]

Each case is an image built in memory (no files are read): a tiny or thin
white image, a thin image with text-like strokes, a long receipt-shaped page, a
page full of thin rules and a page full of small text-like blobs. It is run in
its own child process, so that one case's peak does not hide another's:

1. the child builds the engine (``app.ocr.base.create_engine`` with
   ``Settings(ocr_engine=ENGINE)``) and runs it once on a small warm-up image
   (RapidOCR loads its models lazily), then records its peak resident set
   size so far (RSS, ``baseline``: the engine loaded and warmed up);
2. it encodes the case as PNG, decodes it with :func:`app.documents.decode_image`
   (the service's own decoder and limits) and calls ``engine.recognize`` on it;
3. it prints the wall time of decode + recognise, the status (``ok`` with the
   number of lines, or the ``error_code`` and HTTP status of the
   :class:`app.errors.ServiceError` raised), and the peak RSS
   (``ru_maxrss`` of the child).

The parent polls each child's RSS every 50 ms and kills it when it passes
``--rss-limit-mb`` (default 3000 MB: the machine is shared) or runs past
``--timeout`` seconds; the case is then reported as ``killed`` with the RSS
reached, which is a lower bound of what it would have taken.

Printed: one row per case (``case``, ``size``, ``status``, ``ms``,
``peak_rss_mb``, ``over_baseline_mb``) and, with ``--json``, the same rows.
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _strokes(width: int, height: int, seed: int = 0):
    """White page with dark text-like strokes (random short bars) on rows."""
    import numpy as np

    rng = np.random.default_rng(seed)
    img = np.full((height, width, 3), 255, np.uint8)
    row_h = max(1, min(24, height // 2))
    for top in range(2, max(3, height - row_h), row_h * 2):
        x = 4
        while x < width - 8:
            w = int(rng.integers(3, 12))
            img[top:top + max(1, row_h - 4), x:x + w] = 20
            x += w + int(rng.integers(2, 8))
    return img


def _rules(width: int, height: int):
    """White page crossed by 2-pixel horizontal rules every 6 pixels (crops of extreme aspect ratio)."""
    import numpy as np

    img = np.full((height, width, 3), 255, np.uint8)
    img[::6] = 0
    img[1::6] = 0
    return img


def _blobs(width: int, height: int, seed: int = 1):
    """White page covered by small dark blobs on a 12-pixel grid (as many detected boxes as possible)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    img = np.full((height, width, 3), 255, np.uint8)
    for y in range(2, height - 8, 12):
        for x in range(2, width - 8, 12):
            if rng.random() < 0.8:
                img[y:y + 6, x:x + 6] = 0
    return img


def _white(width: int, height: int):
    import numpy as np

    return np.full((height, width, 3), 255, np.uint8)


# name -> (builder, width, height)
CASES = {
    "white_2x500": (_white, 2, 500),
    "white_500x2": (_white, 500, 2),
    "white_1x5000": (_white, 1, 5000),
    "white_5000x1": (_white, 5000, 1),
    "white_3x3000": (_white, 3, 3000),
    "white_16x3000": (_white, 16, 3000),
    "strokes_32x3000": (_strokes, 32, 3000),
    "strokes_3000x32": (_strokes, 3000, 32),
    "strokes_8x400": (_strokes, 8, 400),
    "strokes_64x8000": (_strokes, 64, 8000),
    "receipt_600x12000": (_strokes, 600, 12000),
    "rules_4000x4000": (_rules, 4000, 4000),
    "blobs_2000x2000": (_blobs, 2000, 2000),
    "photo_4000x3000": (_strokes, 4000, 3000),
    "dense_2000x1500": (_strokes, 2000, 1500),
}


def _png(array) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(array[:, :, ::-1]).save(buf, format="PNG")
    return buf.getvalue()


def run_one(name: str, engine_name: str) -> dict:
    """Child side: build the engine, warm it up, run one case; return its row."""
    import numpy as np

    from app.config import Settings
    from app.documents import decode_image
    from app.errors import ServiceError
    from app.ocr.base import create_engine

    settings = Settings(ocr_engine=engine_name)
    engine = create_engine(settings)
    engine.recognize(_strokes(320, 96))
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # peak so far (warm-up)
    build, width, height = CASES[name]
    data = _png(build(width, height))
    row = {"case": name, "size": f"{width}x{height}", "png_bytes": len(data), "baseline_rss_mb": round(baseline)}
    start = time.perf_counter()
    try:
        image = decode_image(data, max_bytes=settings.max_file_bytes, max_pixels=settings.max_image_pixels)
        result = engine.recognize(np.ascontiguousarray(image))
        row["status"] = f"ok ({len(result.lines)} lines)"
    except ServiceError as e:
        row["status"] = f"{e.http_status} {e.code}"
    row["ms"] = round((time.perf_counter() - start) * 1000.0)
    row["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0)
    return row


def _rss_mb(pid: int) -> float:
    import psutil

    return psutil.Process(pid).memory_info().rss / 1048576.0


def run_case(name: str, engine: str, rss_limit_mb: float, timeout: float) -> dict:
    """Parent side: run one case in a child process under an RSS and time watchdog."""
    import psutil

    proc = subprocess.Popen([sys.executable, __file__, "--child", name, "--engine", engine],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    start, peak, killed = time.monotonic(), 0.0, None
    while proc.poll() is None:
        try:
            peak = max(peak, psutil.Process(proc.pid).memory_info().rss / 1048576.0)
        except psutil.NoSuchProcess:
            break
        if peak > rss_limit_mb:
            killed = f"killed: RSS over {rss_limit_mb:.0f} MB"
        elif time.monotonic() - start > timeout:
            killed = f"killed: over {timeout:.0f} s"
        if killed:
            proc.kill()
            proc.wait()
            break
        time.sleep(0.05)
    out, err = proc.communicate()
    build, width, height = CASES[name]
    if killed:
        return {"case": name, "size": f"{width}x{height}", "status": killed,
                "ms": round((time.monotonic() - start) * 1000.0), "peak_rss_mb": round(peak)}
    try:
        row = json.loads(out.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        return {"case": name, "size": f"{width}x{height}", "status": f"child failed rc={proc.returncode}",
                "stderr": err[-800:], "peak_rss_mb": round(peak)}
    row["over_baseline_mb"] = row["peak_rss_mb"] - row["baseline_rss_mb"]
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", default="hybrid", choices=("hybrid", "rapidocr"))
    parser.add_argument("--case", action="append", choices=sorted(CASES), help="run only these cases")
    parser.add_argument("--rss-limit-mb", type=float, default=3000.0)
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(run_one(args.child, args.engine)))
        return 0
    rows = []
    print(f"{'case':<20} {'size':>10} {'status':<34} {'ms':>7} {'peak MB':>8} {'+base MB':>8}")
    for name in args.case or list(CASES):
        row = run_case(name, args.engine, args.rss_limit_mb, args.timeout)
        rows.append(row)
        print(f"{row['case']:<20} {row['size']:>10} {row['status']:<34} {row.get('ms', ''):>7} "
              f"{row['peak_rss_mb']:>8} {row.get('over_baseline_mb', ''):>8}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
