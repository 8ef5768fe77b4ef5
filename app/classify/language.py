"""Page language: is this page Vietnamese?

One home for the page-language test that OCR (the hybrid engine decides
whether to run the Vietnamese recogniser, :mod:`app.ocr.hybrid`) and
extraction (currency context, tone-mark restoration, document
classification) both use. Pure text tests, no model: a few microseconds per page.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Sequence

_VI_SPECIFIC = re.compile("[ăđơưĂĐƠƯ]")
#: Common Vietnamese words once diacritics are removed (receipts, invoices, ID cards).
_VI_WORDS = frozenset({"tong", "tien", "thanh", "toan", "ngay", "hoa", "don", "khach", "nhan", "vien", "phuong",
                       "duong", "huyen", "tinh", "thuong", "tru", "viet", "cong", "cuoc", "dan", "gioi",
                       "quoc", "tich", "dia", "chi", "hang", "gia", "luong"})


_COMBINING = re.compile("[\u0300-\u036f]")


def fold_page(text: str) -> str:
    """Lower case without diacritics (``đ`` -> ``d``), one regex pass over the text (fast;
    unlike :func:`app.extraction.normalize.fold` it does not keep one character per character)."""
    return _COMBINING.sub("", unicodedata.normalize("NFD", text.lower().replace("đ", "d")))


def looks_vietnamese(texts: Sequence[str]) -> bool:
    """Whether a page's lines are Vietnamese text.

    True when at least two lines hold a letter only Vietnamese uses among the
    languages we see (ă, đ, ơ, ư; PP-OCRv6 reads these), or when at least three
    distinct common Vietnamese words appear once diacritics are removed
    ("tong", "tien", "ngay", "thanh", "toan", ...).

    Args:
        texts: the page's OCR line texts.
    """
    specific = sum(1 for t in texts if _VI_SPECIFIC.search(t))
    if specific >= 2:
        return True
    words = {w for w in re.findall(r"[a-z]+", fold_page("\n".join(texts))) if w in _VI_WORDS}
    return len(words) >= 3


def is_vietnamese(ocr) -> bool:
    """Whether a document's OCR lines are Vietnamese: its ``OcrResult.language`` when the
    pipeline set it (decided once per document), else :func:`looks_vietnamese` of its lines.

    Args:
        ocr: an :class:`app.domain.OcrResult`.
    """
    if ocr.language is not None:
        return ocr.language == "vi"
    return looks_vietnamese([line.text for line in ocr.lines])


def page_language(texts: Sequence[str]) -> str:
    """``"vi"`` for a Vietnamese page (:func:`looks_vietnamese`), else ``"other"``
    (English, Malay and the European invoice languages are not told apart)."""
    return "vi" if looks_vietnamese(texts) else "other"
