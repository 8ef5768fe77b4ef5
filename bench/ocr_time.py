"""Seconds per photo of two OCR configurations, measured side by side on the same photos.

Usage::

    nice -n 10 .venv/bin/python bench/ocr_time.py --b OCR_HEADER_FRACTION=0.3 [--a NAME=VALUE ...]
        [--engine hybrid] [--dataset mcocr|sroie] [--half all|tune|report] [--limit N] [--repeat R]

Two engines are built, ``A`` from the default settings plus ``--a`` and ``B``
from the default settings plus ``--b`` (environment variable names, parsed by
:meth:`app.config.Settings.from_env`; nothing else is read from the
environment), both through the registry. Each photo is decoded once and given
to both, in alternating order (A then B, then B then A on the next photo, ...),
so load from other processes on a shared machine falls on both alike; each
engine first reads one photo that is not timed (lazy model loading). Printed
per engine: mean and median wall seconds of ``engine.recognize`` and CPU
seconds of this process over the same calls (all threads), the B / A ratios of
the means, and the load average (``os.getloadavg``) before and after.

Data: ``mcocr`` = ``../shared/data/mcocr2021/images`` (``--half`` as in
``bench/ocr_cer.py``), ``sroie`` = ``../shared/data/sroie/images`` (sorted,
``--limit``).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DATA = ROOT.parent / "shared" / "data"


def _ocr_cer():
    spec = importlib.util.spec_from_file_location("bench_ocr_cer_t", Path(__file__).with_name("ocr_cer.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def photos(dataset: str, half: str, limit: int) -> list[Path]:
    """Image paths of ``dataset`` (sorted by name), one ``half`` of them, the first ``limit`` (0 = all)."""
    oc = _ocr_cer()
    folder = DATA / ("mcocr2021" if dataset == "mcocr" else "sroie") / "images"
    paths = sorted(folder.glob("*.jpg"))
    if half != "all":
        paths = [p for p in paths if oc.half_of(p.stem) == half]
    return paths[:limit] if limit else paths


def summary(walls: list[float], cpus: list[float]) -> dict:
    """Mean and median of the wall and CPU seconds per photo."""
    return {"wall_mean": statistics.fmean(walls), "wall_median": statistics.median(walls),
            "cpu_mean": statistics.fmean(cpus), "cpu_median": statistics.median(cpus), "photos": len(walls)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", default="hybrid")
    parser.add_argument("--a", action="append", default=[], metavar="NAME=VALUE", help="setting of A (baseline)")
    parser.add_argument("--b", action="append", default=[], metavar="NAME=VALUE", help="setting of B (candidate)")
    parser.add_argument("--dataset", choices=["mcocr", "sroie"], default="mcocr")
    parser.add_argument("--half", choices=["all", "tune", "report"], default="all")
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=1, help="passes over the photos")
    args = parser.parse_args(argv)

    from app.documents import decode_image

    oc = _ocr_cer()
    engines = {}
    for name, pairs in (("A", args.a), ("B", args.b)):
        settings = oc.build_settings(args.engine, oc.parse_options(pairs))
        engines[name] = oc.build_engine(args.engine, {}, settings)
    paths = photos(args.dataset, args.half, args.limit)
    if not paths:
        raise SystemExit("no photos")
    images = [decode_image(p.read_bytes(), max_bytes=10**9, max_pixels=10**9) for p in paths]
    for engine in engines.values():  # model loading, not timed
        engine.recognize(images[0])
    times = {name: ([], []) for name in engines}
    load_before = os.getloadavg()
    n = 0
    for _ in range(args.repeat):
        for image in images:
            order = ("A", "B") if n % 2 == 0 else ("B", "A")
            n += 1
            for name in order:
                w0, c0 = time.perf_counter(), time.process_time()
                engines[name].recognize(image)
                times[name][0].append(time.perf_counter() - w0)
                times[name][1].append(time.process_time() - c0)
    load_after = os.getloadavg()
    sa, sb = summary(*times["A"]), summary(*times["B"])
    print(f"{args.dataset} half={args.half} photos={len(images)} x{args.repeat}; engine {args.engine}")
    print(f"A: {' '.join(args.a) or '(defaults)'}")
    print(f"B: {' '.join(args.b) or '(defaults)'}")
    for name, s in (("A", sa), ("B", sb)):
        print(f"{name}: wall {s['wall_mean']:.3f} s mean / {s['wall_median']:.3f} s median; "
              f"cpu {s['cpu_mean']:.3f} s mean / {s['cpu_median']:.3f} s median")
    print(f"B / A: wall {sb['wall_mean'] / sa['wall_mean']:.3f}x, cpu {sb['cpu_mean'] / sa['cpu_mean']:.3f}x")
    print("load average before: {:.2f} {:.2f} {:.2f}; after: {:.2f} {:.2f} {:.2f}".format(*load_before, *load_after))
    return 0


if __name__ == "__main__":
    sys.exit(main())
