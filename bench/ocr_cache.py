"""OCR results cached on disk, so benchmarks re-run extraction without re-running OCR.

OCR of one receipt costs 2-3 s on two CPU cores; extraction and classification
cost milliseconds. :class:`CachingOcrEngine` wraps any engine: a page is looked
up by the SHA-256 of its decoded pixels and the engine's name, and recognised
(then stored) only when missing. The cache lives in ``bench/results/ocr-cache/``
(git-ignored) unless told otherwise.

Fill the cache for datasets ahead of time (run niced, the machine is shared)::

    nice -n 10 .venv/bin/python bench/ocr_cache.py --dataset sroie --split new
    nice -n 10 .venv/bin/python bench/ocr_cache.py --dataset mcocr --dataset cccd_front

``bench/evaluate.py --ocr-cache`` and ``bench/classify_eval.py`` read it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app.domain import OcrResult, TextLine  # noqa: E402
from app.ocr.base import OcrEngine  # noqa: E402

DEFAULT_DIR = ROOT / "bench" / "results" / "ocr-cache"


def to_json(ocr: OcrResult) -> dict:
    """An :class:`OcrResult` as JSON (lossless)."""
    return {"width": ocr.width, "height": ocr.height, "detection_ms": ocr.detection_ms,
            "recognition_ms": ocr.recognition_ms, "engine": ocr.engine, "orientation": ocr.orientation,
            "lines": [{"text": ln.text, "confidence": float(ln.confidence),
                       "box": [[float(x), float(y)] for x, y in ln.box]} for ln in ocr.lines]}


def from_json(data: dict) -> OcrResult:
    """The inverse of :func:`to_json`."""
    lines = tuple(TextLine(ln["text"], ln["confidence"], tuple(tuple(p) for p in ln["box"])) for ln in data["lines"])
    return OcrResult(lines, data["width"], data["height"], data["detection_ms"], data["recognition_ms"],
                     data.get("engine", ""), orientation=data.get("orientation"))


class CachingOcrEngine(OcrEngine):
    """An engine that answers from ``cache_dir`` when it has seen the page.

    Args:
        engine: the real engine, called on a cache miss.
        cache_dir: folder of ``<engine>/<sha256>.json`` files.
    """

    def __init__(self, engine: OcrEngine, cache_dir: Path = DEFAULT_DIR):
        self.engine = engine
        self.name = getattr(engine, "name", "ocr")
        self.dir = Path(cache_dir) / self.name
        self.hits = self.misses = 0

    def key(self, image) -> str:
        digest = hashlib.sha256(repr(image.shape).encode())
        digest.update(image.tobytes())
        return digest.hexdigest()

    def recognize(self, image) -> OcrResult:
        path = self.dir / f"{self.key(image)}.json"
        if path.exists():
            self.hits += 1
            return from_json(json.loads(path.read_text(encoding="utf-8")))
        self.misses += 1
        ocr = self.engine.recognize(image)
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(to_json(ocr), ensure_ascii=False), encoding="utf-8")
        tmp.replace(path)
        return ocr

    def describe(self) -> dict:
        return {**self.engine.describe(), "cache": str(self.dir)}


def main(argv=None) -> int:
    import importlib.util

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", action="append", required=True,
                        help="sroie, mcocr, invoice2data, cccd_front, cccd_back (repeatable)")
    parser.add_argument("--split", choices=["all", "old", "new"], default="all", help="SROIE: first 100 or 150 added")
    parser.add_argument("--cache", default=str(DEFAULT_DIR))
    args = parser.parse_args(argv)

    spec = importlib.util.spec_from_file_location("docextract_evaluate", Path(__file__).with_name("evaluate.py"))
    ev = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ev)
    from app.config import Settings
    from app.documents import decode_image
    from app.ocr.base import create_engine

    settings = Settings.from_env()
    engine = CachingOcrEngine(create_engine(settings), Path(args.cache))
    for dataset in args.dataset:
        docs, _ = ev.load_documents(dataset)
        docs = ev.select_split(dataset, docs, args.split)
        t0 = time.perf_counter()
        for i, doc in enumerate(docs, 1):
            image = decode_image(doc["load"](), max_bytes=settings.max_file_bytes,
                                 max_pixels=settings.max_image_pixels)
            engine.recognize(image)
            print(f"[{dataset} {i}/{len(docs)}] {doc['id']} hits={engine.hits} misses={engine.misses} "
                  f"{time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
