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

import datetime as _dt
import re
import unicodedata
from decimal import Decimal, InvalidOperation

from app.domain import amount_string  # noqa: F401 (the canonical amount form lives with LineItem)

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

# --------------------------------------------------------------------------- text

_WS = re.compile(r"\s+")


def normalize_text(s: str | None) -> str:
    """Unicode NFC, every run of whitespace (incl. newlines, NBSP) -> one space, stripped.

    Args:
        s: any text; None gives ``""``.

    Returns:
        The cleaned text.
    """
    if not s:
        return ""
    return _WS.sub(" ", unicodedata.normalize("NFC", str(s))).strip()


def fold(s: str) -> str:
    """Lower-case, diacritic-free form of ``s`` with exactly one character per
    input character, so positions in the folded text index the original.

    ``"Tổng Tiền: 408.000đ"`` -> ``"tong tien: 408.000d"``. Vietnamese ``đ``/``Đ``
    fold to ``d``; a character whose folding is not one character is kept
    lower-cased (or as is).
    """
    out = []
    for ch in s:
        if ch in "đĐ":
            out.append("d")
            continue
        base = "".join(c for c in unicodedata.normalize("NFD", ch) if not unicodedata.combining(c))
        base = base.lower() if base else ch
        if len(base) != 1:
            low = ch.lower()
            base = low if len(low) == 1 else ch
        out.append(base)
    return "".join(out)


# Printed captions that precede values on receipts, invoices and ID cards,
# written in folded form (lower case, no diacritics; ``đ`` -> ``d``). Spaces
# match any whitespace (or none), a ``.`` is optional. Built from the MC-OCR
# 2021 labels (seller / address / timestamp / total_cost include the printed
# key words, with the receipts' own typos such as "Tống số", "Tiên", "Thòi")
# and from the English captions of SROIE receipts and invoices.
CAPTIONS: tuple[str, ...] = (
    # totals (Vietnamese)
    "tong tien phai t.toan", "tong tien phai thanh toan", "tong so tien thanh toan", "tong so thanh toan",
    "tong tien thanh toan", "tong thanh toan", "tong tien hang", "tong tien", "tong cong (da gom vat)",
    "tong cong cong", "tong cong", "tong phai tra", "tong phai trai",
    "hong tien phai t.toan", "dong so thanh toan",  # OCR-damaged "TỔNG TIỀN", "Tổng số" in the labels
    "cong tien hang tien hang", "cong tien hang", "cong tien", "tien thanh toan",
    "khach phai tra", "khach can tra", "phai thanh toan", "tai quay",
    # totals (English)
    "grand total", "total amount due", "total amount", "total due", "total (rm)", "total rm", "total incl. gst",
    "total inclusive gst", "total vnd", "nett total", "net total", "rounded total", "total", "amount due",
    "balance due",
    # dates and times
    "ngay ban", "ngay mua", "ngay in", "ngay hd", "thoi gian", "gio vao", "gio ra",
    "date/time", "date & time", "invoice date",
    # sellers and addresses
    "ten dai ly", "ten cua hang", "dia chi dai ly", "dia chi", "d/c", "address",
    # identity documents
    "ho va ten / full name", "ho va ten", "ho ten", "full name", "so / no.", "so/no", "ngay sinh / date of birth",
    "ngay sinh", "date of birth", "gioi tinh / sex", "gioi tinh", "quoc tich / nationality", "quoc tich",
    "que quan / place of origin", "que quan", "noi thuong tru / place of residence", "noi thuong tru",
    "co gia tri den / date of expiry", "co gia tri den", "date of expiry",
    # invoices
    "invoice number", "invoice no.", "invoice #", "receipt no.", "bill no.", "sold by",
)

# Short captions that are also ordinary words at the start of a value ("Số 36
# Đường Trần Phú" is an address, "Time Square" a place, "Cửa hàng Năm Oánh" a
# shop name): stripped only before a colon or semicolon.
COLON_CAPTIONS: tuple[str, ...] = (
    "so", "no", "ten", "name", "ma", "ma so", "mst", "tel", "dt", "dc", "add", "addr", "ngay", "gio", "date",
    "dated", "time", "tong", "tong so", "so tien", "thanh toan", "amount", "invoice", "company", "merchant",
    "seller", "cua hang", "currency",
)


def _caption_pattern(phrase: str) -> str:
    parts = []
    for token in phrase.split(" "):
        piece = ""
        for ch in token:
            piece += r"\.?" if ch == "." else re.escape(ch)
        parts.append(piece)
    return r"\s*".join(parts)


def _alternation(phrases) -> str:
    return "|".join(_caption_pattern(p) for p in sorted(set(phrases), key=len, reverse=True))


_CAPTION_RE = re.compile(
    r"^[\s:;.,\-/|*#]*(?:" + _alternation(CAPTIONS) + r")(?![a-z0-9])[\s:;.,\-/|*]*"
    r"|^[\s:;.,\-/|*#]*(?:" + _alternation(COLON_CAPTIONS) + r")\s*[:;][\s:;.,\-/|*]*"
)


def strip_caption(s: str | None) -> str:
    """Remove printed captions/labels in front of a value, repeatedly.

    Case-, diacritic- and spacing-insensitive (``"TỔNG TIỀN PHẢI T.TOÁN 42.904"``,
    ``"Tống số thanh toán: 408.000đ"``, ``"Ngày bán: 14/08/2020 11:16"``,
    ``"ĐC: 212 Đường Trần Phú"``, ``"TOTAL RM 60.30"``, ``"Họ và tên / Full name: ..."``).
    The caption must end at a non-letter; short ones that are ordinary words
    (``Số``, ``Tên``, ``No``) only before a colon.

    Args:
        s: a value as printed.

    Returns:
        The value without its captions (NFC, whitespace collapsed); ``""`` when
        the whole string was a caption.
    """
    text = normalize_text(s)
    for _ in range(4):  # "Tổng cộng: Total RM ..." has stacked captions
        m = _CAPTION_RE.match(fold(text))
        if not m or m.end() == 0:
            break
        text = text[m.end():].strip()
    return text


# --------------------------------------------------------------------------- dates

_MONTHS = {
    # English
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7, "august": 8,
    "september": 9, "october": 10, "november": 11, "december": 12,
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9, "oct": 10,
    "nov": 11, "dec": 12,
    # French (folded)
    "janvier": 1, "fevrier": 2, "mars": 3, "avril": 4, "mai": 5, "juin": 6, "juillet": 7, "aout": 8,
    "septembre": 9, "octobre": 10, "novembre": 11, "decembre": 12, "janv": 1, "fevr": 2, "avr": 4,
    "juil": 7,
    # Dutch
    "januari": 1, "februari": 2, "maart": 3, "mei": 5, "juni": 6, "juli": 7, "augustus": 8, "oktober": 10,
    "mrt": 3, "okt": 10,
    # German (folded)
    "januar": 1, "februar": 2, "marz": 3, "maerz": 3, "dezember": 12,
    # Spanish
    "enero": 1, "febrero": 2, "marzo": 3, "abril": 4, "mayo": 5, "junio": 6, "julio": 7, "agosto": 8,
    "septiembre": 9, "setiembre": 9, "octubre": 10, "noviembre": 11, "diciembre": 12,
    # Italian
    "gennaio": 1, "febbraio": 2, "aprile": 4, "maggio": 5, "giugno": 6, "luglio": 7, "settembre": 9,
    "ottobre": 10, "dicembre": 12,
    # Polish (folded; nominative and the genitive of dates, "5 czerwca 2025")
    "styczen": 1, "stycznia": 1, "luty": 2, "lutego": 2, "marzec": 3, "marca": 3, "kwiecien": 4, "kwietnia": 4,
    "maj": 5, "maja": 5, "czerwiec": 6, "czerwca": 6, "lipiec": 7, "lipca": 7, "sierpien": 8, "sierpnia": 8,
    "wrzesien": 9, "wrzesnia": 9, "pazdziernik": 10, "pazdziernika": 10, "listopad": 11, "listopada": 11,
    "grudzien": 12, "grudnia": 12,
}
#: Month names and abbreviations :func:`parse_date` reads (folded: lower case, no accents).
MONTH_NAMES = tuple(_MONTHS)
_MON = "(" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_ORD = r"(?:st|nd|rd|th|er)?"
_Y = r"(\d{4}|\d{2})(?!\d)"

# (name, regex over the folded text, order of the groups)
_DATE_PATTERNS: tuple[tuple[str, re.Pattern, str], ...] = (
    ("vi", re.compile(r"(?<!\d)(\d{1,2})\s*thang\s*(\d{1,2})\s*(?:nam|,|/)?\s*(\d{4})(?!\d)"), "dmy"),
    # Spanish and Portuguese put "de" around the month ("5 de junio de 2025").
    ("d mon y", re.compile(r"(?<!\d)(\d{1,2})" + _ORD + r"[\s\-/.,]*(?:de\s+)?" + _MON
                           + r"(?![a-z])[\s\-/.,]*(?:de\s+)?" + _Y), "dMy"),
    ("mon d y", re.compile(r"(?<![a-z])" + _MON + r"(?![a-z])[\s\-/.]*(\d{1,2})" + _ORD + r"[\s,\-/.]+(\d{4})(?!\d)"),
     "Mdy"),
    ("iso", re.compile(r"(?<!\d)(\d{4})\s?([\-/.])\s?(\d{1,2})\s?\2\s?(\d{1,2})(?!\d)"), "y-m-d"),
    ("numeric", re.compile(r"(?<!\d)(\d{1,2})\s?([\-/.])\s?(\d{1,2})\s?\2\s?" + _Y), "d-m-y"),
    ("compact", re.compile(r"(?<!\d)(\d{8})(?!\d)"), "8"),
    # Two different separators, but a four-digit year (a misread one: "12-05/2020").
    ("mixed", re.compile(r"(?<![\d\-/.])(\d{1,2})\s?[\-/.]\s?(\d{1,2})\s?[\-/.]\s?(\d{4})(?!\d)"), "dmy"),
)


def _year(raw: str) -> int:
    y = int(raw)
    if len(raw) == 2:
        y += 2000 if y < 70 else 1900
    return y


def _date(y: int, m: int, d: int) -> _dt.date | None:
    if not 1900 <= y <= 2099:
        return None
    try:
        return _dt.date(y, m, d)
    except ValueError:
        return None


def _from_match(order: str, m: re.Match, dayfirst: bool) -> _dt.date | None:
    g = m.groups()
    if order == "dmy":
        return _date(int(g[2]), int(g[1]), int(g[0]))
    if order == "dMy":
        return _date(_year(g[2]), _MONTHS[g[1]], int(g[0]))
    if order == "Mdy":
        return _date(int(g[2]), _MONTHS[g[0]], int(g[1]))
    if order == "y-m-d":
        return _date(int(g[0]), int(g[2]), int(g[3]))
    if order == "d-m-y":
        a, b, y = int(g[0]), int(g[2]), _year(g[3])
        first = _date(y, b, a) if dayfirst else _date(y, a, b)
        # The other order only when the preferred one is impossible (04/20/19).
        return first or (_date(y, a, b) if dayfirst else _date(y, b, a))
    if order == "8":
        s = g[0]
        return _date(int(s[4:]), int(s[2:4]), int(s[:2])) or _date(int(s[:4]), int(s[4:6]), int(s[6:]))
    raise AssertionError(order)


def parse_date(s: str | None, dayfirst: bool = True) -> _dt.date | None:
    """Read a calendar date from printed text (times and captions around it are ignored).

    Accepted forms (``d``/``m`` one or two digits, ``yy`` two-digit year ->
    20yy below 70, else 19yy):

    * ``dd/mm/yyyy``, ``dd-mm-yy``, ``dd.mm.yyyy`` (the same separator twice,
      optional spaces around it); day-first unless ``dayfirst=False``; the
      other order only when the preferred one is not a valid date
      (``04/20/19`` -> 2019-04-20);
    * ``yyyy-mm-dd``, ``yyyy/mm/dd``, ``yyyy.mm.dd`` (a four-digit year in front is ISO order);
    * month names in English, French, Dutch, German, Spanish, Italian or Polish, full or
      abbreviated (``5 de junio de 2025``, ``5 czerwca 2025``):
      ``03 MAR 2018``, ``24-MAR-2018``, ``15/APR/2017``, ``MAR 03, 2018``, ``March 3rd 2018``;
    * Vietnamese ``Ngày 14 tháng 08 năm 2020``;
    * eight digits: ``ddmmyyyy`` (``25032018``), else ``yyyymmdd``.

    A doubled separator between digits is read as one (``26-05--2018``); two
    different ones are accepted before a four-digit year (``12-05/2020``).
    The first date in the text wins (``"21:07:49 - 14/08/2020"`` -> 2020-08-14).
    Years outside 1900-2099 and impossible dates are rejected.

    Args:
        s: text containing a date.
        dayfirst: read ``a/b/y`` as day/month (default) or month/day.

    Returns:
        The date, or None when no unambiguous valid date is found.
    """
    if not s:
        return None
    # A doubled separator is an OCR speck ("26-05--2018").
    text = re.sub(r"(?<=\d)([/.\-])[/.\-](?=\d)", r"\1", fold(normalize_text(s)))
    found: list[tuple[int, int, _dt.date]] = []
    for priority, (_, pattern, order) in enumerate(_DATE_PATTERNS):
        for m in pattern.finditer(text):
            value = _from_match(order, m, dayfirst)
            if value is not None:
                found.append((m.start(), priority, value))
                break
    if not found:
        return None
    return min(found)[2]


# --------------------------------------------------------------------------- amounts

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
(`app/extraction/normalize.py`, `comparable(kind, value)`):

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
