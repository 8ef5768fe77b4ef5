"""Combining readers' candidates into one field value, grounding and confidence.

Each field's final value comes from the candidate with the highest
confidence after these adjustments:

* **agreement**: candidates from different readers whose normalised values
  agree reinforce each other: ``c = 1 - (1 - c1)(1 - c2)``; the reported source
  is the more reliable one (qr > mrz > rule > llm);
* **grounding**: an LLM value must appear in the OCR text (case- and
  diacritic-insensitive substring of a line or of two adjacent lines, or a
  fuzzy match with similarity >= 0.9). Ungrounded values are kept but flagged
  (``grounded: false``) and their confidence capped at 0.2;
* **validation**: a date or amount field whose value does not parse, or an
  ID number failing its structure checks, has its confidence halved;
* OCR confidence: rule and LLM confidences are scaled by the mean recognition
  confidence of the lines they were read from;
* the LLM's own confidence depends on the model (:data:`LLM_CONFIDENCE`): the
  embedded base model's answers rank below the readers' (measured).
"""

from __future__ import annotations

import re

from app.domain import Candidate, FieldResult, OcrResult  # noqa: F401 (FieldResult: its home before domain)
from app.extraction.doctypes import DOCUMENT_NUMBER_KEYS, FieldSpec
from app.extraction.normalize import fold, normalize_value, similarity

SOURCE_RANK = {"qr": 3, "mrz": 2, "rule": 1, "llm": 0}
UNGROUNDED_CAP = 0.2
#: Confidence of a grounded LLM answer before OCR confidence scaling, by prompt
#: style. ``base`` (the embedded 270M base model): measured with
#: ``bench/evaluate.py --info-preset naive``, its answers are exactly right for
#: 17.5 % (SROIE) and 19.3 % (MC-OCR) of fields, and with ``document_type``
#: none of the 5 scored fields it answered after the readers failed (SROIE 1,
#: MC-OCR 4) was right, so its answers rank below any reader's. ``instruct`` (a 7B
#: instruction model such as Qwen2.5-7B-Instruct on vLLM): not measured here.
LLM_CONFIDENCE = {"base": 0.3, "instruct": 0.6}


EMPTY = FieldResult(None, None, 0.0, None)


def ground(value: str, ocr: OcrResult) -> tuple[tuple[int, ...], float]:
    """Find the OCR line(s) a value was read from.

    The value must occur in a line, or across two adjacent lines, on folded
    text (case and diacritics ignored, whitespace ignored) and start and end at
    a token boundary (so ``"01"`` does not ground in ``"19/10/2018"``); failing
    that, a line whose similarity to the value is >= 0.9 grounds it.

    Returns:
        (line indices, similarity in [0, 1]); ``((), best)`` when nothing matches.
    """
    target = _compact(value)
    if not target:
        return (), 0.0
    pattern = re.compile(r"(?<![0-9a-z])" + r"\s*".join(map(re.escape, target)) + r"(?![0-9a-z])")
    folded = [fold(line.text) for line in ocr.lines]
    for i, f in enumerate(folded):
        if pattern.search(f):
            return (i,), 1.0
    for i in range(len(folded) - 1):
        if pattern.search(folded[i] + " " + folded[i + 1]):
            return (i, i + 1), 1.0
    best, best_idx = 0.0, ()
    for i, f in enumerate(folded):
        score = similarity(target, _compact(f))
        if score > best:
            best, best_idx = score, (i,)
    return (best_idx, best) if best >= 0.9 else ((), best)


def _compact(text: str) -> str:
    return re.sub(r"\s+", "", fold(text))


def llm_candidate(spec: FieldSpec, value: str | None, ocr: OcrResult,
                  base_confidence: float = LLM_CONFIDENCE["instruct"]) -> Candidate | None:
    """Turn an LLM answer into a candidate: grounded, normalised, scored.

    Args:
        spec: the field asked for.
        value: the LLM's answer (None: no answer).
        ocr: the OCR lines the answer is grounded in.
        base_confidence: confidence of a grounded answer read from lines of
            OCR confidence 1 (:data:`LLM_CONFIDENCE` by prompt style).

    Returns:
        The candidate, or None when there is no usable answer.
    """
    if value is None:
        return None
    if spec.kind == "text" and not spec.free and not re.search(r"[^\W\d_]{2,}", value):
        return None  # a name or address without a word: a number or date answered for the wrong field
    indices, _ = ground(value, ocr)
    conf = base_confidence if indices else min(base_confidence, UNGROUNDED_CAP)
    if indices:
        conf *= sum(ocr.lines[i].confidence for i in indices) / len(indices)
    return Candidate(spec.key, value, normalize_value(spec.kind, value), conf, "llm", indices,
                     {"grounded": bool(indices)})


def combine(spec: FieldSpec, candidates: list[Candidate]) -> FieldResult:
    """Choose the value of one field from its candidates (see module docstring)."""
    if not candidates:
        return EMPTY
    scored = []
    for cand in candidates:
        conf = cand.confidence
        agreeing = [o for o in candidates if o is not cand and o.source != cand.source and _agree(spec, o, cand)]
        for other in agreeing:
            conf = 1 - (1 - conf) * (1 - other.confidence)
        checks = dict(cand.checks)
        if agreeing:
            checks["agrees_with"] = sorted({o.source for o in agreeing})
        valid = _valid(spec, cand)
        if valid is False:
            conf *= 0.5
            checks["valid_" + spec.kind] = False
        grounded = cand.source in ("qr", "mrz", "rule") or bool(cand.line_indices)
        if not grounded:
            conf = min(conf, UNGROUNDED_CAP)
        scored.append((conf, SOURCE_RANK[cand.source], cand, grounded, checks, agreeing))
    conf, _, best, grounded, checks, agreeing = max(scored, key=lambda s: (s[0], s[1]))
    # Report the most reliable agreeing source, keeping the better-formed value.
    source = max([best, *agreeing], key=lambda c: SOURCE_RANK[c.source]).source
    value, normalized, indices = best.value, best.normalized, best.line_indices
    if not indices:
        indices = next((o.line_indices for o in agreeing if o.line_indices), ())
    return FieldResult(value, normalized, min(conf, 1.0), source, tuple(indices), grounded, checks)


def _agree(spec: FieldSpec, a: Candidate, b: Candidate) -> bool:
    if a.normalized is None or b.normalized is None:
        return False
    if spec.kind in ("date", "amount", "id_number", "enum"):
        return a.normalized == b.normalized
    return similarity(fold(str(a.normalized)), fold(str(b.normalized))) >= 0.9


def _valid(spec: FieldSpec, cand: Candidate) -> bool | None:
    if spec.key in DOCUMENT_NUMBER_KEYS:
        return bool(re.search(r"\d", str(cand.value or "")))  # document numbers hold a digit
    if spec.kind in ("date", "amount"):
        return cand.normalized is not None
    if spec.kind == "id_number":
        digits = "".join(ch for ch in str(cand.value or "") if ch.isdigit())
        # Tax codes: 10 or 13 digits in Vietnam, 8-15 with a country prefix elsewhere; citizen IDs: 12.
        return 8 <= len(digits) <= 15 if spec.key != "id_number" else len(digits) == 12
    return None
