"""Canonical forms of field values: text, dates, amounts, id numbers.

Pure functions (no I/O, no model), used twice:

* by the service, for each field's ``normalized`` value
  (:func:`normalize_value`);
* by the evaluation (``bench/evaluate.py``), which compares a prediction with a
  label only after both went through :func:`comparable`.

The rules, in the words the README uses, are in :data:`NORMALISATION_RULES`.

Dates are read day-first (Vietnam, Malaysia and most of the world write
``dd/mm/yyyy``); a four-digit year in front means ISO order. Amounts follow
the separator rules in :func:`parse_amount`.
"""

from __future__ import annotations

import re
import unicodedata

from app.domain import amount_string  # noqa: F401 (the canonical amount form lives with LineItem)
from app.extraction.normalize.amounts import detect_currency, parse_amount  # noqa: F401 (re-exported)
from app.extraction.normalize.dates import MONTH_NAMES, parse_date  # noqa: F401 (re-exported)
from app.extraction.normalize.text import CAPTIONS, fold, normalize_text, strip_caption  # noqa: F401 (re-exported)

__all__ = [
    "CAPTIONS",
    "KINDS",
    "MONTH_NAMES",
    "NORMALISATION_RULES",
    "amount_string",
    "comparable",
    "detect_currency",
    "fold",
    "normalize_currency",
    "normalize_text",
    "normalize_value",
    "parse_amount",
    "parse_date",
    "similarity",
    "strip_caption",
    "tone_on_first_vowel",
]

KINDS = ("text", "date", "amount", "id_number", "enum", "currency")

# --------------------------------------------------------------------------- values


def normalize_currency(s: str | None) -> str | None:
    """ISO 4217 code for a currency symbol or code (``"€"`` -> ``"EUR"``), else None."""
    if not s:
        return None
    text = normalize_text(s)
    if re.fullmatch(r"[A-Za-z]{3}", text):
        return text.upper()
    return detect_currency(text)


def normalize_value(kind: str, s: str | None, default_currency: str | None = None) -> object:
    """The ``normalized`` value of a field as the service returns it.

    Args:
        kind: ``text``, ``date``, ``amount``, ``id_number``, ``enum`` or ``currency``.
        s: the value as read.
        default_currency: currency assumed for amounts that name none.

    Returns:
        ``date``: ISO 8601 ``"YYYY-MM-DD"`` or None; ``amount``:
        ``{"amount": "60.30", "currency": "MYR"}`` (the amount as printed,
        separators removed, decimals kept; currency None when unknown) or None;
        ``id_number``: digits only (None if there are none); ``enum``: NFC,
        whitespace collapsed, lower case; ``currency``: ISO code;
        ``text``: NFC, whitespace collapsed. None for an empty value.

    Raises:
        ValueError: unknown ``kind``.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
    text = normalize_text(s)
    if not text:
        return None
    if kind == "date":
        d = parse_date(text)
        return d.isoformat() if d else None
    if kind == "amount":
        parsed = parse_amount(text, default_currency)
        if parsed is None:
            return None
        value, currency = parsed
        return {"amount": format(value, "f"), "currency": currency}
    if kind == "id_number":
        digits = re.sub(r"\D", "", text)
        return digits or None
    if kind == "enum":
        return text.lower()
    if kind == "currency":
        return normalize_currency(text) or text.upper()
    return text


_TRAILING_PUNCT = re.compile(r"[\s.,;:!?\-–—/|*]+$")
_LEADING_PUNCT = re.compile(r"^[\s.,;:!?\-–—/|*]+")


def comparable(kind: str, s: str | None, default_currency: str | None = None) -> str:
    """Comparison form used by the evaluation (both label and prediction).

    * ``text`` / ``enum``: NFC, captions stripped (:func:`strip_caption`),
      upper case, whitespace collapsed, leading/trailing punctuation removed.
      Diacritics are kept.
    * ``date``: ISO ``YYYY-MM-DD`` (calendar date only, times dropped); when no
      date can be read, the text form.
    * ``amount``: the canonical decimal string (:func:`amount_string`; no
      currency, no separators); when no number can be read, the text form.
    * ``id_number``: digits only.
    * ``currency``: ISO 4217 code; else the text form.

    Args:
        kind: one of :data:`KINDS`.
        s: value (None gives ``""``).
        default_currency: currency context for amounts (``"VND"`` makes
            ``42.904`` read 42904).

    Returns:
        The comparison string (``""`` when nothing is left).
    """
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
    if s is None:
        return ""
    text = normalize_text(str(s))
    if kind == "date":
        d = parse_date(text)
        if d:
            return d.isoformat()
    elif kind == "amount":
        parsed = parse_amount(text, default_currency)
        if parsed:
            return amount_string(parsed[0])
    elif kind == "id_number":
        return re.sub(r"\D", "", text)
    elif kind == "currency":
        code = normalize_currency(text)
        if code:
            return code
    text = tone_on_first_vowel(strip_caption(text)).upper()
    # Letters (diacritics kept) and digits only: "27,JALAN DEDAP 13" and
    # "27, JALAN DEDAP 13" differ in OCR spacing, not in the field's value.
    return re.sub(r"[\W_]+", "", text)


# Tone marks (grave, acute, tilde, hook above, dot below), as combining characters.
_TONES = "\u0300\u0301\u0303\u0309\u0323"
_LETTERS = re.compile(r"[^\W\d_]+")


def tone_on_first_vowel(text: str) -> str:
    """Vietnamese words ending in the rhymes ``oa``, ``oe`` or ``uy`` with their tone
    mark on the first vowel: ``hoà`` -> ``hòa``, ``thuỷ`` -> ``thủy``, ``Hoè`` -> ``Hòe``.

    Vietnamese prints both placements: the older rule puts the tone on the first
    vowel of these open rhymes, the 1980 orthography of the Ministry of Education
    on the second (``hòa``/``hoà``); the two spell the same word. Other words,
    ``qu`` + ``y`` (``quý``) and rhymes with a final consonant (``hoàn``) are
    unchanged.

    Args:
        text: any text.

    Returns:
        The text in NFC with those tone marks moved; same length in characters.
    """

    def move(m: re.Match) -> str:
        word = m.group(0)
        if len(word) < 2:
            return word
        first, second = unicodedata.normalize("NFD", word[-2]), unicodedata.normalize("NFD", word[-1])
        pair = (first[0].lower(), second[0].lower())
        if pair not in (("o", "a"), ("o", "e"), ("u", "y")) or (pair[0] == "u" and word[:-2].lower().endswith("q")):
            return word
        if word[:-2] and unicodedata.normalize("NFD", word[-3])[0].lower() in "aeiouy":
            return word  # a longer vowel group (oai, uya, ...): one placement only
        tone = "".join(c for c in second if c in _TONES)
        if not tone or any(c in _TONES for c in first) or len(first) != 1 or len(second) != 2:
            return word
        return word[:-2] + unicodedata.normalize("NFC", first + tone) + second[0]

    return _LETTERS.sub(move, unicodedata.normalize("NFC", text))


# --------------------------------------------------------------------------- similarity


def _levenshtein(a: str, b: str) -> int:
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def similarity(a: str | None, b: str | None) -> float:
    """1 - Levenshtein distance / length of the longer string, in [0, 1].

    Two empty strings are identical (1.0). Compute it on :func:`comparable`
    forms. Uses ``rapidfuzz`` when installed (same definition), else a
    pure-Python dynamic programme.
    """
    a, b = a or "", b or ""
    if not a and not b:
        return 1.0
    try:
        from rapidfuzz.distance import Levenshtein
    except ImportError:
        return 1.0 - _levenshtein(a, b) / max(len(a), len(b))
    return float(Levenshtein.normalized_similarity(a, b))


NORMALISATION_RULES = """\
Both the label and the prediction are put in a comparison form before scoring
(`app/extraction/normalize/`, `comparable(kind, value)`):

- **text** (company, seller, address, invoice number): Unicode NFC; printed
  captions in front of the value removed, case-, diacritic- and spacing-insensitively
  ("Tổng tiền:", "TỔNG TIỀN PHẢI T.TOÁN", "Ngày bán:", "Thời gian", "ĐC:",
  "Địa chỉ:", "TÊN ĐẠI LÝ:", "TOTAL RM", "GRAND TOTAL", "Date:", "Address:",
  "Họ và tên / Full name:", "Số / No.:", …; short words such as "Số" or "Tên"
  only before a colon); upper case; then only letters and digits are kept
  (whitespace and punctuation removed: "27,JALAN DEDAP 13," equals
  "27, JALAN DEDAP 13"). Diacritics are kept, so "CẨM PHẢ" differs from "CAM PHA";
  only the place of a tone mark in the open rhymes oa, oe, uy is unified (on the
  first vowel: "Thuỷ" equals "Thủy", "hoà" equals "hòa"), since Vietnamese prints
  both placements of the same word.
- **date**: the first calendar date in the text, as ISO `YYYY-MM-DD`; times are
  ignored (MC-OCR timestamps are compared by date only). Day-first
  (`dd/mm/yyyy`, `dd-mm-yy`, `dd.mm.yy`), ISO when a four-digit year comes first,
  month names (`03 MAR 2018`, `24-MAR-2018`, `MAR 03, 2018`), Vietnamese
  `Ngày 14 tháng 08 năm 2020`, eight digits `ddmmyyyy`; month-first only when
  day-first is impossible (`04/20/19`); two-digit years are 20yy below 70.
- **amount**: the number only, without currency or separators, whole amounts
  without decimals (`RM 1,007.50` → `1007.50`, `Tổng tiền: 408.000đ` → `408000`,
  `60.3` → `60.30`). Separators: a space joins groups of three digits (`35 000`);
  with both `.` and `,` or a repeated one, the last is the decimal point
  (`1,234.50`, `1.234,56`, `6.500.00` → `6500`, `81,140,00` → `81140`) unless
  three digits follow it and it is repeated (`1.234.567` → `1234567`) or the
  context is VND (`1.300,000` → `1300000`); a single separator followed by three digits is a thousands separator in a VND
  context (the receipt says đ/VND, or the dataset is Vietnamese) and for `,`,
  decimal for `.` otherwise (EUR/PLN: the reverse). Thousands groups must have
  three digits (`12.08.2020` is not an amount); numbers inside dates and times
  are ignored. When several numbers are present, the one next to a currency
  marker, else the last.
- **currency**: ISO 4217 code (`€` → EUR, `RM` → MYR, `đ` → VND, `$` → USD).
- **Exact** = comparison forms equal; **similarity** = 1 − Levenshtein distance /
  length of the longer comparison form (1.0 when both are empty).
"""
