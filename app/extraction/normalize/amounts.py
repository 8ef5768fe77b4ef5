"""Amounts as printed -> ``(Decimal, currency)``, and the currency a text names (ISO 4217)."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from app.extraction.normalize.text import normalize_text


# Currency markers (folded text) -> ISO 4217 code. Longest first when matching.
CURRENCY_MARKERS: dict[str, str] = {
    "vnd": "VND", "vnđ": "VND", "₫": "VND", "đ": "VND",
    "myr": "MYR", "rm": "MYR",
    "usd": "USD", "us$": "USD", "$": "USD",
    "eur": "EUR", "€": "EUR",
    "pln": "PLN", "zł": "PLN", "zl": "PLN",
    "inr": "INR", "rs.": "INR", "rs": "INR", "₹": "INR",
    "gbp": "GBP", "£": "GBP",
    "sgd": "SGD", "s$": "SGD",
}
# Currencies whose prices are written 1.234,56 (a lone ',' is decimal, a lone '.' + 3 digits thousands).
_COMMA_DECIMAL = {"EUR", "PLN"}
# Currencies without minor units in practice: any separator + 3 digits is thousands.
_NO_MINOR_UNITS = {"VND"}

# A number: digit groups joined by '.' or ','; or groups of three digits joined by
# spaces after a 1-3 digit lead that does not start with 0 ("35 000", "1 234,56").
_NUMBER = re.compile(
    r"(?<![\d.,])-?(?:[1-9]\d{0,2}(?:[ \u00a0\u202f]\d{3})+(?:[.,]\d+)*(?!\d)|\d+(?:[.,]\d+)*)"
)
_NOT_LETTER_BEFORE = r"(?<![^\W\d_])"
_NOT_LETTER_AFTER = r"(?![^\W\d_])"
_CODES = r"(vnđ|vnd|myr|usd|eur|pln|inr|gbp|sgd|rs\.?|rm|zł|zl)"
_SYMBOLS = r"(us\$|s\$|[$€₫₹£])"
_CURRENCY_RE = re.compile(
    _NOT_LETTER_BEFORE + _CODES + _NOT_LETTER_AFTER + "|" + _SYMBOLS + r"|(?<=[\d\s])(đ)" + _NOT_LETTER_AFTER
)
_CURRENCY_BEFORE = re.compile("(?:" + _NOT_LETTER_BEFORE + _CODES + "|" + _SYMBOLS + r")\s*$")
_CURRENCY_AFTER = re.compile(r"^\s*(?:(?:đ|" + _CODES[1:-1] + ")" + _NOT_LETTER_AFTER + "|" + _SYMBOLS + ")")


def detect_currency(s: str | None) -> str | None:
    """ISO 4217 code of the first currency symbol or code in ``s`` (None if none).

    ``đ``/``VND``/``VNĐ``/``₫`` -> VND, ``RM``/``MYR`` -> MYR, ``$``/``USD`` -> USD,
    ``€``/``EUR`` -> EUR, ``zł``/``PLN`` -> PLN, ``Rs``/``INR``/``₹`` -> INR
    (also GBP, SGD). A bare ``$`` is read as USD although Malaysian receipts
    print it for ringgit (SROIE ``$8.20``).
    """
    if not s:
        return None
    text = normalize_text(s).lower()
    m = _CURRENCY_RE.search(text)
    if not m:
        return None
    token = next(g for g in m.groups() if g)
    return CURRENCY_MARKERS.get(token, CURRENCY_MARKERS.get(token.rstrip("."), None))


def _number_value(token: str, currency: str | None) -> Decimal | None:
    """Decimal value of one number token under the separator rules of :func:`parse_amount`."""
    sign = -1 if token.startswith("-") else 1
    token = token.lstrip("-")
    token = re.sub(r"[ \u00a0\u202f]", "", token)  # spaces only ever join thousands groups
    seps = [(i, c) for i, c in enumerate(token) if c in ".,"]
    if not seps:
        digits, frac = token, ""
    else:
        last_i, last_c = seps[-1]
        after = len(token) - last_i - 1
        kinds = {c for _, c in seps}
        if after == 3 and (len(seps) > 1 and len(kinds) == 1):
            decimal_at = None  # 1.234.567 / 1,234,567: all thousands
        elif after == 3 and currency in _NO_MINOR_UNITS:
            decimal_at = None  # 408.000đ, 1.300,000 (VND): thousands
        elif after == 3 and len(seps) == 1:
            if currency in _COMMA_DECIMAL:
                decimal_at = last_i if last_c == "," else None
            else:
                decimal_at = last_i if last_c == "." else None  # 168,000 thousands; 42.904 decimal
        else:
            decimal_at = last_i  # 60.30, 1,234.50, 6.500.00, 81,140,00, 1.234,56
        whole = token if decimal_at is None else token[:decimal_at]
        groups = re.split(r"[.,]", whole)
        if len(groups) > 1 and (not 1 <= len(groups[0]) <= 3 or any(len(g) != 3 for g in groups[1:])):
            return None  # not digit grouping: "12.08.2020", "1041,000"
        digits, frac = "".join(groups), ("" if decimal_at is None else token[decimal_at + 1:])
    try:
        value = Decimal(f"{digits or '0'}.{frac}" if frac else digits or "0")
    except InvalidOperation:
        return None
    return sign * value


def parse_amount(s: str | None, default_currency: str | None = None) -> tuple[Decimal, str | None] | None:
    """Read a money amount and its currency from printed text.

    Separator rules (``.``, ``,`` and spaces inside a number):

    1. A space joins digit groups only before exactly three digits
       (``35 000`` -> 35000; ``04 04 549.885`` is three numbers).
    2. Both ``.`` and ``,`` present, or one of them repeated: the last
       separator is the decimal point when 1, 2 or 4+ digits follow it
       (``1,234.50``, ``1.234,56``, ``6.500.00`` -> 6500.00, ``81,140,00`` ->
       81140.00); when exactly three follow, and it is the same separator
       repeated (``1.234.567``) or the currency has no minor units (VND:
       ``1.300,000``), every separator is a thousands separator.
    3. One separator followed by exactly three digits: thousands in a VND
       context (``408.000đ``, ``42.904`` with ``default_currency="VND"``);
       otherwise ``,`` is thousands and ``.`` decimal (``168,000`` -> 168000,
       ``42.904`` -> 42.904), reversed for EUR/PLN (``1.234 €`` -> 1234).
    4. Any other single separator is a decimal point (``60.30``, ``12,50``).
    5. With thousands separators, the first group has 1-3 digits and every
       other group before the decimal point exactly 3; a token that breaks
       this (``12.08.2020``, ``1041,000``) is not an amount. Numbers in
       dates and times (next to ``/``, or a ``:`` between digits) are ignored.

    Ambiguous by nature, decided by these rules: a lone ``.ddd`` without a
    currency (decimal unless the context is VND), a lone ``,ddd`` with EUR/PLN
    (decimal), and a 2-digit tail after a repeated ``.`` (``6.500.00`` reads
    6500.00, not 6.50000).

    The currency is the first symbol or code found (:func:`detect_currency`),
    else ``default_currency``; it decides the VND/EUR rules. When several
    numbers are present, the one written next to a currency marker wins, else
    the last one (``"TỔNG TIỀN PHẢI T.TOÁN 5.000 5.000"``).

    Args:
        s: text containing an amount (captions, currency, other numbers allowed).
        default_currency: ISO code assumed when the text names none.

    Returns:
        ``(amount, currency)`` (currency may be None), or None when no amount.
    """
    if not s:
        return None
    text = normalize_text(s)
    low = text.lower()
    currency = detect_currency(text) or (default_currency.upper() if default_currency else None)
    values = []
    for m in _NUMBER.finditer(low):
        if _in_date_or_time(low, m.start(), m.end()):
            continue
        value = _number_value(m.group(0), currency)
        if value is None:
            continue
        before = low[: m.start()].rstrip()[-5:]
        after = low[m.end():].lstrip()[:5]
        values.append((bool(_CURRENCY_BEFORE.search(before) or _CURRENCY_AFTER.match(after)), value))
    if not values:
        return None
    marked = [v for has_currency, v in values if has_currency]
    return (marked[0] if marked else values[-1][1]), currency


def _in_date_or_time(text: str, start: int, end: int) -> bool:
    """True when the number at ``text[start:end]`` is part of a date or time
    (``14/08/2020``, ``18:48``): a ``/`` next to it, or a ``:`` between digits."""
    prev2, next2 = text[max(0, start - 2): start], text[end: end + 2]
    return (prev2.endswith("/") or next2.startswith("/")
            or (len(prev2) == 2 and prev2[1] == ":" and prev2[0].isdigit())
            or (len(next2) == 2 and next2[0] == ":" and next2[1].isdigit()))


