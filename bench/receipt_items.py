"""Receipt line items on the SROIE transcripts: how many receipts get items, and how
many of those add up to the labelled total (issue 24 item 2, a proxy without row labels).

SROIE labels no line items, so no row F1 can be computed here. What can be measured
without labelling: the share of receipts whose line items were read, and of those,
the share whose item amounts sum to the organisers' labelled ``total`` (an
independent value: the items' sum equalling it is evidence the rows are the items,
though a receipt whose only item equals the total also counts). Run on the fixed
tune / report halves of ``bench/readers_eval.py`` (``--half``); ``--reader table``
limits the reading to header-row tables (the reader before the headerless lists).

    PYTHONPATH=. .venv/bin/python bench/receipt_items.py --half report
    PYTHONPATH=. .venv/bin/python bench/receipt_items.py --half report --reader table
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

from bench.loader import load_script  # noqa: E402

re_ = load_script("docextract_readers_eval", "readers_eval.py")


def main(argv=None) -> int:
    from app.extraction import line_items

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--half", choices=("tune", "report", "all"), default="report")
    ap.add_argument("--reader", choices=("all", "table"), default="all")
    args = ap.parse_args(argv)
    read = line_items.read_line_items if args.reader == "all" else (lambda ocr: line_items._table_items(ocr.lines))
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
