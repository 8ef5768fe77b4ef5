"""Train the key–value reader's ranker on synthetic invoices and orders (issue 24).

Documents come from ``tests/synthetic/kv_invoices.py`` (nine languages, five layout
families), rendered as PDFs and read back from their text layer exactly as the
service reads them. Every candidate of :func:`app.extraction.readers.keyvalue.candidates`
is labelled 1 when its normalised value equals the document's truth for its role,
else 0; an L2-regularised logistic regression is fitted by full-batch gradient
descent (numpy) and written to ``app/extraction/models/kv_ranker.json`` with its
training set, seed and held-out figures. The report seed is never trained on.

    .venv/bin/python bench/train_kv_ranker.py --train-seed 1 --train-docs 600 \\
        --report-seed 2 --report-docs 300 [--write]

Prints per-role top-1 accuracy on both sets (the field is right when the
highest-scored candidate of its role is right; amounts before the joint
arithmetic choice) and the model file's SHA-256 to paste into ``kv_ranker.py``.
No public e-invoice sample corpus is used (they are kept for evaluation).
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
import time
from decimal import Decimal
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.domain import OcrResult  # noqa: E402
from app.geometry import sort_reading_order  # noqa: E402
from app.extraction.normalize import fold  # noqa: E402
from app.extraction.readers.keyvalue import candidates, features  # noqa: E402
from app.extraction.readers.kv_lexicon import ROLE_FIELDS  # noqa: E402
from app.extraction.readers.kv_ranker import MODEL_PATH, Ranker  # noqa: E402


def page_text(pdf: bytes) -> OcrResult:
    """All pages' text-layer lines of ``pdf``, stacked (as the pipeline stacks them)."""
    from app.documents import DocumentLimits, open_document

    lines, y, width = [], 0.0, 0
    with open_document(pdf, DocumentLimits()) as doc:
        for page in doc.pages():
            import dataclasses

            for ln in sort_reading_order(page.text_lines):
                lines.append(dataclasses.replace(ln, box=tuple((px, py + y) for px, py in ln.box), page=page.number))
            y += page.height
            width = max(width, page.width)
    return OcrResult(tuple(lines), width, int(y), 0.0, 0.0, "pdf_text")


def _compact(text: str) -> str:
    return re.sub(r"[\s\-./]", "", fold(str(text)))


def matches(role: str, normalized, truth: str) -> bool:
    """Whether a candidate's normalised value is the truth of its role."""
    if normalized is None or truth is None:
        return False
    if role in ("subtotal", "tax", "total"):
        return Decimal(normalized["amount"]) == Decimal(truth)
    if role in ("date", "delivery_date", "number"):
        return str(normalized) == str(truth)
    return _compact(normalized) == _compact(truth)


def labelled(seed: int, n: int) -> list[tuple[object, list, dict]]:
    """``n`` documents of ``seed``: (document, candidates, role -> truth)."""
    from tests.synthetic.kv_invoices import make_kv_document, render_kv_pdf

    out = []
    for i in range(n):
        doc = make_kv_document(seed, i)
        ocr = page_text(render_kv_pdf(doc))
        roles = ROLE_FIELDS[doc.kind]
        truth = {role: doc.normalized.get(key) for role, key in roles.items() if key in doc.normalized}
        cands = [c for c in candidates(ocr, doc.kind) if c.role in truth]
        out.append((doc, cands, truth))
    return out


def fit(rows: list[dict[str, float]], labels: list[int], l2: float = 1e-3, steps: int = 3000,
        rate: float = 0.5) -> dict[str, float]:
    """Logistic regression weights (name -> weight) by gradient descent on the mean log loss + L2."""
    names = sorted({k for r in rows for k in r})
    index = {k: j for j, k in enumerate(names)}
    x = np.zeros((len(rows), len(names)))
    for i, r in enumerate(rows):
        for k, v in r.items():
            x[i, index[k]] = v
    y = np.asarray(labels, dtype=float)
    w = np.zeros(len(names))
    # Positives are rarer than negatives: weight them so both classes count equally.
    pos = max(y.sum(), 1.0)
    sample = np.where(y == 1, len(y) / (2 * pos), len(y) / (2 * max(len(y) - pos, 1.0)))
    for _ in range(steps):
        p = 1 / (1 + np.exp(-np.clip(x @ w, -30, 30)))
        grad = x.T @ ((p - y) * sample) / len(y) + l2 * w
        w -= rate * grad
    return {k: float(w[j]) for k, j in index.items()}


def top1(data, ranker: Ranker) -> dict[str, tuple[int, int]]:
    """Role -> (documents whose best-scored candidate is right, documents with that role)."""
    out: dict[str, list[int]] = {}
    for _, cands, truth in data:
        for role, value in truth.items():
            group = [c for c in cands if c.role == role]
            hit = bool(group) and matches(role, max(group, key=lambda c: ranker.score(features(c))).normalized, value)
            out.setdefault(role, [0, 0])
            out[role][0] += hit
            out[role][1] += 1
    return {k: (v[0], v[1]) for k, v in out.items()}


def recall(data) -> dict[str, float]:
    """Role -> share of documents where some candidate is right (the ranker's ceiling)."""
    out: dict[str, list[int]] = {}
    for _, cands, truth in data:
        for role, value in truth.items():
            out.setdefault(role, [0, 0])
            out[role][0] += any(matches(role, c.normalized, value) for c in cands if c.role == role)
            out[role][1] += 1
    return {k: v[0] / v[1] for k, v in out.items()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--train-seed", type=int, default=1)
    ap.add_argument("--train-docs", type=int, default=600)
    ap.add_argument("--report-seed", type=int, default=2)
    ap.add_argument("--report-docs", type=int, default=300)
    ap.add_argument("--l2", type=float, default=1e-3)
    ap.add_argument("--write", action="store_true", help=f"write {MODEL_PATH.relative_to(ROOT)}")
    args = ap.parse_args(argv)
    t = time.perf_counter()
    train = labelled(args.train_seed, args.train_docs)
    report = labelled(args.report_seed, args.report_docs)
    print(f"rendered and read {len(train) + len(report)} documents in {time.perf_counter() - t:.0f} s")
    rows, labels = [], []
    for _, cands, truth in train:
        for c in cands:
            rows.append(features(c))
            labels.append(int(matches(c.role, c.normalized, truth[c.role])))
    print(f"{len(rows)} training candidates, {sum(labels)} positive")
    weights = fit(rows, labels, l2=args.l2)
    ranker = Ranker(weights)
    figures = {}
    for name, data in (("train", train), ("report", report)):
        acc = top1(data, ranker)
        ceiling = recall(data)
        figures[name] = {role: round(h / n, 4) for role, (h, n) in acc.items()}
        print(f"{name}: " + ", ".join(f"{role} {h}/{n} (ceiling {ceiling[role]:.2f})"
                                      for role, (h, n) in sorted(acc.items())))
    ranker.meta = {"trained_on": f"tests/synthetic/kv_invoices.py seed {args.train_seed}, {args.train_docs} documents",
                   "report": f"seed {args.report_seed}, {args.report_docs} documents",
                   "top1_report": figures["report"], "l2": args.l2, "candidates": len(rows)}
    if args.write:
        MODEL_PATH.write_text(ranker.to_json() + "\n")
        print(f"wrote {MODEL_PATH}  sha256 {hashlib.sha256(MODEL_PATH.read_bytes()).hexdigest()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
