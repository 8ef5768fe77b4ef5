"""How often ``info`` descriptions are mapped onto the right field (``app.classify.map_info``).

Each preset sends its descriptions under opaque keys, with the document type the
classifier would detect, and counts entries mapped to the labelled field (a
wrong field and no field are both misses). ``--preset tune`` holds the phrasings
of invoices and orders the mapping is tuned on (``bench/evaluate.py``
``TUNE_INFO``); ``--preset plain`` the hold-out descriptions it is reported on
(``PLAIN_INFO``, every dataset and kind). The end-to-end effect on fields is
``bench/invoice_eval.py --info-preset plain`` and ``bench/readers_eval.py --info-preset plain``.

Usage::

    PYTHONPATH=. .venv/bin/python bench/info_mapping.py --preset tune
    PYTHONPATH=. .venv/bin/python bench/info_mapping.py --preset plain
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.loader import load_script  # noqa: E402

ev = load_script("docextract_evaluate", "evaluate.py")
#: Dataset of a plain preset -> the document type its documents are detected as.
DATASET_TYPES = {"sroie": "receipt", "mcocr": "receipt", "invoice2data": "invoice", "cccd_front": "cccd_front",
                 "cccd_back": "cccd_back", "invoice": "invoice", "purchase_order": "purchase_order",
                 "sales_order": "sales_order"}
#: Label keys of the plain presets that name no field of their type (answered by the caption reader).
_FREE = {("invoice2data", "currency")}
_LABEL_FIELD = {("sroie", "company"): "seller", ("mcocr", "timestamp"): "date", ("mcocr", "total_cost"): "total",
                ("invoice2data", "amount"): "total"}


def presets(name: str) -> list[tuple[str, str, dict[str, str]]]:
    """``(group, document type, {label field: description})`` of a preset."""
    if name == "tune":
        return [(kind, kind, info) for kind, infos in ev.TUNE_INFO.items() for info in infos]
    out = []
    for dataset, info in ev.PLAIN_INFO.items():
        fields = {_LABEL_FIELD.get((dataset, k), k): d for k, d in info.items() if (dataset, k) not in _FREE}
        out.append((dataset, DATASET_TYPES[dataset], fields))
    return out


def main(argv=None) -> int:
    from app.classify import map_info

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--preset", choices=("tune", "plain"), default="plain")
    ap.add_argument("--misses", action="store_true", help="print each entry mapped wrongly")
    args = ap.parse_args(argv)
    tally: dict[str, list[int]] = {}
    for group, doc_type, fields in presets(args.preset):
        info = {f"q{i}": d for i, d in enumerate(fields.values(), 1)}
        truth = dict(zip(info, fields))
        for key, match in map_info(info, doc_type).items():
            ok = match.field == truth[key]
            tally.setdefault(group, [0, 0])
            tally[group][0] += ok
            tally[group][1] += 1
            if args.misses and not ok:
                print(f"  miss {group}: {info[key]!r} -> {match.field} ({match.score}), wanted {truth[key]}")
    hits, total = sum(v[0] for v in tally.values()), sum(v[1] for v in tally.values())
    print(f"preset {args.preset}: {hits}/{total} entries mapped to the right field ({hits / total:.1%})")
    print("  " + ", ".join(f"{g} {v[0]}/{v[1]}" for g, v in tally.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
