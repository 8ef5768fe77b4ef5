"""Dates as printed -> :class:`datetime.date` (day-first; a four-digit year in front means ISO order)."""

from __future__ import annotations

import datetime as _dt
import re

from app.extraction.normalize.text import fold, normalize_text


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


