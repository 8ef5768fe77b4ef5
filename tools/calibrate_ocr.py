"""Measure the activation ranges of the OCR models for their int8 copies (``OCR_INT8``).

Usage::

    nice -n 10 .venv/bin/python tools/calibrate_ocr.py [--models det,rec,aster]
        [--method MinMax|Percentile] [--photos 16] [--max-pages 12] [--max-feeds 160]

The float32 hybrid engine (the service's default) reads the first ``--photos``
photos of the *tune* half of MC-OCR and of SROIE each (the split of
``bench/ocr_cer.py``'s ``half_of``; the report halves are kept for measuring),
and every input it gives each ONNX Runtime session is recorded: detector pages,
PP-OCR recognition batches, AsterNet batches. Evenly spaced subsets of them
(``--max-pages`` detector inputs, ``--max-feeds`` batches for each recogniser;
AsterNet sees fewer batches than PP-OCR recognition, so it keeps all it got up to
that cap) are then given to :func:`app.ocr.int8.calibrate`, which writes ONNX
Runtime's calibration cache to ``app/ocr/calibration/<model stem>.json``. Those
files are committed: the service builds its int8 copies from them without data.

``CalibMaxIntermediateOutputs`` is not used: in onnxruntime 1.31 the MinMax
calibrator drops the outputs it flushes under that option without taking their
ranges ("No data is collected"). Measured on 2 cores: about 1 minute with MinMax, about
5 minutes with Percentile (which takes the inputs one at a time).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

def tune_photos(per_dataset: int) -> list[Path]:
    """The first ``per_dataset`` tune-half photos of MC-OCR and of SROIE (``bench/ocr_time.py``'s ``photos``)."""
    from bench.loader import load_script

    photos = load_script("docextract_ocr_time", "ocr_time.py").photos
    return photos("mcocr", "tune", per_dataset) + photos("sroie", "tune", per_dataset)


class Recording:
    """Stands in for an ``onnxruntime.InferenceSession`` and keeps a copy of every input."""

    def __init__(self, session):
        self._session = session
        self.feeds: list[dict] = []

    def run(self, output_names, input_feed, *args, **kwargs):
        self.feeds.append({k: v.copy() for k, v in input_feed.items()})
        return self._session.run(output_names, input_feed, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._session, name)


def spaced(items: list, cap: int) -> list:
    """At most ``cap`` of ``items``, evenly spaced, in order."""
    if len(items) <= cap:
        return items
    step = len(items) / cap
    return [items[int(i * step)] for i in range(cap)]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="det,rec,aster")
    parser.add_argument("--method", choices=["MinMax", "Percentile"], default="MinMax")
    parser.add_argument("--photos", type=int, default=16, help="tune-half photos of each dataset")
    parser.add_argument("--max-pages", type=int, default=12, help="detector inputs")
    parser.add_argument("--max-feeds", type=int, default=160, help="batches of each recogniser")
    parser.add_argument("--out", type=Path, default=None, help="folder of the ranges (default: the committed one)")
    args = parser.parse_args(argv)
    kinds = [k.strip() for k in args.models.split(",") if k.strip()]

    from app.config import Settings
    from app.documents import decode_image
    from app.ocr.aster import MODEL_FILE, asset_dir
    from app.ocr.hybrid import HybridOcrEngine
    from app.ocr.int8 import CALIBRATION_DIR, calibrate
    from app.ocr.rapid import bundled_model_paths

    engine = HybridOcrEngine(Settings())
    paths = tune_photos(args.photos)
    images = [decode_image(p.read_bytes(), max_bytes=10**9, max_pixels=10**9) for p in paths]
    engine.recognize(images[0])  # RapidOCR loads its models on first use
    ocr = engine._ocr
    recorders = {"det": Recording(ocr.text_det.session.session), "rec": Recording(ocr.text_rec.session.session),
                 "aster": Recording(engine._aster._session)}
    ocr.text_det.session.session = recorders["det"]
    ocr.text_rec.session.session = recorders["rec"]
    engine._aster._session = recorders["aster"]
    t0 = time.perf_counter()
    for image in images:
        engine.recognize(image)
    print(f"read {len(images)} tune photos in {time.perf_counter() - t0:.0f} s: "
          + ", ".join(f"{k} {len(r.feeds)} inputs" for k, r in recorders.items()))

    models = bundled_model_paths()
    models = {"det": models["det"], "rec": models["rec"], "aster": asset_dir() / MODEL_FILE}
    caps = {"det": args.max_pages, "rec": args.max_feeds, "aster": args.max_feeds}
    out_dir = args.out or CALIBRATION_DIR
    for kind in kinds:
        feeds = spaced(recorders[kind].feeds, caps[kind])
        target = out_dir / f"{models[kind].stem}.json"
        t0 = time.perf_counter()
        calibrate(models[kind], feeds, target, method=args.method)
        target.chmod(0o644)
        print(f"{kind}: {len(feeds)} inputs, {args.method}, {target} ({target.stat().st_size // 1024} kB) "
              f"in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
