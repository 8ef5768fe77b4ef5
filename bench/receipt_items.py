"""Receipt line items on the SROIE transcripts: row F1 on the hand-labelled receipts, and
how many receipts get items and add up to the labelled total (issue 24 item 2).

``--labels``: row precision, recall and F1 (``bench/evaluate.py``'s one-to-one matching:
equal amount, description folded and contained or >= 0.8 similar) on the receipts of
``bench/labels/sroie_line_items.jsonl`` (``--half report``): 16 receipts with 52 line
items, labelled by hand from the transcripts (the product as printed, its line amount;
discount and rounding lines are not items). They are kept for reporting: do not tune the
line-item reader on them.

SROIE itself labels no line items. What can be measured on every receipt without labelling: the share of receipts whose line items were read, and of those,
the share whose item amounts sum to the organisers' labelled ``total`` (an
independent value: the items' sum equalling it is evidence the rows are the items,
though a receipt whose only item equals the total also counts). Run on the fixed
tune / report halves of ``bench/readers_eval.py`` (``--half``); ``--reader table``
limits the reading to header-row tables (the reader before the headerless lists).

    PYTHONPATH=. .venv/bin/python bench/receipt_items.py --half report
    PYTHONPATH=. .venv/bin/python bench/receipt_items.py --half report --reader table
    PYTHONPATH=. .venv/bin/python bench/receipt_items.py --labels --half report [--source ocr] [--failures]
    PYTHONPATH=. .venv/bin/python bench/receipt_items.py --labels --dataset mcocr [--failures]
    PYTHONPATH=. .venv/bin/python bench/receipt_items.py --dataset mcocr  # the other photos: a proxy
"""

from __future__ import annotations

import argparse
import json
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app.extraction.currency import currency_of  # noqa: E402
from bench.loader import load_script  # noqa: E402

re_ = load_script("docextract_readers_eval", "readers_eval.py")
LABELS = {"report": ROOT / "bench" / "labels" / "sroie_line_items.jsonl",
          "tune": ROOT / "bench" / "labels" / "sroie_line_items_tune.jsonl"}


def _image_ocr(path: Path, engine, settings):
    """The configured OCR engine's reading of the image at ``path`` (cached), or None when
    the shared data has no such image (250 of SROIE's 507 transcripts have one)."""
    from app.documents import decode_image

    if not path.exists():
        return None
    return engine.recognize(decode_image(path.read_bytes(), max_bytes=settings.max_file_bytes,
                                         max_pixels=settings.max_image_pixels))


def _ocr_engine():
    """``(caching engine, settings)``: the configured OCR engine behind ``bench/ocr_cache.py``'s cache."""
    from app.config import Settings
    from app.ocr.base import create_engine

    settings = Settings.from_env()
    return load_script("docextract_ocr_cache", "ocr_cache.py").CachingOcrEngine(create_engine(settings)), settings


def _score(read, documents, show_failures: bool) -> dict | None:
    """Row figures (``bench/evaluate.py``'s matching) of ``read(OcrResult) -> [LineItem]`` over
    ``documents``: ``(key, labelled rows, OcrResult or None)``, a None reading left out.
    None when no document was read."""
    ev = load_script("docextract_evaluate", "evaluate.py")
    counts = []
    for key, labelled, ocr in documents:
        if ocr is None:
            continue
        got = [{"description": i.description, "amount": None if i.amount is None else str(i.amount)}
               for i in read(ocr)]
        c = ev.score_line_items(labelled, got)
        counts.append(c)
        if show_failures and c["matched"] < max(c["gold"], c["predicted"]):
            print(f"{key}: {c['matched']} of {c['gold']} labelled rows matched, {c['predicted']} read")
            for item in got:
                print(f"    read  {item['amount']!s:>8}  {item['description']}")
    return ev.line_item_figures(counts) if counts else None


def _figures(f: dict) -> str:
    return (f"{f['documents']} receipts, {f['gold']} labelled rows, {f['predicted']} read, {f['matched']} matched; "
            f"precision {f['precision']:.3f}, recall {f['recall']:.3f}, row F1 {f['f1']:.3f}")


def row_f1(read, show_failures: bool, half: str, source: str = "transcripts") -> int:
    """Row F1 of ``read(OcrResult) -> [LineItem]`` on the hand-labelled receipts, read from
    their transcripts or (``source="ocr"``) from the OCR of their images."""
    engine, settings = _ocr_engine() if source == "ocr" else (None, None)
    images = ROOT.parent / "shared" / "data" / "sroie" / "images"
    labels = {row["key"]: row["line_items"] for row in map(json.loads, LABELS[half].read_text().splitlines())}
    rows = [row for row in map(json.loads, re_.TRANSCRIPTS.read_text().splitlines()) if row["key"] in labels]
    documents = ((row["key"], labels[row["key"]],
                  re_.transcript_ocr(row) if engine is None else _image_ocr(images / f"{row['key']}.jpg", engine,
                                                                            settings))
                 for row in rows)
    f = _score(read, documents, show_failures)
    print(f"SROIE hand-labelled receipts ({half} half, {source}): "
          + (_figures(f) if f else "skipped (no receipt read)"))
    if (f["documents"] if f else 0) != len(labels):
        print(f"({len(labels) - (f['documents'] if f else 0)} labelled receipts not read: no image in the shared data)")
    return 0


MCOCR_LABELS = ROOT / "bench" / "labels" / "mcocr_line_items.jsonl"


def mcocr_row_f1(read, show_failures: bool) -> int:
    """Row F1 of ``read(OcrResult) -> [LineItem]`` on the hand-labelled MC-OCR photos
    (``bench/labels/mcocr_line_items.jsonl``: 4 receipts, 18 rows, labelled from the photos;
    the till and table readers were mended on them on 2026-12-07, so this is a tune figure since:
    :func:`mcocr_proxy` on the other photos is the one to report), read through the configured
    OCR engine (cached)."""
    engine, settings = _ocr_engine()
    images = ROOT.parent / "shared" / "data" / "mcocr2021" / "images"
    documents = ((row["key"], row["line_items"], _image_ocr(images / f"{row['key']}.jpg", engine, settings))
                 for row in map(json.loads, MCOCR_LABELS.read_text(encoding="utf-8").splitlines()))
    f = _score(read, documents, show_failures)
    print("MC-OCR hand-labelled receipts (ocr): "
          + (_figures(f) if f else "skipped (no image in ../shared/data/mcocr2021)"))
    return 0


def mcocr_proxy(read, half: str = "all") -> int:
    """On the MC-OCR photos that are not hand-labelled with items (57 of 61), read through the
    configured OCR engine (cached): how many get items, and how many have items that add up to
    the dataset's labelled total (``total_cost``, parsed as VND; the dataset's labels are noisy,
    so this is a lower bound for comparing readers, not an accuracy). ``half``: the photos of
    one half (``readers_eval.half_of`` of the photo's id); the till and table readers were
    mended on failures of the tune half."""
    from app.extraction.normalize import parse_amount

    engine, settings = _ocr_engine()
    data = ROOT.parent / "shared" / "data" / "mcocr2021"
    labelled = {json.loads(r)["key"] for r in MCOCR_LABELS.read_text(encoding="utf-8").splitlines()}
    n = with_items = adds_up = with_total = 0
    for label in sorted((data / "labels").glob("*.json")):
        key = label.stem
        if key in labelled or not (data / "images" / f"{key}.jpg").exists():
            continue
        if half != "all" and re_.half_of(key) != half:
            continue
        n += 1
        items = read(_image_ocr(data / "images" / f"{key}.jpg", engine, settings))
        amounts = [i.amount for i in items if i.amount is not None]
        with_items += bool(amounts)
        parsed = parse_amount(json.loads(label.read_text(encoding="utf-8")).get("total_cost"), "VND")
        with_total += parsed is not None
        adds_up += bool(amounts) and parsed is not None and abs(sum(amounts) - parsed[0]) <= Decimal("0.011")
    print(f"MC-OCR photos without item labels (ocr, half {half}): {n} photos ({with_total} with a labelled total); "
          f"items read on {with_items}; items sum to the labelled total on {adds_up}")
    return 0


def main(argv=None) -> int:
    from app.extraction import line_items

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--half", choices=("tune", "report", "all"), default="report")
    ap.add_argument("--reader", choices=("all", "table"), default="all")
    ap.add_argument("--labels", action="store_true", help="row F1 on the hand-labelled receipts")
    ap.add_argument("--failures", action="store_true", help="with --labels: the receipts not read exactly")
    ap.add_argument("--dataset", choices=("sroie", "mcocr"), default="sroie",
                    help="mcocr: with --labels the 4 labelled MC-OCR photos, else the others' proxy (OCR, no halves)")
    ap.add_argument("--source", choices=("transcripts", "ocr"), default="transcripts",
                    help="with --labels: read the transcripts, or OCR the receipts' images (those in the shared data)")
    args = ap.parse_args(argv)
    read = line_items.read_line_items if args.reader == "all" else (lambda ocr: line_items._table_items(ocr.lines, currency_of(ocr)))
    if args.labels and args.dataset == "mcocr":
        return mcocr_row_f1(read, args.failures)
    if args.dataset == "mcocr":
        return mcocr_proxy(read, args.half)
    if args.labels:
        if args.half == "all":
            ap.error("--labels takes --half tune or --half report")
        return row_f1(read, args.failures, args.half, args.source)
    n = with_items = adds_up = single = 0
    for raw in re_.TRANSCRIPTS.read_text().splitlines():
        row = json.loads(raw)
        if args.half != "all" and re_.half_of(row["key"]) != args.half:
            continue
        try:
            total = Decimal(str(row["entities"].get("total")).replace(",", ""))
        except (InvalidOperation, TypeError):
            continue
        n += 1
        items = read(re_.transcript_ocr(row))
        amounts = [i.amount for i in items if i.amount is not None]
        if not amounts:
            continue
        with_items += 1
        if abs(sum(amounts) - total) <= Decimal("0.011"):
            adds_up += 1
            single += len(amounts) == 1
    print(f"SROIE transcripts, half {args.half}, reader {args.reader}: {n} receipts with a labelled total; "
          f"items read on {with_items} ({with_items / n:.1%}); items sum to the total on {adds_up} "
          f"({adds_up / n:.1%} of all, {adds_up / max(with_items, 1):.1%} of those with items; "
          f"{single} of them a single item)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
