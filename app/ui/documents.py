"""The review UI's view of documents: one file of a job, its model output, its corrections.

Pure functions over the job row (``jobs.result``) and the review row
(``reviews.corrected``); the model's output is never modified, corrections
overlay it (:func:`effective`). Edited values are validated and normalised by
the same code as the API's ``normalized`` values (:func:`app.extraction.normalize.normalize_value`).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from app.errors import InvalidParameter
from app.extraction.doctypes import DOCUMENT_TYPES
from app.extraction.normalize import normalize_value

#: what a person must type for a kind whose value did not parse
_EXPECTED = {
    "date": "a date (dd/mm/yyyy or yyyy-mm-dd)",
    "amount": "an amount (e.g. 1.250.000 or 60.30 MYR)",
    "id_number": "a number with digits",
}
LINE_ITEM_COLUMNS = ("description", "quantity", "unit", "unit_price", "amount")
_NUMERIC_COLUMNS = ("quantity", "unit_price", "amount")


def field_kind(document_type: str | None, key: str) -> str:
    """The kind (``text``, ``date``, ``amount``...) of ``key`` in ``document_type``; ``text`` when unknown."""
    doc = DOCUMENT_TYPES.get(document_type or "")
    spec = doc.spec(key) if doc else None
    return spec.kind if spec else "text"


def validate_value(document_type: str | None, key: str, value) -> dict:
    """Validate and normalise a value a person typed for field ``key``.

    Args:
        document_type: the document's type (decides the field's kind).
        key: field key.
        value: the typed text (``""`` or None clears the field).

    Returns:
        ``{"value": str | None, "normalized": object}``.

    Raises:
        InvalidParameter: not a string, over 2,000 characters, or a value its kind
            cannot read (``"31/02/2024"`` for a date says it is not a date);
            an ``enum`` value outside the field's choices.
    """
    if value is not None and not isinstance(value, str):
        raise InvalidParameter(f"{key}: the value must be text")
    if value is not None and len(value) > 2000:
        raise InvalidParameter(f"{key}: at most 2000 characters")
    text = (value or "").strip()
    if not text:
        return {"value": None, "normalized": None}
    kind = field_kind(document_type, key)
    normalized = normalize_value(kind, text)
    if normalized is None:
        raise InvalidParameter(f"{key}: {text!r} is not {_EXPECTED.get(kind, 'a valid value')}")
    doc = DOCUMENT_TYPES.get(document_type or "")
    spec = doc.spec(key) if doc else None
    if kind == "enum" and spec is not None and spec.choices and normalized not in spec.choices:
        raise InvalidParameter(f"{key}: {text!r} is not one of {', '.join(spec.choices)}")
    return {"value": text, "normalized": normalized}


def validate_line_items(items) -> list[dict]:
    """Validate a corrected line-item table.

    Args:
        items: ``[{description, quantity, unit, unit_price, amount}]``, text cells.

    Returns:
        The rows with numbers as canonical decimal strings (``"1250.50"``) and
        empty cells as None; rows with every cell empty are dropped.

    Raises:
        InvalidParameter: not a list of objects, over 500 rows, or a number cell that is not a number.
    """
    if not isinstance(items, list) or len(items) > 500 or not all(isinstance(r, dict) for r in items):
        raise InvalidParameter("line_items must be a list of at most 500 rows (objects)")
    rows = []
    for n, row in enumerate(items, 1):
        out = {}
        for col in LINE_ITEM_COLUMNS:
            cell = row.get(col)
            if cell is not None and not isinstance(cell, (str, int, float)):
                raise InvalidParameter(f"line {n} {col}: must be text")
            text = str(cell).strip() if cell is not None else ""
            if not text:
                out[col] = None
            elif col in _NUMERIC_COLUMNS:
                parsed = normalize_value("amount", text)
                try:
                    number = Decimal(parsed["amount"]) if parsed else None
                except InvalidOperation:
                    number = None
                if number is None:
                    raise InvalidParameter(f"line {n} {col}: {text!r} is not a number")
                out[col] = parsed["amount"]
            else:
                out[col] = text[:500]
        if any(v is not None for v in out.values()):
            rows.append(out)
    return rows


def file_result(job: dict, index: int) -> dict | None:
    """The per-file ``/extract`` result of file ``index`` of a finished job, or None."""
    results = ((job.get("result") or {}).get("results")) or []
    return results[index] if 0 <= index < len(results) else None


def effective(result: dict, review: dict | None) -> dict:
    """The document's output after corrections: ``{document_type, fields: {key: {value, normalized,
    confidence, corrected}}, line_items}`` (the model's output where nothing was corrected)."""
    corrected = (review or {}).get("corrected") or {}
    fixes = corrected.get("fields") or {}
    fields = {}
    for key, info in (result.get("fields") or {}).items():
        fix = fixes.get(key)
        fields[key] = {"value": (fix or info).get("value"), "normalized": (fix or info).get("normalized"),
                       "confidence": 1.0 if fix else info.get("confidence"), "corrected": fix is not None}
    items = corrected.get("line_items")
    if items is None:
        items = [{c: r.get(c) for c in LINE_ITEM_COLUMNS} for r in result.get("line_items") or []]
    out = {"document_type": result.get("document_type"), "fields": fields}
    if items or result.get("line_items") is not None:
        out["line_items"] = items
    return out


def attention(info: dict, threshold: float) -> list[str]:
    """Why a field needs a person's eyes: ``["missing", "low confidence 0.42", "not in the OCR text",
    "failed check total_matches"]`` (empty when none)."""
    reasons = []
    if info.get("value") in (None, ""):
        return ["missing"]
    conf = info.get("confidence")
    if conf is not None and conf < threshold:
        reasons.append(f"low confidence {conf:.2f}")
    if info.get("grounded") is False:
        reasons.append("not in the OCR text")
    failed = [name for name, ok in (info.get("checks") or {}).items() if ok is False]
    if failed:
        reasons.append("failed check " + ", ".join(failed))
    return reasons


def status_of(job: dict, review: dict | None) -> str:
    """A document's review status: the reviewer's, else the job's routing (``manual_review`` when none)."""
    if review is not None:
        return review["status"]
    return job.get("review_status") or "manual_review"
