"""Review routing: quality score from confidences, grounding, checks and missing fields."""

from app.jobs.review import review, score_document


def doc(fields, **extra):
    return {"filename": "a.png", "success": True, "fields": fields, **extra}


def field(value="x", confidence=0.9, grounded=True, checks=None):
    out = {"value": value, "confidence": confidence, "grounded": grounded}
    if checks is not None:
        out["checks"] = checks
    return out


def test_confident_grounded_fields_are_approved():
    result = review([doc({"a": field(confidence=0.95), "b": field(confidence=0.85)})], 0.8)
    assert result["review_status"] == "approved" and result["quality_score"] == 0.9 and result["reasons"] == []


def test_missing_field_scores_zero_and_is_named():
    score, reasons = score_document(doc({"a": field(confidence=1.0), "b": field(value=None, confidence=0.0)}))
    assert score == 0.5 and reasons == ["a.png: b missing"]


def test_ungrounded_and_failed_checks_halve_the_field():
    score, reasons = score_document(doc({"id": field(confidence=1.0, grounded=False, checks={"check_digit": False,
                                                                                              "anchor": True})}))
    assert score == 0.25
    assert any("not found in the OCR text" in r for r in reasons)
    assert any("check_digit" in r for r in reasons)


def test_lowest_document_decides_and_reasons_listed():
    good = doc({"a": field(confidence=0.99)})
    bad = {"filename": "b.png", "success": False, "error_code": "INVALID_IMAGE"}
    result = review([good, bad], 0.5)
    assert result["review_status"] == "manual_review" and result["quality_score"] == 0.0
    assert result["reasons"][0].startswith("quality score 0.000 below REVIEW_THRESHOLD")
    assert "b.png: not processed (INVALID_IMAGE)" in result["reasons"]
    assert [d["quality_score"] for d in result["documents"]] == [0.99, 0.0]


def test_field_errors_send_to_review_even_above_threshold():
    result = review([doc({"a": field(confidence=0.99)}, field_errors={"b": {"error_code": "LLM_TIMEOUT"}})], 0.5)
    assert result["review_status"] == "manual_review"
    assert "a.png: b error LLM_TIMEOUT" in result["reasons"]


def test_threshold_boundaries():
    d = [doc({"a": field(confidence=0.8)})]
    assert review(d, 0.8)["review_status"] == "approved"
    assert review(d, 0.81)["review_status"] == "manual_review"
    assert review([], 0.0)["review_status"] == "manual_review"
