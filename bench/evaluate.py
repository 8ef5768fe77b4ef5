"""Field accuracy of the extraction service on the shared labelled data.

Runs the REAL service in-process: ``create_app(Settings.from_env())`` with the
configured OCR engine and LLM server, and every document POSTed through Flask's
test client to ``/extract`` (with ``X-API-Token`` when ``HARD_TOKEN`` is set), so
what is scored is exactly what a caller gets. Each response's
``extracted_fields`` (or, when a key is missing there, the richer ``fields``
entry) is mapped to the dataset's label keys (:data:`RESPONSE_KEYS`), both sides
are put in comparison form (:func:`app.extraction.normalize.comparable`, rules:
``--describe-normalisation``), and the script prints per field: exact accuracy,
mean similarity (1 - normalised Levenshtein distance), labelled and skipped
counts; micro averages over all scored fields; seconds per document.

Only labelled fields are scored: a field whose label is null/missing, has no
date (date fields), no digits (amount fields, e.g. MC-OCR ``total_cost`` holding
only its caption) or nothing left once its caption is removed is skipped and
counted as skipped.

Usage::

    .venv/bin/python bench/evaluate.py --dataset sroie --info-preset naive --limit 30
    .venv/bin/python bench/evaluate.py --dataset mcocr --config '{"document_type": "receipt"}'
    .venv/bin/python bench/evaluate.py --dataset invoice2data --out bench/results/eval-inv.json
    .venv/bin/python bench/evaluate.py --dataset sroie --split new --info-preset plain --ocr-cache
    .venv/bin/python bench/evaluate.py --describe-normalisation

Data (read in place, never written): ``../shared/data/{sroie,mcocr2021,invoice2data}``.
invoice2data PDFs are sent as PDFs (the service reads every page, from the text
layer where there is one); the shipped PNGs only where there is no PDF; the
plain-text invoice is skipped. ``invoices_synthetic`` / ``invoices_synthetic_scan``:
multi-page Vietnamese VAT invoices and English invoices and purchase orders
rendered now by ``tests/synthetic/invoices.py``, as born-digital PDFs / as scans
(image-only PDFs, every other one a multi-page TIFF).

Line items (documents whose label has them: invoice2data ``lines`` /
``line_items``, the synthetic documents): row-level precision, recall and F1,
a predicted row matching a labelled one when their amounts are equal (where the
label has an amount) and their descriptions agree (:func:`line_item_match`).

If no LLM server answers at ``LLM_API_URL`` and ``LLM_BACKEND=llamacpp``, one is
started for the run (``bench/benchmark.py``'s helper) and stopped afterwards.
The scoring helpers are pure functions (tested in ``tests/unit/test_evaluate.py``).
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import json
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app.extraction.normalize import NORMALISATION_RULES, comparable, parse_date, similarity  # noqa: E402

DATA = ROOT.parent / "shared" / "data"

# --------------------------------------------------------------------------- tables (edit here)

# Label key -> kind (how it is normalised and compared).
FIELDS: dict[str, dict[str, str]] = {
    "sroie": {"company": "text", "date": "date", "address": "text", "total": "amount"},
    "mcocr": {"seller": "text", "address": "text", "timestamp": "date", "total_cost": "amount"},
    # issuer/desc are invoice2data template metadata, not printed values: not scored.
    "invoice2data": {"amount": "amount", "date": "date", "invoice_number": "text", "currency": "currency"},
    # Synthetic multi-page invoices and purchase orders (tests/synthetic/invoices.py).
    "invoices_synthetic": {"total": "amount", "number": "text"},
    "invoices_synthetic_scan": {"total": "amount", "number": "text"},
    # Synthetic CCCD cards (tests/synthetic/cccd.py), rendered at run time; every other one degraded.
    "cccd_front": {"id_number": "id_number", "full_name": "text", "date_of_birth": "date", "sex": "text",
                   "nationality": "text", "place_of_origin": "text", "place_of_residence": "text",
                   "date_of_expiry": "date"},
    # The back prints no name: the MRZ carries it without diacritics (ICAO 9303 transliteration).
    "cccd_back": {"id_number": "id_number", "full_name": "text", "date_of_birth": "date", "sex": "text",
                  "nationality": "text", "date_of_expiry": "date", "date_of_issue": "date",
                  "personal_identification": "text"},
}

# Label key -> response keys to read the prediction from, first present wins.
# The first names are the naive preset's keys (same as the labels); the others
# are the keys of the service's document types (``"document_type": "receipt"``
# answers seller / address / date / total).
RESPONSE_KEYS: dict[str, dict[str, tuple[str, ...]]] = {
    "sroie": {"company": ("company", "seller"), "date": ("date",), "address": ("address",),
              "total": ("total", "total_amount")},
    "mcocr": {"seller": ("seller", "company"), "address": ("address",), "timestamp": ("timestamp", "date"),
              "total_cost": ("total_cost", "total", "total_amount")},
    "invoice2data": {"amount": ("amount", "total", "total_amount"), "date": ("date", "invoice_date"),
                     "invoice_number": ("invoice_number", "number"),
                     # The invoice type reports the currency inside the total's normalized form.
                     "currency": ("currency", "total.normalized")},
    "invoices_synthetic": {"total": ("total",), "number": ("invoice_number", "order_number")},
    "invoices_synthetic_scan": {"total": ("total",), "number": ("invoice_number", "order_number")},
    # "key.normalized": the ``normalized`` form of the rich ``fields`` entry (sex as M/F,
    # nationality "Việt Nam" whether read from the MRZ's VNM or from print).
    # Dates by their normalized form too: the QR and the MRZ encode them as ddmmyyyy / yymmdd.
    "cccd_front": {k: (k,) for k in FIELDS["cccd_front"]} | {
        k: (f"{k}.normalized", k) for k in ("sex", "nationality", "date_of_birth", "date_of_expiry")},
    "cccd_back": {k: (k,) for k in FIELDS["cccd_back"]} | {
        k: (f"{k}.normalized", k) for k in ("sex", "nationality", "date_of_birth", "date_of_expiry", "date_of_issue")},
}

# ``--info-preset naive``: plain descriptions, what the service supports today
# (the same wording as bench/benchmark.py for SROIE and MC-OCR).
NAIVE_INFO: dict[str, dict[str, str]] = {
    "sroie": {
        "company": "name of the company that issued the receipt",
        "date": "date of the receipt",
        "address": "address of the company",
        "total": "total amount",
    },
    "mcocr": {
        "seller": "tên cửa hàng (seller name)",
        "address": "địa chỉ cửa hàng (address)",
        "timestamp": "ngày giờ in hóa đơn (date and time)",
        "total_cost": "tổng số tiền thanh toán (total amount)",
    },
    "invoice2data": {
        "amount": "total amount of the invoice",
        "date": "date of the invoice",
        "invoice_number": "invoice number",
        "currency": "currency of the amounts",
    },
    "invoices_synthetic": {"total": "total amount due", "number": "invoice or order number"},
    "invoices_synthetic_scan": {"total": "total amount due", "number": "invoice or order number"},
    "cccd_front": {"id_number": "số căn cước công dân", "full_name": "họ và tên", "date_of_birth": "ngày sinh",
                   "sex": "giới tính", "nationality": "quốc tịch", "place_of_origin": "quê quán",
                   "place_of_residence": "nơi thường trú", "date_of_expiry": "có giá trị đến"},
    "cccd_back": {"id_number": "số căn cước công dân", "full_name": "họ và tên", "date_of_birth": "ngày sinh",
                  "sex": "giới tính", "nationality": "quốc tịch", "date_of_expiry": "có giá trị đến",
                  "date_of_issue": "ngày cấp", "personal_identification": "đặc điểm nhân dạng"},
}

# ``--info-preset plain``: a HOLD-OUT set of plain descriptions, written as a client
# might phrase them and kept out of every synonym list (app/classify/mapping.py;
# tests/unit/test_classify.py checks). Sent under opaque keys ("q1", "q2", ...) so only
# the description says what is wanted, and no document_type: the service must detect
# the type and map each description onto its fields.
PLAIN_INFO: dict[str, dict[str, str]] = {
    "sroie": {
        "company": "Merchant / business name at the top of the receipt",
        "date": "Day the purchase was made",
        "address": "Where the shop is located",
        "total": "Final amount the customer has to pay",
    },
    "mcocr": {
        "seller": "Tên người bán hoặc tên quán",
        "address": "Địa chỉ nơi bán",
        "timestamp": "Thời điểm giao dịch",
        "total_cost": "Số tiền khách phải trả",
    },
    "invoice2data": {
        "amount": "Amount to pay in total",
        "date": "Date the invoice was issued",
        "invoice_number": "Bill reference number",
        "currency": "Currency code",
    },
    # Invoices and orders (bench/invoice_eval.py --info-preset plain), one kind each, written
    # as an ERP integrator might phrase its own form's fields.
    "invoice": {
        "seller": "Company that sent us this bill",
        "seller_tax_code": "VAT registration of the issuing company",
        "buyer": "Who the bill is addressed to",
        "invoice_number": "Reference of the bill",
        "date": "When the bill was issued",
        "subtotal": "Sum of the lines before VAT",
        "tax_amount": "VAT charged in money",
        "total": "What we must pay altogether",
    },
    "purchase_order": {
        "order_number": "Our PO reference",
        "date": "Day the order was placed",
        "buyer": "Company placing the order",
        "supplier": "Company we are ordering from",
        "delivery_date": "Requested arrival of the goods",
        "total": "Value of the whole order",
    },
    "sales_order": {
        "order_number": "Reference of the order confirmation",
        "date": "Day the order was confirmed",
        "customer": "Who ordered from us",
        "seller": "Company that confirmed the order",
        "total": "Value of the whole order",
    },
    "cccd_front": {"id_number": "Mã số trên thẻ căn cước", "full_name": "Tên của người được cấp thẻ",
                   "date_of_birth": "Ra đời vào ngày nào", "sex": "Là đàn ông hay đàn bà", "nationality": "Công dân nước nào",
                   "place_of_origin": "Quê gốc", "place_of_residence": "Chỗ ở hiện nay / thường trú",
                   "date_of_expiry": "Thẻ hết hiệu lực ngày nào"},
    "cccd_back": {"id_number": "Personal ID number of the holder", "full_name": "Holder's name",
                  "date_of_birth": "When the holder was born", "sex": "Is the holder a man or a woman",
                  "nationality": "Citizen of which country", "date_of_expiry": "Card valid until",
                  "date_of_issue": "When the card was issued",
                  "personal_identification": "Visible marks such as scars or moles"},
}


# ``bench/info_mapping.py --preset tune``: descriptions the mapping of invoices and orders is
# TUNED on (several phrasings a kind: formal English, Vietnamese, terse, questions); the plain
# preset above stays the hold-out it is reported on.
TUNE_INFO: dict[str, list[dict[str, str]]] = {
    "invoice": [
        {"seller": "Name of the supplier issuing the invoice", "seller_tax_code": "Supplier's tax identification number",
         "buyer": "Name of the customer being invoiced", "invoice_number": "Invoice serial number",
         "date": "Date of the invoice", "subtotal": "Net amount excluding VAT", "tax_amount": "Total VAT",
         "total": "Gross amount including VAT"},
        {"seller": "Tên đơn vị bán hàng", "seller_tax_code": "Mã số thuế bên bán", "buyer": "Tên đơn vị mua hàng",
         "invoice_number": "Số của hóa đơn", "date": "Ngày xuất hóa đơn", "subtotal": "Tổng tiền chưa có thuế",
         "tax_amount": "Số tiền thuế GTGT", "total": "Tổng số tiền phải thanh toán"},
        {"seller": "vendor", "seller_tax_code": "vendor VAT no.", "buyer": "customer", "invoice_number": "inv. no.",
         "date": "issued on", "subtotal": "net", "tax_amount": "VAT", "total": "gross"},
        {"seller": "Who issued this invoice?", "seller_tax_code": "What is the seller's VAT ID?",
         "buyer": "Who is being billed?", "invoice_number": "What is the invoice number?",
         "date": "When was the invoice dated?", "subtotal": "How much before tax?",
         "tax_amount": "How much tax was charged?", "total": "How much is owed in total?"},
    ],
    "purchase_order": [
        {"order_number": "Purchase order number", "date": "Order date", "buyer": "Ordering company",
         "supplier": "Vendor name", "delivery_date": "Expected delivery date", "total": "Order total amount"},
        {"order_number": "Số đơn mua hàng", "date": "Ngày lập đơn", "buyer": "Bên đặt hàng",
         "supplier": "Nhà cung cấp hàng", "delivery_date": "Ngày giao dự kiến", "total": "Tổng giá trị"},
        {"order_number": "What is the PO number?", "date": "When was the order issued?", "buyer": "Who is buying?",
         "supplier": "Who will supply the goods?", "delivery_date": "When should the goods be delivered?",
         "total": "How much does the order cost in total?"},
    ],
    "sales_order": [
        {"order_number": "Sales order number", "date": "Date of the order", "customer": "Customer name",
         "seller": "Selling company", "total": "Order total"},
        {"order_number": "Mã đơn bán", "date": "Ngày lập đơn hàng", "customer": "Tên khách",
         "seller": "Bên bán hàng", "total": "Tổng tiền đơn hàng"},
        {"order_number": "What is the order reference?", "date": "When was it ordered?",
         "customer": "Who is the customer?", "seller": "Who is selling?", "total": "What is the total value?"},
    ],
}


def plain_info(dataset: str) -> tuple[dict[str, str], dict[str, str]]:
    """The plain preset's ``info`` under opaque keys, and opaque key -> label key."""
    info, back = {}, {}
    for i, (label, description) in enumerate(PLAIN_INFO[dataset].items(), 1):
        info[f"q{i}"] = description
        back[f"q{i}"] = label
    return info, back


def rename_result(result: dict | None, back: dict[str, str]) -> dict | None:
    """A per-file result with the plain preset's opaque keys renamed to the label keys."""
    if not result or not back:
        return result
    out = dict(result)
    for name in ("extracted_fields", "fields"):
        if isinstance(result.get(name), dict):
            out[name] = {back.get(k, k): v for k, v in result[name].items()}
    return out


# Currency assumed for amounts that name none (decides the VND thousands rule).
DEFAULT_CURRENCY: dict[str, str | None] = {"sroie": "MYR", "mcocr": "VND", "invoice2data": None,
                                           "cccd_front": None, "cccd_back": None, "invoices_synthetic": None,
                                           "invoices_synthetic_scan": None}
# Config sent when none is given (--config / --info-preset).
DEFAULT_CONFIG: dict[str, dict] = {"cccd_front": {"document_type": "cccd_front"},
                                   "cccd_back": {"document_type": "cccd_back"},
                                   "invoices_synthetic": {"document_type": "invoice"},
                                   "invoices_synthetic_scan": {"document_type": "invoice"}}
SYNTHETIC_CARDS = 20
#: Synthetic invoices per layout (vi invoice, en invoice, en purchase order).
SYNTHETIC_INVOICES = 3

DATASET_DIRS = {"sroie": "sroie", "mcocr": "mcocr2021", "invoice2data": "invoice2data"}

SCORING_RULES = """\
What is scored (`bench/evaluate.py`): every document is POSTed to `/extract` of
the real service; a field counts only when its label has a value: a null or
missing label, a date label without a readable date, an amount label without
digits (MC-OCR `total_cost` holding only its caption) or a text label that is
nothing but a caption is skipped and reported as skipped. A missing or null
prediction, or a failed request, counts as a miss (similarity 0). Amounts are
read with the dataset's currency as context (SROIE MYR, MC-OCR VND). Exact
accuracy and mean similarity are given per field and micro-averaged over all
scored fields; s/document is the wall time of the HTTP request in-process.
"""

# --------------------------------------------------------------------------- scoring (pure)


def _has_digit(s: str) -> bool:
    return any(ch.isdigit() for ch in s)


def label_text(value) -> str | None:
    """A label value as text (invoice2data amounts are JSON numbers); None stays None."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def skip_reason(kind: str, label: str | None, default_currency: str | None = None) -> str | None:
    """Why a label cannot be scored, or None when it can.

    Reasons: ``no label`` (null, missing or blank), ``no digits`` (amount
    without a number, e.g. MC-OCR ``"TỔNG TIỀN PHẢI T.TOÁN"``), ``no date``
    (date field without a readable date, e.g. ``"Ngày :"``), ``caption only``
    (text that is only a caption, e.g. ``"ĐỊA CHỈ ĐẠI LÝ:"``).
    """
    if label is None or not str(label).strip():
        return "no label"
    if kind == "amount" and not _has_digit(label):
        return "no digits"
    if kind == "date" and parse_date(label) is None:
        return "no date"
    if not comparable(kind, label, default_currency):
        return "caption only"
    return None


def prediction_text(value) -> str | None:
    """A response value as text: plain strings as they are; ``{"value": ...}``
    entries by their value; ``{"amount", "currency"}`` objects as ``"amount currency"``."""
    if value is None:
        return None
    if isinstance(value, dict):
        if "value" in value:
            return prediction_text(value["value"])
        if "amount" in value:
            return " ".join(str(value[k]) for k in ("amount", "currency") if value.get(k) is not None)
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return " ".join(str(v) for v in value if v is not None) or None
    return str(value)


def pick_prediction(result: dict | None, keys: tuple[str, ...]) -> tuple[str | None, str | None]:
    """The prediction for one label field from one per-file result.

    Looks for each key of ``keys`` in order, first in ``extracted_fields``
    (key -> value), then in a richer ``fields`` entry (key -> ``{"value", ...}``,
    or a list of ``{"key", "value", ...}``).

    Returns:
        ``(response_key, value_text)``; ``(None, None)`` when no key is present.
    """
    if not result:
        return None, None
    extracted = result.get("extracted_fields") or {}
    rich = result.get("fields") or {}
    if isinstance(rich, list):
        rich = {f.get("key"): f for f in rich if isinstance(f, dict)}
    for key in keys:
        if key.endswith(".normalized"):
            base = key.rsplit(".", 1)[0]
            if isinstance(rich.get(base), dict):
                return key, prediction_text(rich[base].get("normalized"))
            continue
        if key in extracted:
            return key, prediction_text(extracted[key])
        if key in rich:
            return key, prediction_text(rich[key])
    return None, None


def score_field(kind: str, label: str | None, prediction: str | None, default_currency: str | None = None) -> dict:
    """Compare one prediction with its label.

    Returns:
        ``{"kind", "label_raw", "prediction_raw", "label_norm", "prediction_norm",
        "match", "similarity"}``: ``match`` is True when both comparison forms are
        equal and not empty; ``similarity`` in [0, 1] (0 for a missing prediction).
    """
    label_norm = comparable(kind, label, default_currency)
    pred_norm = comparable(kind, prediction, default_currency)
    match = bool(label_norm) and label_norm == pred_norm
    sim = similarity(label_norm, pred_norm) if pred_norm else 0.0
    return {"kind": kind, "label_raw": label, "prediction_raw": prediction, "label_norm": label_norm,
            "prediction_norm": pred_norm, "match": match, "similarity": round(sim, 4)}


def score_document(dataset: str, label: dict, result: dict | None) -> dict[str, dict]:
    """Score every field of one document.

    Args:
        dataset: key of :data:`FIELDS`.
        label: the label file's content (key -> value).
        result: the per-file entry of the ``/extract`` response (None when the
            request failed: every labelled field counts as missed).

    Returns:
        label key -> :func:`score_field` row plus ``response_key``, or
        ``{"skipped": reason, "label_raw", "prediction_raw"}`` for unlabelled fields.
    """
    currency = DEFAULT_CURRENCY.get(dataset)
    rows = {}
    for key, kind in FIELDS[dataset].items():
        gold = label_text(label.get(key))
        response_key, pred = pick_prediction(result, RESPONSE_KEYS[dataset][key])
        reason = skip_reason(kind, gold, currency)
        if reason:
            rows[key] = {"kind": kind, "skipped": reason, "label_raw": gold, "prediction_raw": pred}
            continue
        rows[key] = {**score_field(kind, gold, pred, currency), "response_key": response_key,
                     "source": prediction_source(result, response_key)}
    return rows


def prediction_source(result: dict | None, response_key: str | None) -> str | None:
    """Which reader gave a prediction (``qr``, ``mrz``, ``rule``, ``llm``), from the
    response's rich ``fields`` entry; None when the response has none for it."""
    if not result or not response_key:
        return None
    rich = result.get("fields") or {}
    entry = rich.get(response_key.split(".")[0]) if isinstance(rich, dict) else None
    return entry.get("source") if isinstance(entry, dict) and entry.get("value") is not None else None


def summarise(dataset: str, documents: list[dict]) -> dict:
    """Per-field and micro-averaged figures over scored documents.

    Args:
        dataset: key of :data:`FIELDS`.
        documents: items with ``fields`` (from :func:`score_document`) and
            optionally ``seconds``, ``ocr_ms``, ``extraction_ms``, ``error_code``.

    Returns:
        ``{"fields": {key: {"kind", "scored", "exact", "accuracy", "mean_similarity",
        "skipped", "skipped_by_reason"}}, "micro": {...}, "documents",
        "failed_requests", "seconds_per_document", "ocr_ms_mean", "extraction_ms_mean"}``.
        Accuracies and similarities are None when nothing was scored.
    """
    per_field = {}
    all_matches, all_sims = [], []
    for key, kind in FIELDS[dataset].items():
        rows = [d["fields"][key] for d in documents if key in d.get("fields", {})]
        scored = [r for r in rows if "skipped" not in r]
        reasons: dict[str, int] = {}
        for r in rows:
            if "skipped" in r:
                reasons[r["skipped"]] = reasons.get(r["skipped"], 0) + 1
        matches = [bool(r["match"]) for r in scored]
        sims = [float(r["similarity"]) for r in scored]
        all_matches += matches
        all_sims += sims
        per_field[key] = {
            "kind": kind, "scored": len(scored), "exact": sum(matches),
            "accuracy": round(sum(matches) / len(matches), 4) if matches else None,
            "mean_similarity": round(statistics.fmean(sims), 4) if sims else None,
            "skipped": sum(reasons.values()), "skipped_by_reason": reasons,
        }

    def mean(name):
        values = [d[name] for d in documents if d.get(name) is not None]
        return round(statistics.fmean(values), 3) if values else None

    by_source: dict[str, dict] = {}
    for d in documents:
        for r in d.get("fields", {}).values():
            if "skipped" in r or "source" not in r:
                continue
            name = r["source"] or ("none" if r.get("prediction_norm") in (None, "") else "unknown")
            entry = by_source.setdefault(name, {"scored": 0, "exact": 0})
            entry["scored"] += 1
            entry["exact"] += bool(r["match"])

    return {
        "fields": per_field,
        "micro": {"scored": len(all_matches), "exact": sum(all_matches),
                  "accuracy": round(sum(all_matches) / len(all_matches), 4) if all_matches else None,
                  "mean_similarity": round(statistics.fmean(all_sims), 4) if all_sims else None},
        "by_source": by_source,
        "documents": len(documents),
        "failed_requests": sum(1 for d in documents if d.get("error_code")),
        "seconds_per_document": mean("seconds"),
        "ocr_ms_mean": mean("ocr_ms"),
        "extraction_ms_mean": mean("extraction_ms"),
    }


def format_table(summary: dict) -> str:
    """The summary as a Markdown table (README-ready) plus a timing line."""

    def pct(v):
        return "–" if v is None else f"{100 * v:.1f} %"

    def sim(v):
        return "–" if v is None else f"{v:.3f}"

    lines = ["| field | kind | scored | skipped | exact | exact accuracy | mean similarity |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for key, f in summary["fields"].items():
        lines.append(f"| {key} | {f['kind']} | {f['scored']} | {f['skipped']} | {f['exact']} | "
                     f"{pct(f['accuracy'])} | {sim(f['mean_similarity'])} |")
    m = summary["micro"]
    skipped = sum(f["skipped"] for f in summary["fields"].values())
    lines.append(f"| **all (micro)** | | {m['scored']} | {skipped} | {m['exact']} | {pct(m['accuracy'])} | "
                 f"{sim(m['mean_similarity'])} |")
    sources = summary.get("by_source") or {}
    if sources:
        ranked = sorted(sources.items(), key=lambda kv: -kv[1]["scored"])
        lines += ["", "by reader (scored fields: exact / predicted): "
                  + ", ".join(f"{name} {v['exact']}/{v['scored']}" for name, v in ranked)]
    timing = (f"{summary['documents']} documents, {summary['failed_requests']} failed requests; "
              f"{summary['seconds_per_document']} s/document (OCR {summary['ocr_ms_mean']} ms, "
              f"extraction {summary['extraction_ms_mean']} ms, means)")
    return "\n".join(lines) + "\n\n" + timing


# --------------------------------------------------------------------------- line items (pure)


def gold_line_items(label: dict) -> list[dict] | None:
    """Labelled line items as ``[{"description", "amount" (str or None)}]``, or None
    when the label has none. invoice2data ``lines`` rows without a name (section
    headers, notes) are not items; its amount is ``price_subtotal`` (else ``price``)."""
    rows = label.get("line_items") if isinstance(label.get("line_items"), list) else label.get("lines")
    if not isinstance(rows, list):
        return None
    out = []
    for row in rows:
        if not isinstance(row, dict):
            continue
        desc = row.get("description") or row.get("name") or row.get("desc")
        if not desc:
            continue
        amount = next((row[k] for k in ("amount", "price_subtotal", "price") if row.get(k) is not None), None)
        out.append({"description": " ".join(str(desc).split()), "amount": None if amount is None else str(amount)})
    return out or None


def line_item_match(gold: dict, predicted: dict) -> bool:
    """A predicted row is the labelled row when the amounts are equal (Decimal; not
    compared where the label has none) and the descriptions agree once folded
    (case, diacritics, whitespace ignored): similarity >= 0.8, or one holds the other."""
    from decimal import Decimal, InvalidOperation

    from app.extraction.normalize import fold

    if gold.get("amount") is not None:
        try:
            if predicted.get("amount") is None or abs(Decimal(str(predicted["amount"]))) != abs(
                    Decimal(str(gold["amount"]))):
                return False
        except InvalidOperation:
            return False
    g = " ".join(fold(gold.get("description") or "").split())
    p = " ".join(fold(predicted.get("description") or "").split())
    return bool(g and p) and (g in p or p in g or similarity(g, p) >= 0.8)


def score_line_items(gold: list[dict], predicted: list[dict]) -> dict:
    """Row-level counts: one-to-one greedy matching in printed order.

    Returns:
        ``{"gold", "predicted", "matched"}``.
    """
    free = list(range(len(gold)))
    matched = 0
    for row in predicted:
        hit = next((k for k in free if line_item_match(gold[k], row)), None)
        if hit is not None:
            free.remove(hit)
            matched += 1
    return {"gold": len(gold), "predicted": len(predicted), "matched": matched}


def line_item_figures(counts: list[dict]) -> dict | None:
    """Micro precision, recall and F1 over documents' :func:`score_line_items` counts."""
    if not counts:
        return None
    g, p, m = (sum(c[k] for c in counts) for k in ("gold", "predicted", "matched"))
    precision, recall = (m / p if p else 0.0), (m / g if g else 0.0)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"documents": len(counts), "gold": g, "predicted": p, "matched": m, "precision": round(precision, 4),
            "recall": round(recall, 4), "f1": round(f1, 4)}


# --------------------------------------------------------------------------- data


def load_documents(dataset: str, data_dir: Path = DATA) -> tuple[list[dict], list[dict]]:
    """Documents to send, with their labels, in a fixed (sorted) order.

    Returns:
        ``(documents, skipped)``: documents are ``{"id", "filename", "path",
        "label", "load"}`` (``load()`` -> bytes); skipped are ``{"id", "reason"}``.
    """
    if dataset in ("cccd_front", "cccd_back"):
        return synthetic_cards(dataset), []
    if dataset in ("invoices_synthetic", "invoices_synthetic_scan"):
        return synthetic_invoices(dataset == "invoices_synthetic_scan"), []
    base = data_dir / DATASET_DIRS[dataset]
    docs, skipped = [], []
    if dataset in ("sroie", "mcocr"):
        for image in sorted((base / "images").glob("*.jpg")):
            label_path = base / "labels" / f"{image.stem}.json"
            if not label_path.exists():
                skipped.append({"id": image.stem, "reason": "no label file"})
                continue
            docs.append({"id": image.stem, "filename": image.name, "path": str(image),
                         "label": json.loads(label_path.read_text(encoding="utf-8")),
                         "load": image.read_bytes})
        return docs, skipped
    for label_path in sorted((base / "labels").glob("*.json")):
        stem = label_path.stem
        label = json.loads(label_path.read_text(encoding="utf-8"))
        label = label[0] if isinstance(label, list) else label
        png, pdf = base / "documents" / f"{stem}.png", base / "documents" / f"{stem}.pdf"
        if pdf.exists():
            docs.append({"id": stem, "filename": pdf.name, "path": str(pdf), "label": label, "load": pdf.read_bytes})
        elif png.exists():
            docs.append({"id": stem, "filename": png.name, "path": str(png), "label": label, "load": png.read_bytes})
        else:
            skipped.append({"id": stem, "reason": "no image or PDF (plain-text invoice)"})
    return docs, skipped


def synthetic_invoices(scanned: bool, count: int = SYNTHETIC_INVOICES) -> list[dict]:
    """Synthetic multi-page documents (seeds 0..count-1 per layout): Vietnamese VAT
    invoices, English invoices and English purchase orders, with their line items
    and totals as labels; ``scanned``: image-only PDFs (odd seeds multi-page TIFFs)."""
    from tests.synthetic.invoices import make_document, render_pdf, render_scanned

    docs = []
    for layout, kind in (("vi", "invoice"), ("en", "invoice"), ("en", "purchase_order")):
        for seed in range(count):
            doc = make_document(seed, layout, kind)
            label = {"total": str(doc.total), "number": doc.number,
                     "line_items": [{"description": i.description, "amount": str(i.amount)} for i in doc.items]}
            fmt = "TIFF" if scanned and seed % 2 else "PDF"

            def load(doc=doc, fmt=fmt, seed=seed):
                return render_scanned(doc, fmt=fmt, seed=seed) if scanned else render_pdf(doc)

            name = f"{layout}-{kind}-{seed}{'-scan' if scanned else ''}"
            docs.append({"id": name, "filename": f"{name}.{fmt.lower()}", "path": f"synthetic:{name}",
                         "label": label, "load": load, "config": {"document_type": kind}})
    return docs


#: SROIE items of the first sample (the first 100 manifest rows, tuned on); the rest were added later.
SROIE_OLD = 100


def select_split(dataset: str, docs: list[dict], split: str = "all", data_dir: Path = DATA) -> list[dict]:
    """SROIE documents of one split: ``old`` (the first 100 sampled, which the
    rules were tuned on), ``new`` (the 150 added), ``all``; other datasets are
    returned whole. The split follows ``manifest.csv`` order (SOURCE.md)."""
    if dataset != "sroie" or split == "all":
        return docs
    import csv

    with open(data_dir / DATASET_DIRS["sroie"] / "manifest.csv", encoding="utf-8") as f:
        ids = [row["id"] for row in csv.DictReader(f)]
    chosen = set(ids[:SROIE_OLD]) if split == "old" else set(ids[SROIE_OLD:])
    return [d for d in docs if d["id"] in chosen]


def synthetic_cards(dataset: str, count: int = SYNTHETIC_CARDS) -> list[dict]:
    """Synthetic CCCD sides with real QR / MRZ encodings, rendered now (seeds 0..count-1;
    odd seeds rotated ±3°, blurred and JPEG-compressed)."""
    sys.path.insert(0, str(ROOT))
    from tests.synthetic.cccd import degrade, random_person, render_cccd_back, render_cccd_front

    from app.extraction.normalize import fold

    docs = []
    for seed in range(count):
        person = random_person(seed)
        render = render_cccd_front if dataset == "cccd_front" else render_cccd_back
        label = {"id_number": person.id_number, "full_name": person.full_name,
                 "date_of_birth": person.date_of_birth.isoformat(), "sex": person.sex,
                 "nationality": person.nationality, "place_of_origin": person.place_of_origin,
                 "place_of_residence": person.place_of_residence,
                 "date_of_expiry": person.date_of_expiry.isoformat(),
                 "date_of_issue": person.date_of_issue.isoformat(),
                 "personal_identification": person.personal_identification}
        if dataset == "cccd_back":
            label["full_name"] = fold(person.full_name).upper()

        def load(person=person, render=render, seed=seed):
            image = render(person)
            if seed % 2:
                image = degrade(image, seed)
            buf = io.BytesIO()
            image.save(buf, format="PNG")
            return buf.getvalue()

        docs.append({"id": f"{dataset}-{seed:03d}{'-degraded' if seed % 2 else ''}", "filename": f"{seed}.png",
                     "path": f"synthetic:{dataset}:{seed}", "label": label, "load": load})
    return docs


def _port_open(url: str) -> bool:
    """True when something accepts TCP connections at the host:port of ``url``."""
    parsed = urllib.parse.urlsplit(url)
    try:
        with socket.create_connection((parsed.hostname, parsed.port or 80), timeout=2):
            return True
    except OSError:
        return False


def ensure_llm_server(settings, bench, wait_s: float = 120.0):
    """Make sure an LLM server answers at ``settings.llm_api_url``.

    A server that is listening but busy (a llama.cpp server answers nothing
    while it generates for another client) is waited for, up to ``wait_s``;
    with nothing listening and ``LLM_BACKEND=llamacpp``, one is started.

    Returns:
        The server process this run started (stop it afterwards), or None.
    """
    if bench.llm_answers(settings.llm_api_url):
        return None
    if _port_open(settings.llm_api_url):
        print(f"the LLM server at {settings.llm_api_url} is busy; waiting up to {wait_s:.0f} s", file=sys.stderr)
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            if bench.llm_answers(settings.llm_api_url):
                return None
            time.sleep(2)
        raise SystemExit(f"something listens at {settings.llm_api_url} but does not answer /models")
    if settings.llm_backend != "llamacpp":
        raise SystemExit(f"no LLM server answers at {settings.llm_api_url}")
    print(f"starting a llama.cpp server at {settings.llm_api_url} for this run", file=sys.stderr)
    return bench.start_llama_server(settings)


def _load_benchmark():
    spec = importlib.util.spec_from_file_location("docextract_benchmark", Path(__file__).with_name("benchmark.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --------------------------------------------------------------------------- main


def rescore(path: Path, out: Path | None = None) -> int:
    """Score an earlier run's saved responses again with the current rules and labels."""
    saved = json.loads(path.read_text(encoding="utf-8"))
    dataset = saved["dataset"]
    labels = {d["id"]: d["label"] for d in load_documents(dataset)[0]}
    for doc in saved["documents"]:
        result = None if doc.get("error_code") else {"extracted_fields": doc.get("extracted_fields") or {},
                                                     "fields": doc.get("response_fields")}
        doc["fields"] = score_document(dataset, labels[doc["id"]], result)
    saved["summary"] = summarise(dataset, saved["documents"])
    print(f"{dataset} (rescored {path}): config {json.dumps(saved['config'], ensure_ascii=False)}\n")
    print(format_table(saved["summary"]))
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(saved, ensure_ascii=False, indent=1), encoding="utf-8")
        print(f"wrote {out}")
    return 0


# Errors that concern the request, not the document (a bad --config, a wrong token).
_REQUEST_ERRORS = {"INVALID_CONFIG", "MISSING_CONFIG", "UNAUTHORIZED", "INVALID_PARAMETER"}


def build_config(args) -> dict:
    if args.config:
        try:
            config = json.loads(args.config)
        except json.JSONDecodeError as e:
            raise SystemExit(f"--config is not JSON: {e}") from None
    elif args.dataset in DEFAULT_CONFIG and not args.info_preset:
        config = dict(DEFAULT_CONFIG[args.dataset])
    elif getattr(args, "info_preset", None) == "plain":
        config = {"info": plain_info(args.dataset)[0]}
    else:
        config = {"info": dict(NAIVE_INFO[args.dataset])}
    if args.llm_timeout is not None:
        config["llm_timeout"] = args.llm_timeout
    return config


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", choices=sorted(FIELDS))
    parser.add_argument("--limit", type=int, help="first N documents (sorted by id)")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--info-preset", choices=["naive", "plain"],
                       help="send {\"info\": ...}: naive (the label keys and plain descriptions) or plain "
                            "(the hold-out descriptions of PLAIN_INFO under opaque keys)")
    group.add_argument("--config", help="the /extract config JSON to send as is")
    parser.add_argument("--llm-timeout", type=float, help="add llm_timeout (seconds per LLM call) to the config")
    parser.add_argument("--split", choices=["all", "old", "new"], default="all",
                        help="SROIE: the first 100 images (old), the 150 added (new) or all")
    parser.add_argument("--ocr-cache", nargs="?", const="bench/results/ocr-cache", metavar="DIR",
                        help="answer OCR from bench/ocr_cache.py's cache (a miss runs OCR and is stored)")
    parser.add_argument("--out", help="JSON file for every prediction (default bench/results/eval-DATASET.json)")
    parser.add_argument("--describe-normalisation", action="store_true", help="print the comparison rules and exit")
    parser.add_argument("--rescore", metavar="JSON", help="score the predictions saved in an earlier --out file "
                        "again (current labels and rules; no service run) and print the table")
    args = parser.parse_args(argv)

    if args.describe_normalisation:
        print(NORMALISATION_RULES)
        print(SCORING_RULES)
        return 0
    if args.rescore:
        return rescore(Path(args.rescore), Path(args.out) if args.out else None)
    if not args.dataset:
        parser.error("--dataset is required")

    from app import create_app
    from app.config import Settings

    config = build_config(args)
    back = plain_info(args.dataset)[1] if args.info_preset == "plain" and not args.config else {}
    docs, skipped_docs = load_documents(args.dataset)
    docs = select_split(args.dataset, docs, args.split)
    if args.limit:
        docs = docs[: args.limit]
    if not docs:
        raise SystemExit(f"no documents found under {DATA / DATASET_DIRS[args.dataset]}")
    for s in skipped_docs:
        print(f"skipping {s['id']}: {s['reason']}", file=sys.stderr)

    settings = Settings.from_env()
    bench = _load_benchmark()
    started = ensure_llm_server(settings, bench)

    headers = {"X-API-Token": settings.hard_token} if settings.auth_enabled else {}
    documents = []
    try:
        engine = None
        if args.ocr_cache:
            from app.ocr.base import create_engine

            cache = importlib.util.spec_from_file_location("docextract_ocr_cache", Path(__file__).with_name("ocr_cache.py"))
            module = importlib.util.module_from_spec(cache)
            cache.loader.exec_module(module)
            engine = module.CachingOcrEngine(create_engine(settings), ROOT / args.ocr_cache)
        app = create_app(settings, ocr_engine=engine)
        client = app.test_client()
        for i, doc in enumerate(docs, 1):
            payload = doc["load"]()
            t0 = time.perf_counter()
            response = client.post("/extract", headers=headers, content_type="multipart/form-data", data={
                "image_file": (io.BytesIO(payload), doc["filename"]),
                # A synthetic document names its own type (invoice / purchase_order) unless --config is given.
                "config": json.dumps({**config, **doc["config"]} if "config" in doc and not args.config
                                     else config, ensure_ascii=False)})
            seconds = time.perf_counter() - t0
            body = response.get_json(silent=True) or {}
            result, error_code = None, None
            results = (body.get("data") or {}).get("results") or []
            if response.status_code == 200 and results and results[0].get("success"):
                result = results[0]
            else:
                error_code = (results[0].get("error_code") if results else None) or body.get("error_code") \
                    or f"HTTP {response.status_code}"
            if error_code in _REQUEST_ERRORS:  # the same for every document: stop at once
                raise SystemExit(f"/extract refused the request: {error_code}: {body.get('message')}")
            result = rename_result(result, back)
            fields = score_document(args.dataset, doc["label"], result)
            timing = (result or {}).get("processing_time") or {}
            gold_items = gold_line_items(doc["label"])
            items = score_line_items(gold_items, (result or {}).get("line_items") or []) if gold_items else None
            documents.append({
                "id": doc["id"], "path": doc["path"], "status": response.status_code, "error_code": error_code,
                "seconds": round(seconds, 3), "ocr_ms": timing.get("ocr_ms"),
                "extraction_ms": timing.get("extraction_ms"),
                "field_errors": (result or {}).get("field_errors"), "warnings": (result or {}).get("warnings"),
                "extracted_fields": (result or {}).get("extracted_fields"),
                "response_fields": (result or {}).get("fields"), "fields": fields,
                "pages": [{k: p.get(k) for k in ("page", "source", "processing_time")}
                          for p in (result or {}).get("pages") or []],
                "line_items": items, "predicted_line_items": (result or {}).get("line_items"),
                "checks": (result or {}).get("checks")})
            marks = " ".join(f"{k}={'✓' if r.get('match') else ('·' if 'skipped' in r else '✗')}"
                             for k, r in fields.items())
            print(f"[{i}/{len(docs)}] {doc['id'][:28]:28s} {seconds:6.1f} s  {marks}"
                  + (f"  ({error_code})" if error_code else ""), file=sys.stderr)
    finally:
        if started:
            started.terminate()
            try:
                started.wait(timeout=20)
            except subprocess.TimeoutExpired:  # a busy machine: do not lose the run's results over it
                started.kill()
                started.wait(timeout=20)

    summary = summarise(args.dataset, documents)
    summary["line_items"] = line_item_figures([d["line_items"] for d in documents if d.get("line_items")])
    print(f"\n{args.dataset}: config {json.dumps(config, ensure_ascii=False)}")
    print(f"OCR {settings.ocr_engine}, LLM {settings.llm_model} ({settings.llm_backend}, "
          f"{settings.prompt_style} prompts, default mode {settings.default_extract_mode})\n")
    print(format_table(summary))
    if summary["line_items"]:
        li = summary["line_items"]
        print(f"\nline items: {li['documents']} documents, {li['gold']} labelled rows, {li['predicted']} predicted, "
              f"{li['matched']} matched: precision {li['precision']:.3f}, recall {li['recall']:.3f}, F1 {li['f1']:.3f}")
    out = Path(args.out) if args.out else ROOT / "bench" / "results" / f"eval-{args.dataset}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "dataset": args.dataset, "config": config,
        "settings": {"ocr_engine": settings.ocr_engine, "llm_model": settings.llm_model,
                     "llm_backend": settings.llm_backend, "prompt_style": settings.prompt_style,
                     "default_mode": settings.default_extract_mode},
        "fields": FIELDS[args.dataset], "response_keys": RESPONSE_KEYS[args.dataset],
        "default_currency": DEFAULT_CURRENCY[args.dataset],
        "skipped_documents": skipped_docs, "summary": summary, "documents": documents,
    }, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
