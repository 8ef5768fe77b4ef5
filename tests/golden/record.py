"""Record the golden OCR and responses (see :mod:`tests.golden.cases`).

Usage::

    PYTHONPATH=. .venv/bin/python -m tests.golden.record          # OCR again, then every response
    PYTHONPATH=. .venv/bin/python -m tests.golden.record --keep-ocr  # responses only, from ocr.json

The OCR is the default engine's (``build_ocr_engine`` on this machine's settings);
the responses are asked of the stored OCR, as the test does, so the two agree
whatever the engine. Review the diff of ``responses.jsonl`` before committing it.
"""

from __future__ import annotations

import argparse
import json
import sys

from tests.golden.cases import CASES, OCR_PATH, REQUESTS, RESPONSES_PATH, Doors, RecordingEngine, SequenceOcrEngine


def record_ocr() -> dict:
    """Each case's pages as the real engine reads them, in call order ({} for a case without OCR)."""
    from app.config import Settings
    from app.pipeline import Upload
    from app.services import build_services, make_ocr_engine

    settings = Settings()
    engine = RecordingEngine(make_ocr_engine(settings))
    pipeline = build_services(settings, ocr_engine=engine).pipeline
    out = {}
    for case in CASES:
        data = case.load()
        if data is None:
            print(f"{case.name}: source missing, not recorded", file=sys.stderr)
            continue
        engine.pages = []
        if not case.filename.endswith(".xml"):
            pipeline.read_document(Upload(case.filename, data))
        out[case.name] = engine.pages
        print(f"{case.name}: {len(engine.pages)} OCR pages", file=sys.stderr)
    return out


def record_responses(ocr: dict) -> dict:
    engine = SequenceOcrEngine()
    doors = Doors(engine)
    out = {}
    try:
        for case in CASES:
            if case.name not in ocr:
                continue
            data = case.load()
            out[case.name] = {}
            for request in REQUESTS:
                engine.load(ocr[case.name])
                out[case.name][request] = doors.ask(case, data, request)
    finally:
        doors.close()
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep-ocr", action="store_true", help="answer from the stored ocr.json")
    args = parser.parse_args(argv)
    if args.keep_ocr:
        ocr = json.loads(OCR_PATH.read_text())
    else:
        ocr = record_ocr()
        OCR_PATH.write_text(json.dumps(ocr, ensure_ascii=False, separators=(",", ":")) + "\n")
    responses = record_responses(ocr)
    RESPONSES_PATH.write_text("".join(
        json.dumps({"case": name, "request": request, "answer": answer}, ensure_ascii=False, sort_keys=True,
                   separators=(",", ":")) + "\n"
        for name, answers in responses.items() for request, answer in answers.items()))
    print(f"wrote {OCR_PATH} and {RESPONSES_PATH}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
