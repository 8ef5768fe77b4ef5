"""Review routing: a document quality score and an ``approved`` / ``manual_review`` decision.

The score of one document is the mean, over the fields it was asked for, of a
per-field score in [0, 1]:

* a field with no value scores 0 (a missing required field: every field the
  request named, through ``document_type`` or ``info``, is required);
* otherwise its extraction confidence, halved when the value is not grounded
  in the OCR text (the reader or LLM produced text the page does not show)
  and halved again when any validator check failed (ID structure, MRZ check
  digits, arithmetic of totals: the ``checks`` of the field, where ``False``
  means failed).

A failed document (undecodable file, OCR error) scores 0. A job's score is the
lowest of its documents' scores: one bad page sends the batch to a person.
The decision is ``approved`` when the score is at least ``REVIEW_THRESHOLD``
and no field-level error (an LLM call that failed) occurred; otherwise
``manual_review`` with the reasons listed.
"""

from __future__ import annotations


def _failed_checks(checks: dict | None) -> list[str]:
    return [name for name, value in (checks or {}).items() if value is False]


def score_document(result: dict) -> tuple[float, list[str]]:
    """Score one ``/extract`` per-file result.

    Args:
        result: one entry of the extract result list (``filename``, ``success``,
            ``fields`` key -> ``{value, confidence, grounded, checks?}``,
            ``field_errors``).

    Returns:
        ``(score in [0, 1], reasons)``; reasons name the field and the problem.
    """
    name = result.get("filename", "?")
    if not result.get("success", False):
        return 0.0, [f"{name}: not processed ({result.get('error_code', 'ERROR')})"]
    fields = result.get("fields") or {}
    if not fields:
        return 0.0, [f"{name}: no fields extracted"]
    reasons: list[str] = []
    total = 0.0
    for key, info in fields.items():
        if info.get("value") in (None, ""):
            reasons.append(f"{name}: {key} missing")
            continue
        score = float(info.get("confidence") or 0.0)
        if info.get("grounded") is False:
            score *= 0.5
            reasons.append(f"{name}: {key} not found in the OCR text")
        failed = _failed_checks(info.get("checks"))
        if failed:
            score *= 0.5
            reasons.append(f"{name}: {key} failed check(s) {', '.join(failed)}")
        total += max(0.0, min(1.0, score))
    for key, err in (result.get("field_errors") or {}).items():
        reasons.append(f"{name}: {key} error {err.get('error_code', 'ERROR')}")
    return total / len(fields), reasons


def review(results: list[dict], threshold: float) -> dict:
    """Route a job's documents.

    Args:
        results: the per-file extract results of the job.
        threshold: ``REVIEW_THRESHOLD`` in [0, 1].

    Returns:
        ``{"quality_score": float rounded to 3 places, "review_status":
        "approved" | "manual_review", "reasons": [str], "documents":
        [{filename, quality_score}]}``.
    """
    if not results:
        return {"quality_score": 0.0, "review_status": "manual_review", "reasons": ["no documents"],
                "documents": []}
    docs, reasons = [], []
    has_errors = False
    for result in results:
        score, why = score_document(result)
        docs.append({"filename": result.get("filename"), "quality_score": round(score, 3)})
        reasons.extend(why)
        has_errors = has_errors or bool(result.get("field_errors"))
    score = min(d["quality_score"] for d in docs)
    low = score < threshold
    if low:
        reasons.insert(0, f"quality score {score:.3f} below REVIEW_THRESHOLD {threshold:g}")
    status = "manual_review" if low or has_errors else "approved"
    return {"quality_score": round(score, 3), "review_status": status, "reasons": reasons, "documents": docs}
