"""Generic caption reader for caller-defined fields that match no known field.

A caller asks for ``{"phone": "số điện thoại"}`` or ``{"cashier": "Cashier
name"}``: no reader knows these fields, but the document prints a caption for
them ("ĐT: 0903 ...", "Cashier : ANNIE"). This reader finds the printed caption
that best matches the field's description or key (fuzzy, diacritic-insensitive:
both sides folded, compared with rapidfuzz) and reads the value after it on the
same line, or on the same row to its right, or on the line below, typed by what
the description implies (:func:`app.classify.mapping.implied_kind`): a date, an
amount, a number (a token holding a digit) or text.

The caption is the part of a line before ``:`` (or, without a colon, the
line's first words, as many as the caption phrase has): its similarity to a
phrase of the description must be >= :data:`MIN_SIMILARITY` (0..100).
"""

from __future__ import annotations

import functools
import math
import re

from app.domain import Candidate, OcrResult
from app.geometry import local_text_angles
from app.extraction.doctypes import FieldSpec
from app.extraction.normalize import fold, normalize_text

MIN_SIMILARITY = 85.0
#: Reader confidence of a value after a caption that matched exactly (scaled by similarity and OCR confidence).
CONFIDENCE = 0.75


def _phrases(key: str, description: str) -> list[str]:
    """Caption phrases to look for: the description's segments and the key's words (folded)."""
    from app.classify.mapping import segments, words

    out = [" ".join(ws) for ws in segments(description, aliases=False)]
    key_words = " ".join(words(key, aliases=False))
    if key_words and key_words not in out:
        out.append(key_words)
    return [p for p in out if len(p) >= 2]


def _caption_score(folded_line: str, phrase: str) -> tuple[float, int]:
    """Similarity (0..100) of the line's caption to ``phrase`` and where the caption ends in the line."""
    from rapidfuzz import fuzz

    colon = folded_line.find(":")
    if 0 < colon <= 40:
        caption = folded_line[:colon]
        cap_words = re.findall(r"[a-z0-9#]+", caption)
        score = fuzz.ratio(" ".join(cap_words), phrase)
        return score, colon + 1
    n = len(phrase.split())
    tokens = list(re.finditer(r"[a-z0-9#]+", folded_line))
    if len(tokens) < n:
        return 0.0, 0
    end = tokens[n - 1].end()
    return fuzz.ratio(" ".join(t.group(0) for t in tokens[:n]), phrase), end


def read_captions(ocr: OcrResult, fields: list[tuple[FieldSpec, str]], reader=None) -> list[Candidate]:
    """Candidates for free fields from the captions printed on the page.

    Args:
        ocr: the page's OCR lines.
        fields: ``(spec, kind)`` per field: the caller's field (``spec.key``,
            ``spec.description_en`` holds the caller's description) and the
            value kind its description implies (``date``, ``amount``,
            ``number``, ``text``).
        reader: the :class:`app.extraction.rules.RuleReader` whose date and
            amount parsing (and ``default_currency``) values are read with; the
            extractor passes its own (default: a plain one).

    Returns:
        At most one candidate per field, ``source="rule"``, ``checks``:
        ``{"caption": the printed caption matched, "similarity": 0..100}``.
    """
    if not fields or not ocr.lines:
        return []
    from app.extraction.layout import next_lines
    from app.extraction.rules import RuleReader

    reader = reader if reader is not None else RuleReader()
    lines = list(ocr.lines)
    folded = [fold(line.text) for line in lines]
    rows = functools.partial(next_lines, slopes=[math.tan(a) for a in local_text_angles(lines)])
    parse = {"date": reader._date_in, "amount": reader._amount_in, "number": _number_in, "text": _text_in}
    out = []
    for spec, kind in fields:
        best = None
        for phrase in _phrases(spec.key, spec.description_en):
            for i, f in enumerate(folded):
                score, end = _caption_score(f, phrase)
                if score >= MIN_SIMILARITY and (best is None or score > best[0]):
                    best = (score, i, end)
        if best is None:
            continue
        score, i, end = best
        tail = lines[i].text[end:].strip(" :.-")
        for indices, text in (((i,), tail), *[((j,), lines[j].text) for j in rows(lines, i)]):
            if not text or not text.strip(" :./-"):
                continue
            if indices != (i,) and ":" in folded[indices[0]][:40] and kind == "text":
                break  # the next caption, not a value
            got = parse[kind](text, spec)
            if got is None:
                continue
            value, normalized = got
            conf = CONFIDENCE * (score / 100.0) * lines[indices[0]].confidence
            out.append(Candidate(spec.key, value, normalized, conf, "rule", indices,
                                 {"caption": lines[i].text[:end].strip(" :"), "similarity": round(score, 1)}))
            break
    return out


def _number_in(text: str, spec: FieldSpec):
    """The first run of digits (with spaces, dots, dashes, slashes inside) holding at least 3 digits."""
    match = re.search(r"[#A-Za-z]*\d[\d\s./\-]*\d|\d{3,}", text)
    if not match or sum(c.isdigit() for c in match.group(0)) < 3:
        return None
    value = match.group(0).strip()
    return value, value


def _text_in(text: str, spec: FieldSpec):
    value = normalize_text(text.strip(" :.-/"))
    return (value, value) if len(re.sub(r"\W", "", value)) >= 2 else None
