"""Train, cross-validate and write the receipt address line-role model.

Builds one row per header line (:func:`app.extraction.line_roles.line_features`)
for the training receipts, labels a line as an address line when its text is a
piece of the receipt's address label (up to OCR errors; :func:`line_labels`), trains a
LightGBM binary classifier, and writes it as plain JSON
(``app/extraction/models/address_lines.json``, read by
:class:`app.extraction.line_roles.TreeEnsemble`; no pickle, no LightGBM needed
to predict).

Training data (never the report set):

* the SROIE organisers' transcripts (``../shared/data/sroie/transcripts``) of
  every receipt that is **not** one of the 150 new SROIE images (their
  transcripts are the same receipts: leaving them out keeps the new images a
  hold-out);
* the 100 old SROIE images, OCR'd by the configured engine (from
  ``bench/results/ocr-cache/``, filled by ``bench/ocr_cache.py --split old``).

Cross-validation: 5 folds by a hash of the receipt key (a receipt's transcript
and its image fall in the same fold); each fold's model is put into the real
rule reader and the address it gives is scored with ``bench/evaluate.py``'s
rules (exact, on the old images; on the transcripts on the words their
comma-cut segments show, :func:`bench.readers_eval.visible_address_row`),
against the rules alone.

Stacking: the model replaces the rules' address only where it believes its own
pick by more than a margin (log-odds; :func:`app.extraction.line_roles.choose_address`).
The margin, one number, is chosen (:func:`choose_margin`) on the tune half of
the 150 new images, which the trees never saw (the old images give it nothing:
in cross-validation the model and the rules answer them the same), and written
into the model file as ``rule_margin``; the other half of the new images stays
the report set.
Deterministic (one thread, fixed seed): rerunning it writes the same file.

Usage::

    nice -n 10 .venv/bin/python bench/train_address_lines.py            # CV table, then writes the model
    nice -n 10 .venv/bin/python bench/train_address_lines.py --cv-only
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

FOLDS = 5
PARAMS = {"objective": "binary", "learning_rate": 0.08, "num_leaves": 12, "min_data_in_leaf": 15,
          "feature_fraction": 0.8, "bagging_fraction": 0.8, "bagging_freq": 1, "lambda_l2": 1.0,
          "seed": 20261201, "deterministic": True, "num_threads": 1, "verbose": -1}
ROUNDS = 120
#: Weight of a line of an OCR'd image against a transcript line (the images are what the model meets).
IMAGE_WEIGHT = 5.0


from bench.loader import load_script  # noqa: E402

re_ = load_script("docextract_readers_eval", "readers_eval.py")
ev = re_.ev


def fold_of(key: str) -> int:
    """The cross-validation fold (0..FOLDS-1) of a receipt key."""
    return int(hashlib.sha256(("fold:" + key).encode()).hexdigest(), 16) % FOLDS


def _tokens(text: str | None) -> list[str]:
    from app.extraction.normalize import fold

    return re.findall(r"[a-z0-9]+", fold(text or ""))


def _compact(text: str | None) -> str:
    return "".join(_tokens(text))


def line_labels(lines, label: dict) -> list[int]:
    """1 for a line that is a piece of the address label, else 0: its letters and
    digits (at least 3) occur in the label's, up to OCR errors (rapidfuzz
    ``partial_ratio`` >= 90 on the compact forms, so a glued "43200Cheras" or a
    misread letter still counts), and fit the company label no better."""
    from rapidfuzz import fuzz

    address, company = _compact(label.get("address")), _compact(label.get("company"))
    out = []
    for line in lines:
        text = _compact(line.text)
        if len(text) < 3 or not address:
            out.append(0)
            continue
        a = fuzz.partial_ratio(text, address)
        c = fuzz.partial_ratio(text, company) if company else 0.0
        out.append(int(a >= 90 and (a > c or len(text) > len(company))))
    return out


def training_documents() -> list[dict]:
    """The transcripts (minus the 150 new images' receipts) and the 100 old images (cached OCR)."""
    new_ids = {d["id"] for d in ev.select_split("sroie", ev.load_documents("sroie")[0], "new")}
    docs = [d for d in re_.transcript_documents() if d["id"] not in new_ids]
    for d in docs:
        d["source"] = "transcript"
    old = re_.cached_documents("sroie", "old", cached_only=True)
    for d in old:
        d["source"] = "image"
    return docs + old


def header_rows(doc: dict) -> tuple[list[list[float]], tuple[int, ...], list]:
    """Feature rows of one receipt's header lines (the rule reader's seller and
    address as features), the rule address's line indices, and the upright lines."""
    from app.extraction.doctypes import DOCUMENT_TYPES
    from app.extraction.line_roles import line_features
    from app.extraction.normalize import fold
    from app.extraction.layout import upright
    from app.extraction.rules import RuleReader

    receipt = DOCUMENT_TYPES["receipt"]
    found = RuleReader(address_model=None).read(doc["ocr"], [receipt.spec("seller"), receipt.spec("address")],
                                                "receipt")
    seller = next((c for c in found if c.key == "seller"), None)
    address = next((c for c in found if c.key == "address"), None)
    lines = upright(doc["ocr"])
    folded = [fold(ln.text) for ln in lines]
    rule_lines = tuple(address.line_indices) if address else ()
    rows = line_features(lines, folded, tuple(seller.line_indices) if seller else (), rule_lines,
                         bool(address and address.checks.get("anchor")))
    return rows, rule_lines, lines


def rows_of(doc: dict) -> tuple[list[list[float]], list[int]]:
    """Feature rows and line labels of one receipt (:func:`header_rows`, :func:`line_labels`)."""
    rows, _, lines = header_rows(doc)
    return rows, line_labels(lines[: len(rows)], doc["label"])


def to_json(booster, features: tuple[str, ...]) -> dict:
    """A LightGBM booster as our tree JSON (:class:`app.extraction.line_roles.TreeEnsemble`)."""
    from app.extraction.line_roles import trees_digest

    trees = []
    for info in booster.dump_model()["tree_info"]:
        feature, threshold, left, right, leaf = [], [], [], [], []
        root = info["tree_structure"]
        if "leaf_value" in root:
            trees.append({"feature": [], "threshold": [], "left": [], "right": [], "leaf": [root["leaf_value"]]})
            continue
        splits = {}

        def walk(node):
            if "leaf_value" in node:
                while len(leaf) <= node["leaf_index"]:
                    leaf.append(0.0)
                leaf[node["leaf_index"]] = node["leaf_value"]
                return ~node["leaf_index"]
            assert node["decision_type"] == "<=", node["decision_type"]
            splits[node["split_index"]] = node
            walk(node["left_child"])
            walk(node["right_child"])
            return node["split_index"]

        walk(root)
        for i in range(len(splits)):
            node = splits[i]
            child = [c["split_index"] if "split_index" in c else ~c["leaf_index"]
                     for c in (node["left_child"], node["right_child"])]
            feature.append(node["split_feature"])
            threshold.append(node["threshold"])
            left.append(child[0])
            right.append(child[1])
        trees.append({"feature": feature, "threshold": threshold, "left": left, "right": right, "leaf": leaf})
    return {"format": "docextract-tree-ensemble/1", "features": list(features), "trees": trees,
            "sha256": trees_digest(trees),
            "trained_by": "bench/train_address_lines.py", "params": PARAMS, "rounds": ROUNDS,
            "image_weight": IMAGE_WEIGHT}


def train(data: list[tuple[list[list[float]], list[int]]], weights: list[float]):
    """A LightGBM booster on the rows of ``data`` (one ``(rows, labels)`` per receipt), each
    receipt's lines weighted by ``weights``."""
    import lightgbm as lgb
    import numpy as np

    x = np.array([r for rows, _ in data for r in rows], dtype=np.float64)
    y = np.array([v for _, labels in data for v in labels], dtype=np.float64)
    w = np.array([wt for (rows, _), wt in zip(data, weights) for _ in rows], dtype=np.float64)
    return lgb.train(PARAMS, lgb.Dataset(x, y, weight=w), num_boost_round=ROUNDS)


def address_of(doc: dict, model) -> str | None:
    """The address the rule reader gives with ``model`` (None: rules only)."""
    from app.extraction.doctypes import DOCUMENT_TYPES
    from app.extraction.rules import RuleReader

    receipt = DOCUMENT_TYPES["receipt"]
    found = RuleReader(address_model=model).read(doc["ocr"], [receipt.spec("seller"), receipt.spec("address")],
                                                 "receipt")
    return next((c.value for c in found if c.key == "address"), None)


def model_margin(doc: dict, model) -> float:
    """:func:`app.extraction.line_roles.margin_over_rules` of ``model``'s pick
    over the rules' address on one receipt (``-inf`` when the model picks
    nothing, ``inf`` when the rules found no address)."""
    from app.extraction.line_roles import pick_with_margin

    rows, rule_lines, _ = header_rows(doc)
    return pick_with_margin([model.score(r) for r in rows], rule_lines)[2]


def choose_margin(cases: list[tuple[float, bool, bool, float]]) -> tuple[float | None, list[tuple[float, float]]]:
    """The ``rule_margin`` that maximises the weighted exact count over
    ``cases`` the trees never saw (``(margin, rules_ok, model_ok, weight)``): the model's
    pick wins where its margin exceeds the threshold. Candidates are midpoints
    between the margins of the cases where only one side is right (and ``-inf``:
    the model always wins); ties go to the higher threshold (fewer changes to
    the rules). Returns ``(threshold, [(threshold, weighted exact), ...])``."""
    decisive = sorted({m for m, a, b, _ in cases if a != b and math.isfinite(m)})
    candidates = [-math.inf] + [(x + y) / 2 for x, y in zip(decisive, decisive[1:])]
    if decisive:
        candidates += [decisive[0] - 1.0, decisive[-1] + 1.0]
    table = []
    for t in sorted(set(candidates)):
        total = sum(w * (b if m > t else a) for m, a, b, w in cases)
        table.append((t, total))
    best = max(total for _, total in table)
    threshold = max(t for t, total in table if total == best)
    return (None if threshold == -math.inf else round(threshold, 4)), table


def fit_margin(model) -> float | None:
    """The ``rule_margin`` for ``model``, chosen on the tune half of the 150 new
    SROIE images (``bench/readers_eval.py half_of``; their OCR from the cache),
    which the trees never saw: one number fitted on them, the other half kept
    for the report. Prints the tune half's address exact with the rules, with the
    model always, and with the margin."""
    tune = re_.cached_documents("sroie", "new", cached_only=True, half="tune")
    for d in tune:
        d["source"] = "image"
    cases = []
    for d in tune:
        rules, learned = address_of(d, None), address_of(d, model)
        margin = model_margin(d, model) if rules != learned else math.inf
        cases.append((margin, score(d, rules), score(d, learned), 1.0))
    threshold, table = choose_margin(cases)
    t = -math.inf if threshold is None else threshold
    print("rule margin (log-odds) -> address exact on the tune half: "
          + ", ".join(f"{m:.2f}: {v:.0f}" for m, v in table), file=sys.stderr)
    n = max(len(cases), 1)
    print(f"| margin fitted on the new images' tune half ({len(cases)}), address exact | rules only | "
          f"line model always | line model past margin {t:.2f} |\n|---|---:|---:|---:|\n"
          f"| tune half | {100 * sum(c[1] for c in cases) / n:.1f} % | {100 * sum(c[2] for c in cases) / n:.1f} % "
          f"| {100 * sum(c[2] if c[0] > t else c[1] for c in cases) / n:.1f} % |")
    for c, d in zip(cases, tune):
        if c[1] != c[2]:
            print("tune case:", d["id"], "rules ok" if c[1] else "model ok", f"margin {c[0]:.2f}")
    return threshold


def score(doc: dict, prediction: str | None) -> bool:
    row = ev.score_field("text", doc["label"].get("address"), prediction)
    if doc["source"] == "transcript":
        row = re_.visible_address_row(doc, row)
    return bool(row["match"])


def main(argv=None) -> int:
    from app.extraction.line_roles import DEFAULT_MODEL, FEATURES, TreeEnsemble

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cv-only", action="store_true", help="print the cross-validation, write nothing")
    parser.add_argument("--out", default=str(DEFAULT_MODEL))
    args = parser.parse_args(argv)

    docs = training_documents()
    data = [rows_of(d) for d in docs]
    weights = [IMAGE_WEIGHT if d["source"] == "image" else 1.0 for d in docs]
    print(f"{len(docs)} receipts ({sum(d['source'] == 'image' for d in docs)} old images), "
          f"{sum(len(r) for r, _ in data)} header lines, {sum(sum(l) for _, l in data)} address lines",
          file=sys.stderr)
    results = {"transcript": [0, 0, 0], "image": [0, 0, 0]}  # n, rules exact, model exact
    changed = []
    for k in range(FOLDS):
        train_idx = [i for i, d in enumerate(docs) if fold_of(d["id"]) != k]
        test_idx = [i for i, d in enumerate(docs) if fold_of(d["id"]) == k]
        model = TreeEnsemble(to_json(train([data[i] for i in train_idx], [weights[i] for i in train_idx]), FEATURES))
        for i in test_idx:
            d = docs[i]
            rules, learned = address_of(d, None), address_of(d, model)
            r = results[d["source"]]
            ok_rules, ok_model = score(d, rules), score(d, learned)
            r[0] += 1
            r[1] += ok_rules
            r[2] += ok_model
            if ok_rules != ok_model:
                changed.append((d["source"], d["id"], ok_rules, ok_model, rules, learned))
    print(f"| {FOLDS}-fold CV, address exact | n | rules only | rules + line model |")
    print("|---|---:|---:|---:|")
    for source, (n, a, b) in results.items():
        print(f"| {source}s | {n} | {100 * a / max(n, 1):.1f} % | {100 * b / max(n, 1):.1f} % |")
    for c in changed:
        print("changed:", *c)
    if args.cv_only:
        return 0
    model = to_json(train(data, weights), FEATURES)
    model["rule_margin"] = fit_margin(TreeEnsemble(model))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(model, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"wrote {args.out}: {len(model['trees'])} trees, sha256 of trees {model['sha256']}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
