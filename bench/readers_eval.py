"""Readers-only field accuracy and document classification, without OCR cost.

Runs the real :class:`app.extraction.extractor.FieldExtractor` (classification,
``info`` mapping, QR / MRZ / rule / caption readers) on OCR results that are
already known, with the LLM stage switched off (an LLM client pointed at a
closed port, no retries: every field the readers leave stays empty), and scores
the answers with ``bench/evaluate.py``'s rules. Two sources of OCR results:

* ``--source transcripts``: the SROIE organisers' OCR of 507 train receipts
  (``../shared/data/sroie/transcripts/``, text segments with boxes, confidence
  1), no OCR run at all. ``--half tune`` / ``--half report`` split them in two
  fixed halves by a hash of the receipt key (tune rules on one, report on the
  other); ``--unseen`` keeps only the 257 whose images are not in the dev set.
* ``--source cache --dataset D``: the page images of a dataset through the
  configured OCR engine, answered from ``bench/results/ocr-cache/`` (filled by
  ``bench/ocr_cache.py``; a miss runs OCR and stores it).

``--classify`` prints a confusion table of the detected document types over the
datasets given (``--dataset`` repeatable) and the time of classification and
mapping per document.

Usage::

    .venv/bin/python bench/readers_eval.py --source transcripts --half report
    .venv/bin/python bench/readers_eval.py --source transcripts --info-preset plain
    nice -n 10 .venv/bin/python bench/readers_eval.py --source cache --dataset sroie --split new [--address-model off]
    nice -n 10 .venv/bin/python bench/readers_eval.py --classify --dataset sroie --dataset mcocr \\
        --dataset invoice2data --dataset cccd_front --dataset cccd_back
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app.domain import OcrResult, TextLine  # noqa: E402

TRANSCRIPTS = ROOT.parent / "shared" / "data" / "sroie" / "transcripts" / "train_transcripts.jsonl"
#: The dataset each source's documents are labelled as (the classification's truth).
TRUE_TYPE = {"sroie": "receipt", "mcocr": "receipt", "invoice2data": "invoice", "cccd_front": "cccd_front",
             "cccd_back": "cccd_back"}
_DEAD_LLM = "http://127.0.0.1:9/v1"  # discard port: connection refused at once


from bench.loader import load_script  # noqa: E402

ev = load_script("docextract_evaluate", "evaluate.py")


def transcript_ocr(row: dict) -> OcrResult:
    """One transcript row as an :class:`OcrResult`: each text segment a line
    (``[x0, y0, x1, y1]`` -> quadrilateral), confidence 1, put in reading order
    as the OCR engines do (:func:`app.domain.sort_reading_order`; the
    transcripts list a table column by column)."""
    from app.geometry import sort_reading_order

    lines = tuple(sort_reading_order([TextLine(text, 1.0, ((x0, y0), (x1, y0), (x1, y1), (x0, y1)))
                                      for text, (x0, y0, x1, y1) in zip(row["words"], row["bboxes"])
                                      if text.strip()]))
    size = row.get("image_size") or {}
    return OcrResult(lines, int(size.get("width") or 0), int(size.get("height") or 0), 0.0, 0.0, "transcript")


def half_of(key: str) -> str:
    """``tune`` or ``report``: a fixed split of the transcripts by key hash."""
    return "tune" if int(hashlib.sha256(key.encode()).hexdigest(), 16) % 2 == 0 else "report"


def _tokens(text: str | None) -> list[str]:
    from app.extraction.normalize import fold

    return re.findall(r"[a-z0-9]+", fold(text or ""))


def visible_address_row(doc: dict, row: dict) -> dict:
    """The address scored on what the transcript shows: its segments are cut at
    their first comma (the upstream CSV was split on commas; 481 of 507
    address labels hold one), so the label's words missing from the page's
    segments are dropped before comparing word sequences. Exact: the same
    words in the same order."""
    seen = set(_tokens(" ".join(line.text for line in doc["ocr"].lines)))
    label = [t for t in _tokens(row.get("label_raw")) if t in seen]
    pred = [t for t in _tokens(row.get("prediction_raw")) if t in seen]
    from app.extraction.normalize import similarity

    return {**row, "label_norm": " ".join(label), "prediction_norm": " ".join(pred),
            "match": bool(label) and label == pred,
            "similarity": round(similarity(" ".join(label), " ".join(pred)), 4) if pred else 0.0,
            "scored_on": "visible words"}


def transcript_documents(half: str = "all", unseen: bool = False) -> list[dict]:
    """Transcript receipts as ``{"id", "label", "ocr"}``."""
    image_ids = {p.stem for p in (TRANSCRIPTS.parent.parent / "images").glob("*.jpg")}
    docs = []
    with open(TRANSCRIPTS, encoding="utf-8") as f:
        for raw in f:
            row = json.loads(raw)
            if half != "all" and half_of(row["key"]) != half:
                continue
            if unseen and row["key"] in image_ids:
                continue
            docs.append({"id": row["key"], "label": row["entities"], "ocr": transcript_ocr(row), "image": None,
                         "transcript": True})
    return docs


def cached_documents(dataset: str, split: str = "all", limit: int | None = None,
                     cached_only: bool = False, cache_dir: str | None = None, half: str = "all") -> list[dict]:
    """A dataset's documents with OCR from the cache (a miss runs the configured
    engine, or, with ``cached_only``, skips the document); a PDF page with a
    usable text layer is read from it (first page), as the service reads it.
    ``cache_dir``: the cache's folder (default ``bench/results/ocr-cache``;
    ``bench/ocr_cer.py --ocr-cache DIR`` fills one per OCR setting); ``half``:
    ``tune`` or ``report`` keeps one half of the documents by :func:`half_of`
    of their id (the split ``bench/ocr_cer.py --half`` uses)."""
    from app.config import Settings
    from app.documents import decode_image
    from app.ocr.base import create_engine

    ocr_cache = load_script("docextract_ocr_cache", "ocr_cache.py")
    settings = Settings.from_env()
    engine = ocr_cache.CachingOcrEngine(_LazyEngine(lambda: create_engine(settings), settings.ocr_engine),
                                        *([Path(cache_dir)] if cache_dir else []))
    from app.documents.document import DocumentLimits, open_document

    docs, _ = ev.load_documents(dataset)
    docs = ev.select_split(dataset, docs, split)
    if half != "all":
        docs = [d for d in docs if half_of(d["id"]) == half]
    docs = docs[:limit]
    out = []
    for doc in docs:
        data = doc["load"]()
        if data[:5] == b"%PDF-":  # a born-digital page is read from its text layer, as the service does
            with open_document(data, DocumentLimits.from_settings(settings)) as document:
                page = next(document.pages())
                if page.text_lines is not None:
                    ocr = OcrResult(page.text_lines, page.width, page.height, 0.0, 0.0, "pdf_text")
                    out.append({"id": doc["id"], "label": doc["label"], "ocr": ocr, "image": None})
                    continue
                data = None
                image = page.image()
        if data is not None:
            image = decode_image(data, max_bytes=settings.max_file_bytes, max_pixels=settings.max_image_pixels)
        if cached_only and not (engine.dir / f"{engine.key(image)}.json").exists():
            continue
        out.append({"id": doc["id"], "label": doc["label"], "ocr": engine.recognize(image), "image": image})
    return out


class _LazyEngine:
    """Builds the real engine on the first cache miss only (loading it costs seconds)."""

    def __init__(self, build, name):
        self._build, self._engine, self.name = build, None, name

    def recognize(self, image):
        if self._engine is None:
            self._engine = self._build()
        return self._engine.recognize(image)

    def describe(self):
        return {"engine": self.name}


def extractor(address_model="default"):
    """The real extractor with the LLM stage off (see module docstring); ``address_model``
    as :class:`app.extraction.rules.RuleReader` takes it (None: the address by layout rules alone)."""
    from app.extraction.extractor import FieldExtractor
    from app.extraction.rules import RuleReader
    from app.llm.client import LLMClient
    from app.llm.prompts import PromptBuilder

    llm = LLMClient(base_url=_DEAD_LLM, model="none", backend="llamacpp", timeout=1.0, max_retries=0)
    return FieldExtractor(llm, PromptBuilder("base"), rules=RuleReader(address_model=address_model))


def run(dataset: str, docs: list[dict], config: dict, back: dict,
        address_model="default") -> tuple[dict, list[dict]]:
    """Extract and score every document; returns (summary, per-document rows)."""
    from app.errors import LLMError
    from app.extraction.extractor import ExtractOptions

    ext = extractor(address_model)
    rows = []
    for doc in docs:
        t0 = time.perf_counter()
        try:
            out = ext.extract(doc["ocr"], config.get("info"), ExtractOptions(parallel=False),
                              document_type=config.get("document_type"), image=doc["image"])
            result = {"extracted_fields": out.fields, "fields": {k: r.to_dict() for k, r in out.details.items()}}
            stage, classification = out.stage_ms, getattr(out, "classification", None)
        except LLMError:
            result, stage, classification = None, {}, None
        ms = (time.perf_counter() - t0) * 1000
        result = ev.rename_result(result, back)
        fields = ev.score_document(dataset, doc["label"], result)
        if doc.get("transcript") and "address" in fields and "skipped" not in fields["address"]:
            fields["address"] = visible_address_row(doc, fields["address"])
        rows.append({"id": doc["id"], "fields": fields,
                     "extraction_ms": round(ms, 2), "stage_ms": stage, "classification": classification})
    return ev.summarise(dataset, rows), rows


def confusion(datasets: list[str], split: str, limit: int | None, cached_only: bool = False) -> int:
    from app.classify import TYPES, classify

    table: dict[str, dict[str, int]] = {}
    times, wrong = [], []
    for dataset in datasets:
        docs = (transcript_documents() if dataset == "transcripts"
                else cached_documents(dataset, split, limit, cached_only))
        truth = TRUE_TYPE.get(dataset, "receipt")
        row = table.setdefault(dataset, {t: 0 for t in TYPES})
        for doc in docs:
            t0 = time.perf_counter()
            got = classify(doc["ocr"], doc["image"])
            times.append((time.perf_counter() - t0) * 1000)
            row[got.type] += 1
            if got.type != truth:
                wrong.append((dataset, doc["id"], got.type, round(got.confidence, 2),
                              {k: v for k, v in got.scores.items() if v}))
    print("| documents (truth) | n | " + " | ".join(TYPES) + " | correct |")
    print("|---|---:|" + "---:|" * len(TYPES) + "---:|")
    total = correct = 0
    for dataset, row in table.items():
        n = sum(row.values())
        ok = row[TRUE_TYPE.get(dataset, "receipt")]
        total, correct = total + n, correct + ok
        print(f"| {dataset} ({TRUE_TYPE.get(dataset, 'receipt')}) | {n} | " + " | ".join(str(row[t]) for t in TYPES)
              + f" | {100 * ok / max(n, 1):.1f} % |")
    print(f"\n{correct}/{total} correct; classification per document: median {statistics.median(times):.2f} ms, "
          f"mean {statistics.fmean(times):.2f} ms, max {max(times):.2f} ms")
    for w in wrong[:40]:
        print("wrong:", *w)
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", choices=["transcripts", "cache"], default="transcripts")
    parser.add_argument("--dataset", action="append", help="with --source cache or --classify (repeatable)")
    parser.add_argument("--split", choices=["all", "old", "new"], default="all", help="SROIE images")
    parser.add_argument("--half", choices=["all", "tune", "report"], default="all",
                        help="transcripts, or the documents of --source cache (by a hash of the id)")
    parser.add_argument("--ocr-cache", metavar="DIR", help="--source cache: the cache folder "
                        "(default bench/results/ocr-cache)")
    parser.add_argument("--unseen", action="store_true", help="transcripts whose images are not in the dev set")
    parser.add_argument("--limit", type=int)
    parser.add_argument("--cached-only", action="store_true", help="skip documents whose OCR is not cached")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--document-type", help="config.document_type to send (default: the dataset's)")
    group.add_argument("--info-preset", choices=["naive", "plain"], help="send info only (no document_type)")
    parser.add_argument("--classify", action="store_true", help="confusion table of detected types")
    parser.add_argument("--failures", type=int, default=0, help="print up to N missed fields")
    parser.add_argument("--address-model", choices=["off", "on"], default="on",
                        help="receipt addresses with the learned line-role model past its rule margin (on, the "
                             "service's default; app/extraction/line_roles.py) or by the layout rules alone (off)")
    parser.add_argument("--out", help="JSON file for the per-document rows")
    args = parser.parse_args(argv)

    if args.classify:
        return confusion(args.dataset or ["transcripts"], args.split, args.limit, args.cached_only)
    if args.source == "transcripts":
        dataset, docs = "sroie", transcript_documents(args.half, args.unseen)[: args.limit]
    else:
        if not args.dataset or len(args.dataset) != 1:
            parser.error("--source cache needs one --dataset")
        dataset = args.dataset[0]
        docs = cached_documents(dataset, args.split, args.limit, args.cached_only, args.ocr_cache, args.half)
    back: dict = {}
    if args.info_preset == "plain":
        info, back = ev.plain_info(dataset)
        config = {"info": info}
    elif args.info_preset == "naive":
        config = {"info": dict(ev.NAIVE_INFO[dataset])}
    else:
        config = {"document_type": args.document_type or TRUE_TYPE[dataset]}
    summary, rows = run(dataset, docs, config, back, "default" if args.address_model == "on" else None)
    print(f"{dataset} ({args.source}, {len(docs)} documents), readers only, "
          f"address model {args.address_model}: config "
          f"{json.dumps(config, ensure_ascii=False)}\n")
    print(ev.format_table(summary))
    if args.source == "transcripts":
        print("(transcripts: address scored on the words the comma-cut segments show; see visible_address_row)")
    extra = [r["stage_ms"].get("classify", 0) + r["stage_ms"].get("mapping", 0) for r in rows if r["stage_ms"]]
    if extra and any(extra):
        ranked = sorted(extra)
        print(f"classification + mapping per document: median {statistics.median(extra):.2f} ms, "
              f"p95 {ranked[int(0.95 * (len(ranked) - 1))]:.2f} ms, mean {statistics.fmean(extra):.2f} ms, "
              f"max {max(extra):.2f} ms (the first document pays the one-off imports)")
    shown = 0
    for r in rows:
        for key, f in r["fields"].items():
            if shown < args.failures and "skipped" not in f and not f["match"]:
                print(f"miss {r['id']} {key}: label {f['label_norm']!r} got {f['prediction_norm']!r}")
                shown += 1
    if args.out:
        Path(args.out).write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
