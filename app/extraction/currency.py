"""The document's currency: the one assumed for amounts printed without one.

Decided once per document by the pipeline (``OcrResult.currency``) and read by every
reader that parses amounts (the caption rules, the key-value reader, the line items), so
they cannot disagree about it.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Sequence

from app.domain import OcrResult, TextLine
from app.extraction.normalize import detect_currency, fold

# Ringgit written as "RM 12.00", "RM12" or "MYR"; dong as "VND", "VNĐ" or "12.000 đ" (folded: "d").
_RINGGIT = re.compile(r"\brm\s*\d|\bmyr\b|\brm\b")
_DONG = re.compile(r"\bvnd\b|\d\s*d\b|\bvnđ\b")


def document_currency(lines: Sequence[TextLine], language: str | None = None) -> str | None:
    """ISO 4217 code for the document's amounts printed without a currency.

    MYR when the text prints ringgit (``RM``/``MYR``), VND when it prints dong (``VND``,
    ``đ`` after a number) or the page is Vietnamese, else the currency most lines name
    (:func:`app.extraction.normalize.detect_currency`: ``$``, ``EUR``, ``€``, ``Rs``, ...),
    else None. Ringgit and dong go first because Malaysian and Vietnamese receipts print
    ``$`` or nothing beside most prices.

    Args:
        lines: the document's lines.
        language: ``OcrResult.language`` when known; None: decided from ``lines``
            (:func:`app.classify.language.looks_vietnamese`).
    """
    from app.classify.language import looks_vietnamese

    texts = [ln.text for ln in lines]
    folded = " ".join(fold(t) for t in texts)
    if _RINGGIT.search(folded):
        return "MYR"
    vietnamese = language == "vi" if language is not None else looks_vietnamese(texts)
    if _DONG.search(folded) or vietnamese:
        return "VND"
    named = Counter(code for code in map(detect_currency, texts) if code)
    return named.most_common(1)[0][0] if named else None


def currency_of(ocr: OcrResult) -> str | None:
    """The document's currency: ``ocr.currency`` as the pipeline decided it (``""``: the
    document names none), else :func:`document_currency` of its lines."""
    if ocr.currency is not None:
        return ocr.currency or None
    return document_currency(ocr.lines, ocr.language)
