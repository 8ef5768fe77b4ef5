"""Repairs of what text recognition misreads on receipts and invoices, applied by the
readers to the text of one line before they parse it.

Each repair is a narrow, measured correction of a misreading seen on the SROIE and MC-OCR
receipts (a speck read between digits, a decimal point read as a hyphen, ringgit's M or
VND's V misread, "TOTAL" read "TOTA1", digits inside company names and Malaysian address
words); none names one document's text. The letter pairs text recognition confuses are
:data:`_CONFUSABLE`.
"""

from __future__ import annotations

import re
import unicodedata

from app.extraction.lexicon import MY_ADDRESS_WORDS

_LEADING_SPECK = re.compile(r"(?<![\w.,])[.,'`]+(?=\d{1,3}[.,]\d{3}\b)")
_MISREAD_VND = re.compile(r"(?<![^\W\d_])[UV][NH][DĐ](?=\d{1,3}(?:[.,]\d{3})+\b)")
_MISREAD_RM = re.compile(r"\bR[NHW](?=\d{1,3}(?:,\d{3})*\.\d{2}\b)")
_DIGIT_SPECK = re.compile(r"(?<=\d)[)(\]\['`’](?=\d)")
# An amount alone on its line whose decimal point OCR read as a hyphen or colon ("28-90", "RM 28:90").
_MISREAD_DECIMAL = re.compile(r"^(\s*(?:RM\s*)?\d{1,6})([-:])(\d{2})(\s*)$", re.I)


def _decimal_point(m: re.Match) -> str:
    """:data:`_MISREAD_DECIMAL`'s repair; a colon between a valid hour and minute ("12:30") is a time, kept."""
    whole = re.sub(r"\D", "", m.group(1))
    if m.group(2) == ":" and int(whole) < 24 and int(m.group(3)) < 60:
        return m.group(0)
    return f"{m.group(1)}.{m.group(3)}{m.group(4)}"

# "TOTAL" as OCR misreads it in a caption: l read 1/i/|/! ("TOTA1", "TOTAi"), O read 0, or "l " read "/"
# ("Tota/Sales"). Matched on folded text.
_TOTAL_MISREAD = re.compile(r"\bt[o0]ta[1i|!](?![a-z0-9])|\bt0tal\b|\bt[o0]ta(/)(?=[a-z])", re.I)


def repair_total(text: str) -> str:
    """``text`` with :data:`_TOTAL_MISREAD` spelt "total" (in the text's case), so a
    misread caption is found and its digits ("TOTA1") are not read as its amount."""
    def word(m):
        spelt = "TOTAL" if m.group(0).isupper() else "total"
        return spelt + " " if m.group(1) else spelt
    return _TOTAL_MISREAD.sub(word, text)

#: Malaysian address abbreviations that OCR reads with I, 1 or | for L ("JIN", "J1n", "BIk").
_MY_ABBREVIATIONS = {"JLN": re.compile(r"\bJ[I1|l]N\b", re.I), "BLK": re.compile(r"\bB[I1|l]K\b", re.I)}


#: Letter pairs that text recognition confuses on receipts (either way round).
_CONFUSABLE = frozenset({frozenset(p) for p in ("MN", "IL", "OD", "KR", "EF", "UV", "CG", "HN", "BE", "RP")})


def _one_confusion(a: str, b: str) -> bool:
    """``a`` and ``b`` (same length) differ in one letter, a pair of :data:`_CONFUSABLE`."""
    diff = [(x, y) for x, y in zip(a, b) if x != y]
    return len(diff) == 1 and frozenset(diff[0]) in _CONFUSABLE


def fix_malaysian_address(text: str) -> str:
    """OCR misreadings in a Malaysian address: ``JIn``/``J1n`` -> ``Jln``,
    ``BIk`` -> ``Blk``, a digit inside a word (``8ESAR`` -> ``BESAR``), and an
    address word one letter off by a letter pair OCR confuses (``TANAN`` ->
    ``TAMAN``; :data:`_CONFUSABLE`; words of 5+ letters against
    :data:`MY_ADDRESS_WORDS`), the printed case kept; then the post town and
    postcode checked against each other (:func:`app.extraction.postcodes.fix_postcode_town`)."""
    for right, pattern in _MY_ABBREVIATIONS.items():
        text = pattern.sub(lambda m: right if m.group(0).isupper() else right.capitalize(), text)

    def word(m):
        w = m.group(0)
        upper = w.upper()
        if upper in MY_ADDRESS_WORDS or len(w) < 5:
            return w
        fixed = upper.translate(_NAME_DIGITS) if sum(c.isdigit() for c in w) == 1 else upper
        if fixed in MY_ADDRESS_WORDS:
            best = fixed
        elif not fixed.isalpha():
            return w
        else:
            near = [a for a in MY_ADDRESS_WORDS if len(a) == len(fixed) and _one_confusion(a, fixed)]
            if len(near) != 1:
                return w
            best = near[0]
        return best if w.isupper() or not w.isalpha() else best.capitalize()

    text = re.sub(r"\b[A-Za-z0-9]*[A-Za-z][A-Za-z0-9]*\b", word, text)
    from app.extraction.postcodes import fix_postcode_town

    return fix_postcode_town(text)


def strip_latin_accents(text: str) -> str:
    """``text`` with combining accents removed from letters (``JAYÀ`` -> ``JAYA``)."""
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if not unicodedata.combining(c)))


def strip_letters_before_amount(text: str) -> str:
    return re.sub(r"^[^\d\-$€]*", "", text)

_NAME_DIGITS = str.maketrans({"1": "I", "0": "O", "5": "S", "8": "B"})


def fix_name_digits(text: str) -> str:
    """Digits OCR read inside the words of a company name: ``URBAN 1DEA`` ->
    ``URBAN IDEA``, ``MR D1Y`` -> ``MR DIY`` (a word of upper-case letters with
    one such digit), ``SIN BHD`` / ``SDN DHD`` / ``Sn Bhd`` -> ``SDN BHD`` (:data:`_SDN_BHD`),
    a closing ``5/8`` -> ``S/B``."""
    def word(m):
        w = m.group(0)
        digits = sum(c.isdigit() for c in w)
        if digits == 1 and len(w) >= 3 and all(c.isupper() or c in "1058" for c in w):
            return w.translate(_NAME_DIGITS)
        return w

    text = re.sub(r"\b[A-Z0-9]+\b", word, text)
    text = re.sub(r"(?<=\b[A-Z]\.)1(?=\.[A-Z]\b)", "I", text)  # "MR. D.1.Y."
    text = re.sub(r"(?<=[A-Z] )[S5]/[B8]$", "S/B", text)  # "99 SPEED MART 5/8": Sdn Bhd, abbreviated
    return _SDN_BHD.sub(_sdn_bhd, text)

#: Malaysia's private-company suffix "Sdn Bhd" as OCR misreads it: D dropped or read I/l/1
#: ("SN BHD", "SIN BHD"), B read D/8, H read N/M, the last D read O/0 ("SDN DHD", "SDN BND", "Sdn Bh0").
_SDN_BHD = re.compile(r"\b(S[DIl1L]?N)(\.? ?)([BD8][HNM][DO0])\b", re.I)


def _sdn_bhd(m: re.Match) -> str:
    upper = m.group(0) == m.group(0).upper()
    return ("SDN" if upper else "Sdn") + m.group(2) + ("BHD" if upper else "Bhd")


def repair_amount_text(text: str) -> str:
    """The misreadings around an amount on one line repaired, in order: a speck read between
    digits (``238,0)08``), a speck before a grouped amount (``.549.885 Đ``), ringgit's M
    misread (``RN43.40``), VND's V misread and glued to the amount (``UND402,766``), and the
    decimal point of an amount alone on its line read as a hyphen or colon (``28-90``,
    ``RM 28:90``; a valid time such as ``12:30`` is kept)."""
    text = _DIGIT_SPECK.sub("", text)
    text = _LEADING_SPECK.sub("", text)
    text = _MISREAD_RM.sub("RM", text)
    text = _MISREAD_VND.sub("VND ", text)
    return _MISREAD_DECIMAL.sub(_decimal_point, text)
