"""Where the time of one ``/extract`` goes, stage by stage, on real requests.

Sends documents through the real Flask app in-process (``create_app`` with the
settings from the environment, the configured OCR engine and a real llama.cpp
server, started for the run when none answers at ``LLM_API_URL``), each first
once untimed (lazy model loading), then ``--repeat`` times. Documents:

* ``sroie``: a SROIE receipt (``../shared/data/sroie/images``, the first in sorted
  order unless ``--sroie`` names one), ``document_type: receipt``;
* ``mcocr``: an MC-OCR Vietnamese receipt photo (the first in sorted order unless
  ``--mcocr`` names one), ``document_type: receipt``;
* ``cccd``: a synthetic CCCD front (``tests/synthetic/cccd.py``, person seed 7,
  degraded), ``document_type: cccd_front``.

Printed per document, as a Markdown table: wall seconds per request (median of
the repeats) and, per stage, the wall seconds spent inside it per request and
its share of the wall time. A stage is a list of functions (:data:`STAGES`),
wrapped by :class:`StageTimers`; indented stages are parts of the stage above
them (detection, orientation, recognition, AsterNet are parts of OCR). The
header pass contains its own detection and recognition, which are also counted
in those rows. ``--top N`` profiles one more request with :mod:`cProfile` and
prints the N functions with the most own time (cProfile's overhead stays out of
the stage table); ``--dump DIR`` writes that request's ``.prof`` files (read
them with ``python -m pstats``).

(Not ``bench/profile.py``: a script of that name would shadow the standard library's
``profile`` module, which :mod:`cProfile` imports.)

Usage::

    nice -n 10 .venv/bin/python bench/stage_profile.py [--docs sroie,mcocr,cccd] [--repeat 3] [--top 15]

Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DATA = ROOT.parent / "shared" / "data"

# stage (indented under the stage it is part of) -> functions ("module:qualname") timed as it
STAGES: dict[str, list[str]] = {
    "pipeline (DocumentPipeline.extract_batch)": ["app.pipeline:DocumentPipeline.extract_batch"],
    "  decode (image/PDF -> pages)": ["app.documents.document:open_document", "PIL.ImageFile:ImageFile.load",
                                      "app.documents.images:to_rgb", "app.documents.pdf:render_page",
                                      "app.documents.pdf:text_lines"],
    "  OCR (engine.recognize)": ["app.ocr.hybrid:HybridOcrEngine.recognize", "app.ocr.rapid:RapidOcrEngine.recognize"],
    "    text detection and line crops": ["rapidocr.main:RapidOCR.detect_and_crop"],
    "      PP-OCR detection model": ["rapidocr.ch_ppocr_det.main:TextDetector.__call__"],
    "    orientation (PP-OCR cls)": ["rapidocr.ch_ppocr_cls.main:TextClassifier.__call__"],
    "    text recognition (PP-OCR rec)": ["rapidocr.ch_ppocr_rec.main:TextRecognizer.__call__"],
    "    header pass (its det + rec)": ["app.ocr.hybrid:HybridOcrEngine._header_pass"],
    "    AsterNet (2nd recogniser)": ["app.ocr.aster:AsterRecognizer.read"],
    "    fusion": ["app.ocr.hybrid:HybridOcrEngine._combine"],
    "    reading order": ["app.ocr.hybrid:_reading_order"],
    "  classification": ["app.classify.doctype:classify"],
    "  field extraction (readers + LLM)": ["app.extraction.extractor:FieldExtractor.extract"],
    "    QR (zxing-cpp)": ["app.extraction.readers.qr:decode_cccd_qr"],
    "    MRZ": ["app.extraction.readers.mrz:mrz_candidates"],
    "    key-value reader": ["app.extraction.readers.keyvalue:read_key_values"],
    "    rules": ["app.extraction.rules:RuleReader.read"],
    "    LLM calls (HTTP to llama.cpp)": ["app.llm.client:LLMClient.complete", "app.llm.client:LLMClient.chat"],
    "  line items": ["app.extraction.line_items:read_line_items"],
    "  checks": ["app.extraction.checks:apply_checks"],
}


def _modules_holding(attr: str, obj) -> list:
    """Loaded modules whose attribute ``attr`` is ``obj`` (names taken with ``from ... import``).
    Deprecated module aliases (``numpy.core``) warn when read: quietly."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [m for m in list(sys.modules.values()) if getattr(m, attr, None) is obj]


class StageTimers:
    """Wall seconds spent inside each stage of :data:`STAGES`, by wrapping its functions.

    Each function named ``module:qualname`` is replaced (on its class, or on every
    loaded module that holds the same function object, so names imported with
    ``from ... import`` are covered) by a wrapper that adds the wall time of the
    outermost call per thread to its stage: a stage's function calling another of
    the same stage is counted once. A name that does not resolve is reported in
    ``missing`` (the engine or reader is not installed or was renamed).
    """

    def __init__(self, stages: dict[str, list[str]]):
        import importlib
        import threading

        self.seconds = {stage: 0.0 for stage in stages}
        self.calls = {stage: 0 for stage in stages}  # outermost calls
        self.missing: list[str] = []
        self._depth = threading.local()
        self._undo: list[tuple[object, str, object]] = []
        for stage, names in stages.items():
            for name in names:
                module_name, qualname = name.split(":")
                try:
                    owner = importlib.import_module(module_name)
                    *path, attr = qualname.split(".")
                    for part in path:
                        owner = getattr(owner, part)
                    original = getattr(owner, attr)
                except (ImportError, AttributeError):
                    self.missing.append(name)
                    continue
                wrapped = self._wrap(stage, original)
                holders = [owner] if path else _modules_holding(attr, original)
                for holder in holders:
                    self._undo.append((holder, attr, original))
                    setattr(holder, attr, wrapped)

    def _wrap(self, stage: str, fn):
        import functools

        @functools.wraps(fn)
        def timed(*a, **kw):
            depth = getattr(self._depth, stage, 0)
            setattr(self._depth, stage, depth + 1)
            t0 = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                setattr(self._depth, stage, depth)
                if depth == 0:
                    self.seconds[stage] += time.perf_counter() - t0
                    self.calls[stage] += 1
        return timed

    def reset(self) -> None:
        for stage in self.seconds:
            self.seconds[stage], self.calls[stage] = 0.0, 0

    def restore(self) -> None:
        for holder, attr, original in reversed(self._undo):
            setattr(holder, attr, original)
        self._undo.clear()


DOC_TYPE = {"sroie": "receipt", "mcocr": "receipt", "cccd": "cccd_front"}


def _document(name: str, sroie: str | None, mcocr: str | None) -> tuple[str, bytes, str]:
    """``(file name, bytes, content type)`` of the document called ``name``."""
    if name == "sroie":
        path = Path(sroie) if sroie else sorted((DATA / "sroie" / "images").glob("*.jpg"))[0]
        return path.name, path.read_bytes(), "image/jpeg"
    if name == "mcocr":
        path = Path(mcocr) if mcocr else sorted((DATA / "mcocr2021" / "images").glob("*.jpg"))[0]
        return path.name, path.read_bytes(), "image/jpeg"
    if name == "cccd":
        from tests.synthetic.cccd import degrade, random_person, render_cccd_front

        image = degrade(render_cccd_front(random_person(7)), seed=7)
        buf = io.BytesIO()
        image.convert("RGB").save(buf, format="JPEG", quality=90)
        return "cccd-front-7.jpg", buf.getvalue(), "image/jpeg"
    raise SystemExit(f"unknown document {name!r}: sroie, mcocr or cccd")


def _llm_answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url.rstrip("/") + "/models", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", default="sroie,mcocr,cccd")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--top", type=int, default=0, help="also profile one more request (cProfile) and print "
                    "the N functions with the most own time")
    ap.add_argument("--sroie", help="SROIE image path (default: first in sorted order)")
    ap.add_argument("--mcocr", help="MC-OCR image path (default: first in sorted order)")
    ap.add_argument("--dump", help="write the .prof files to this folder")
    ap.add_argument("--json", help="write the figures as JSON here")
    args = ap.parse_args(argv)

    from app import create_app
    from app.config import Settings

    settings = Settings.from_env()
    started = None
    if settings.llm_backend == "llamacpp" and not _llm_answers(settings.llm_api_url):
        from bench.services import start_llm, stop

        port = 18097
        started = start_llm(port, Path(tempfile.mkdtemp(prefix="profile-")))
        os.environ["LLM_API_URL"] = f"http://127.0.0.1:{port}/v1"
        settings = Settings.from_env()
    try:
        app = create_app(settings)
        timers = StageTimers(STAGES)
        if timers.missing:
            print(f"not timed (not found): {', '.join(timers.missing)}")
        client = app.test_client()
        headers = {"X-API-Token": settings.hard_token} if settings.hard_token else {}
        print(f"load average before: {os.getloadavg()}  OCR_ENGINE={settings.ocr_engine}  "
              f"LLM={settings.llm_api_url}")
        report = {}
        for name in [d.strip() for d in args.docs.split(",") if d.strip()]:
            filename, data, ctype = _document(name, args.sroie, args.mcocr)
            config = json.dumps({"document_type": DOC_TYPE[name]})

            def send():
                r = client.post("/extract", headers=headers, content_type="multipart/form-data",
                                data={"image_file": (io.BytesIO(data), filename, ctype), "config": config})
                if r.status_code != 200:
                    raise SystemExit(f"{name}: /extract answered {r.status_code}: {r.get_data(as_text=True)[:300]}")
                return r.get_json()

            send()  # untimed: models load lazily
            timers.reset()
            walls, from_llm = [], 0
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                body = send()
                walls.append(time.perf_counter() - t0)
                result = ((body.get("data") or body).get("results") or [body])[0]
                from_llm += sum(1 for f in (result.get("fields") or {}).values()
                                if isinstance(f, dict) and f.get("source") == "llm")
            stages = {stage: s / args.repeat for stage, s in timers.seconds.items() if s > 0}
            mean_wall = sum(walls) / len(walls)
            print(f"\n## {name}: {filename}, document_type {DOC_TYPE[name]}; wall per request: median "
                  f"{statistics.median(walls):.3f} s over {args.repeat} (min {min(walls):.3f}, max {max(walls):.3f}); "
                  f"fields answered by the LLM per request: {from_llm / args.repeat:.1f}")
            print("| stage | s per request | share of wall |")
            print("|---|---:|---:|")
            for stage, sec in stages.items():
                print(f"| {stage.replace('  ', '&nbsp;&nbsp;')} | {sec:.3f} | {100.0 * sec / mean_wall:.1f} % |")
            if args.top or args.dump:
                # A separate, profiled pass: cProfile's overhead stays out of the table above.
                profiler = cProfile.Profile()
                profiler.enable()
                send()
                profiler.disable()
                if args.dump:
                    Path(args.dump).mkdir(parents=True, exist_ok=True)
                    profiler.dump_stats(str(Path(args.dump) / f"{name}.prof"))
                if args.top:
                    out = io.StringIO()
                    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(args.top)
                    print(f"\ntop {args.top} functions by own time (one profiled request):")
                    print("\n".join(line for line in out.getvalue().splitlines()
                                    if line.strip() and not line.startswith(("   Ordered", "   List"))))
            report[name] = {"file": filename, "wall_s": walls,
                            "stages": {stage.strip(): round(sec, 4) for stage, sec in stages.items()}}
        print(f"\nload average after: {os.getloadavg()}")
        if args.json:
            Path(args.json).write_text(json.dumps(report, indent=2))
    finally:
        if "timers" in locals():
            timers.restore()
        if started is not None:
            stop(started)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
