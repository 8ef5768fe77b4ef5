"""ICAO Doc 9303 TD1 machine-readable zone (3 lines x 30 characters).

TD1 layout (ICAO Doc 9303 Part 5, §4.2.2); positions are 1-based as in the
standard, slices 0-based as in the code::

    line 1  1-2 document code | 3-5 issuing state | 6-14 document number |
            15 check digit | 16-30 optional data
    line 2  1-6 birth date YYMMDD | 7 check | 8 sex | 9-14 expiry YYMMDD |
            15 check | 16-18 nationality | 19-29 optional data |
            30 composite check (line 1 6-30, line 2 1-7, 9-15, 19-29)
    line 3  1-30 name: SURNAME<<GIVEN<NAMES

Check digits (Part 3, §4.9): characters valued ``0-9`` -> 0-9, ``A-Z`` ->
10-35, ``<`` -> 0, weighted 7, 3, 1 repeating, sum mod 10.

**Vietnamese citizen ID card (CCCD).** The 12-digit ID does not fit the
9-character document number, and the card does not use the ICAO overflow
convention (filler at position 15, rest in the optional data). Instead -
verified on a published CCCD MRZ, whose six check digits all validate under
this reading - line 1 is ``IDVNM<9 digits><c><12 digits><<<c>``:

* document number (6-14) = the **last 9 digits** of the 12-digit ID, with its
  own check digit at 15;
* optional data (16-30) = the **full 12-digit ID** (16-27), two fillers
  (28-29) and, at 30, the check digit of the 12 digits (the same as the
  check digit of positions 16-29, fillers counting 0).

:func:`parse_td1` reports both extra checks (``id_number``,
``id_number_matches_document_number``) when it sees that layout, and takes the
birth century from the ID's 4th digit (which encodes it exactly) instead of
guessing it, when the ID's own check digit validates.

**Birth-date century without a CCCD ID**: a two-digit year ``YY`` is read as
``20YY`` unless that would be after the current year, then ``19YY``
(a birth date cannot be in the future; people over 100 are misdated - the
CCCD ID resolves them). Expiry dates are always ``20YY``.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date

from app.domain import Candidate, OcrResult

LINE_LENGTH = 30
WEIGHTS = (7, 3, 1)
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ<"
_VALUE = {ch: (i if ch != "<" else 0) for i, ch in enumerate(_ALPHABET)}
_CCCD_OPTIONAL = re.compile(r"^(\d{12})<<(\d)$")

# OCR confusions. Applied only to the positions whose type they fit; every
# field that carries a check digit keeps its as-read form as an alternative,
# and the variant whose check digits validate wins.
_TO_DIGIT = str.maketrans({"O": "0", "Q": "0", "D": "0", "U": "0", "I": "1", "L": "1", "J": "1", "Z": "2",
                           "S": "5", "B": "8", "G": "6", "T": "7", "A": "4"})
_TO_ALPHA = str.maketrans({"0": "O", "1": "I", "2": "Z", "4": "A", "5": "S", "6": "G", "7": "T", "8": "B"})
# Look-alikes from other scripts and chevrons that OCR models emit for MRZ text.
_HOMOGLYPHS = str.maketrans({
    "«": "<<", "»": "<<", "‹": "<", "›": "<", "〈": "<", "⟨": "<", "˂": "<", "ᐸ": "<", "＜": "<", "(": "<",
    "[": "<", "{": "<", "く": "<", "ㄑ": "<", "∠": "<", "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M",
    "Ν": "N", "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X", "А": "A", "В": "B", "Е": "E", "К": "K",
    "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C", "Т": "T", "У": "Y", "Х": "X", "∪": "U", "Đ": "D",
    "đ": "D", "Ø": "0", "ø": "0",
})
_NOT_MRZ = re.compile(r"[^A-Z0-9<]")


def check_digit(text: str) -> int:
    """ICAO 9303 check digit of ``text`` (Part 3, §4.9).

    Args:
        text: characters from ``0-9``, ``A-Z`` and ``<``.

    Returns:
        The check digit, 0-9.

    Raises:
        ValueError: a character outside the MRZ alphabet.
    """
    total = 0
    for i, ch in enumerate(text):
        try:
            total += _VALUE[ch] * WEIGHTS[i % 3]
        except KeyError:
            raise ValueError(f"{ch!r} is not an MRZ character") from None
    return total % 10


def _check_ok(text: str, digit: str) -> bool:
    """True when ``digit`` is the check digit of ``text``. An all-filler field
    may carry ``<`` (or 0) as its check digit (Part 3, §4.9)."""
    if digit == "<":
        return set(text) <= {"<"}
    if not digit.isdigit():
        return False
    try:
        return check_digit(text) == int(digit)
    except ValueError:
        return False


@dataclass(frozen=True)
class Td1:
    """A parsed TD1 MRZ.

    Attributes:
        lines: the three 30-character lines parsed.
        document_code: e.g. ``ID``, ``I<``.
        issuing_state: ICAO code, e.g. ``VNM``.
        document_number: fillers removed (the full number when it overflowed
            into the optional data, ICAO Part 5 note j).
        optional1: line 1 optional data (trailing fillers removed).
        birth_date: ISO ``YYYY-MM-DD``, or None when not a calendar date.
        sex: ``M``, ``F`` or None (``<``/``X`` unspecified).
        expiry_date: ISO ``YYYY-MM-DD`` (``20YY``), or None (no expiry or not
            a calendar date).
        nationality: ICAO code.
        optional2: line 2 optional data (trailing fillers removed).
        surname, given_names: words separated by single spaces, ASCII.
        id_number: the 12-digit ID of a Vietnamese CCCD (see module
            docstring), else None.
        checks: check name -> outcome: ``document_number``, ``birth_date``,
            ``expiry_date``, ``composite``; with a CCCD ID also ``id_number``
            and ``id_number_matches_document_number``.
        line_indices: indices of the input lines the MRZ was read from
            (set by :func:`find_td1`).
    """

    lines: tuple[str, str, str]
    document_code: str
    issuing_state: str
    document_number: str
    optional1: str
    birth_date: str | None
    sex: str | None
    expiry_date: str | None
    nationality: str
    optional2: str
    surname: str
    given_names: str
    id_number: str | None = None
    checks: dict = field(default_factory=dict)
    line_indices: tuple[int, ...] = ()

    @property
    def valid(self) -> bool:
        """All check digits validate."""
        return bool(self.checks) and all(self.checks.values())

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.surname, self.given_names) if part)


def _yymmdd(text: str, century: int) -> date | None:
    if not text.isdigit() or len(text) != 6:
        return None
    try:
        return date(century + int(text[:2]), int(text[2:4]), int(text[4:6]))
    except ValueError:
        return None


def _birth_century(yy: str, id_number: str | None, today: date) -> int:
    """1900 or 2000 (or later): from a validated CCCD ID's 4th digit when its
    5th-6th digits agree with ``yy``, else the latest century that does not
    put the birth in the future."""
    if not yy.isdigit():
        return 2000
    if id_number and id_number[4:6] == yy:
        century = 1900 + int(id_number[3]) // 2 * 100
        if century + int(yy) <= today.year:
            return century
    return 2000 if 2000 + int(yy) <= today.year else 1900


def parse_td1(lines: list[str], today: date | None = None) -> Td1:
    """Parse three TD1 lines as written (no OCR correction).

    Args:
        lines: three strings of 30 characters from ``A-Z0-9<``.
        today: reference date for the birth century (default: today).

    Returns:
        The fields and the outcome of every check digit.

    Raises:
        ValueError: not three lines of 30 MRZ characters.
    """
    if len(lines) != 3 or any(len(line) != LINE_LENGTH or _NOT_MRZ.search(line) for line in lines):
        raise ValueError("a TD1 MRZ is three lines of 30 characters from A-Z, 0-9 and <")
    l1, l2, l3 = lines
    today = today or date.today()
    checks: dict[str, bool] = {}

    number, optional1 = l1[5:14], l1[15:30]
    if l1[14] == "<" and optional1.strip("<"):
        # ICAO Part 5 note j: long document number continues in the optional data,
        # followed by its check digit and a filler.
        rest = optional1.split("<", 1)[0]
        number_full, digit = number + rest[:-1], rest[-1:]
        checks["document_number"] = _check_ok(number_full, digit)
        document_number = number_full.replace("<", "")
        optional1 = optional1[len(rest) + 1:]
    else:
        checks["document_number"] = _check_ok(number, l1[14])
        document_number = number.replace("<", "")

    birth, expiry = l2[0:6], l2[8:14]
    checks["birth_date"] = _check_ok(birth, l2[6])
    checks["expiry_date"] = _check_ok(expiry, l2[14])
    checks["composite"] = _check_ok(l1[5:30] + l2[0:7] + l2[8:15] + l2[18:29], l2[29])

    id_number = None
    cccd = _CCCD_OPTIONAL.match(l1[15:30])
    if l1[2:5] == "VNM" and cccd:
        id_number = cccd.group(1)
        checks["id_number"] = _check_ok(id_number, cccd.group(2))
        checks["id_number_matches_document_number"] = id_number[-9:] == document_number

    trusted_id = id_number if checks.get("id_number") else None
    born = _yymmdd(birth, _birth_century(birth[:2], trusted_id, today))
    expires = _yymmdd(expiry, 2000)
    surname, _, given = l3.rstrip("<").partition("<<")
    return Td1(
        lines=(l1, l2, l3),
        document_code=l1[0:2],
        issuing_state=l1[2:5].replace("<", ""),
        document_number=document_number,
        optional1=optional1.rstrip("<"),
        birth_date=born.isoformat() if born else None,
        sex=l2[7] if l2[7] in "MF" else None,
        expiry_date=expires.isoformat() if expires else None,
        nationality=l2[15:18].replace("<", ""),
        optional2=l2[18:29].rstrip("<"),
        surname=" ".join(surname.replace("<", " ").split()),
        given_names=" ".join(given.replace("<", " ").split()),
        id_number=id_number,
        checks=checks,
    )


# --------------------------------------------------------------------------- OCR repair
def clean_ocr_text(text: str) -> str:
    """One OCR line in the MRZ alphabet: look-alikes mapped (Greek ``Μ`` ->
    ``M``, ``«`` -> ``<<``), diacritics dropped, upper case, spaces and any
    other character removed."""
    text = unicodedata.normalize("NFKC", text).translate(_HOMOGLYPHS)
    text = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    return _NOT_MRZ.sub("", text.upper().translate(_HOMOGLYPHS))


def _fit_name(line: str) -> str:
    """The name line fitted to 30 characters: padded with fillers at the end
    (OCR often drops the trailing run), or trailing fillers trimmed."""
    if len(line) > LINE_LENGTH:
        line = line.rstrip("<")
    return (line + "<" * LINE_LENGTH)[:LINE_LENGTH]


def _fit_length(line: str) -> list[str]:
    """30-character versions of an OCR line whose filler runs were read too
    long or too short: each run of ``<`` (longest first) stretched or shrunk,
    plus padding / truncating at the end."""
    if len(line) == LINE_LENGTH:
        return [line]
    delta = LINE_LENGTH - len(line)
    out = []
    runs = sorted(((m.start(), m.end()) for m in re.finditer(r"<+", line)), key=lambda r: r[0] - r[1])
    for start, end in runs[:3]:
        length = end - start + delta
        if length >= 1 or (length == 0 and end == len(line)):
            out.append(line[:start] + "<" * length + line[end:])
    if delta > 0:
        out.append(line + "<" * delta)
        out.append(line[:-1] + "<" * delta + line[-1])  # fillers dropped before a final check digit
    else:
        out.append(line[:LINE_LENGTH])
    return list(dict.fromkeys(out))


def _alpha(text: str) -> str:
    return text.translate(_TO_ALPHA)


def _digits(text: str) -> str:
    return text.translate(_TO_DIGIT)


def _fillers(text: str) -> str:
    """``K`` next to fillers read as ``<`` (its most common misreading)."""
    previous = None
    while previous != text:
        previous = text
        text = re.sub(r"(?<=<)K|K(?=<)|^K+$|K+$", lambda m: "<" * len(m.group()), text)
    return text


def _choose(values: list[str], digits: list[str]) -> tuple[str, str]:
    """The first (field, check digit) pair, in preference order, that
    validates; else the first pair."""
    pairs = [(v, d) for v in dict.fromkeys(values) for d in dict.fromkeys(digits)]
    return next((pair for pair in pairs if _check_ok(*pair)), pairs[0])


def _optional_options(raw: str) -> list[str]:
    """Optional data with ``K`` next to fillers read as ``<``, and as read.

    The filler reading comes first: it cannot be decided by the check digit
    alone, since three equal characters under weights 7, 3, 1 add
    ``11 x value`` and ``K`` (20) x 11 = 220 = 0 (mod 10)."""
    return list(dict.fromkeys([_fillers(raw), raw]))


def _repair_name(line: str) -> str:
    """Name line: digits mapped to look-alike letters; trailing ``K``/``<``
    tails after a filler, and runs of 3+ ``K`` at the end, read as fillers.
    (No check digit covers the name, so ``K`` inside names is never touched.)"""
    line = _alpha(line)
    line = re.sub(r"<[K<]*$", lambda m: "<" * len(m.group()), line)
    line = re.sub(r"KKK+<*$", lambda m: "<" * len(m.group()), line)
    return line


def _repairs(l1: str, l2: str, l3: str) -> list[tuple[str, str, str]]:
    """Corrected versions of three 30-character lines, best guess first."""
    code, state = _alpha(l1[0:2]), _alpha(l1[2:5])
    # Document numbers may hold letters (ICAO), except on Vietnamese cards.
    number_opts = [l1[5:14], _digits(l1[5:14])]
    if state == "VNM":
        number_opts.reverse()
    number, number_check = _choose(number_opts, [_digits(l1[14]), l1[14]])
    birth, birth_check = _choose([_digits(l2[0:6]), l2[0:6]], [_digits(l2[6]), l2[6]])
    expiry, expiry_check = _choose([_digits(l2[8:14]), l2[8:14]], [_digits(l2[14]), l2[14]])
    sex = {"H": "M", "N": "M", "E": "F", "P": "F"}.get(l2[7], l2[7])
    nationality = _alpha(l2[15:18])
    name = _repair_name(l3)
    out = []
    optional1_opts = _optional_options(l1[15:30])
    optional1_opts += [_fillers(_digits_where_numeric(o)) for o in optional1_opts]
    optional2_opts = _optional_options(l2[18:29])
    composite_opts = dict.fromkeys([_digits(l2[29]), l2[29]])
    for opt1, opt2, comp in itertools.product(dict.fromkeys(optional1_opts), optional2_opts, composite_opts):
        line1 = code + state + number + number_check + opt1
        line2 = birth + birth_check + sex + expiry + expiry_check + nationality + opt2 + comp
        out.append((line1, line2, name))
    return out


def _digits_where_numeric(text: str) -> str:
    """Map look-alikes to digits inside runs that are mostly digits (the
    12-digit ID in a CCCD's optional data)."""
    def fix(m: re.Match) -> str:
        run = m.group()
        return _digits(run) if sum(c.isdigit() for c in run) * 2 > len(run) else run
    return re.sub(r"[A-Z0-9]+", fix, text)


def _score(td1: Td1) -> tuple:
    passed = sum(td1.checks.values())
    dates = (td1.birth_date is not None) + (td1.expiry_date is not None)
    return passed, dates, td1.sex is not None


_LINE1 = re.compile(r"^[ACIP1][A-Z0-9<]")
_MIN_LEN1, _MIN_LEN2, _MAX_LEN = 15, 19, 38  # line 1 / line 2 with every filler dropped


def _plausible_line2(text: str) -> bool:
    head = text[:15]
    return _MIN_LEN2 <= len(text) <= _MAX_LEN and sum(c.isdigit() for c in head) >= 9


def _plausible_line3(text: str) -> bool:
    return (3 <= len(text) <= _MAX_LEN and sum(ch.isdigit() for ch in text) <= 3
            and ("<" in text or len(text) >= 12))


def find_td1(ocr_lines: list[str], today: date | None = None) -> Td1 | None:
    """Find a TD1 MRZ in OCR text lines (reading order) and repair OCR errors.

    Three consecutive lines (an MRZ line split into two OCR boxes is joined
    back) are cleaned (:func:`clean_ocr_text`), fitted to 30 characters by
    stretching or shrinking filler runs, and repaired field by field: letters
    read in numeric fields mapped to digits (``O`` -> ``0``, ``I``/``L`` ->
    ``1`` ...), digits in alphabetic fields mapped to letters, ``K`` next to
    fillers read as ``<``. Every field that has a check digit keeps its
    as-read form as an alternative; the variant whose check digits validate
    (most checks, then valid dates) wins.

    Args:
        ocr_lines: OCR line texts in reading order.
        today: reference date for the birth century.

    Returns:
        The best-validating MRZ with ``line_indices`` set, or None when no
        lines look like a TD1 MRZ with at least two valid check digits and
        one calendar date (random text passes one check in ten).
    """
    cleaned = [clean_ocr_text(t) for t in ocr_lines]
    n = len(cleaned)
    best: tuple[tuple, Td1] | None = None
    for start in range(n):
        if not _LINE1.match(cleaned[start]):
            continue
        for a, b, c in itertools.product((1, 2), (1, 2), (1, 2)):
            if start + a + b > n:
                continue
            spans = [range(start, start + a), range(start + a, start + a + b),
                     range(start + a + b, min(start + a + b + c, n))]
            texts = ["".join(cleaned[i] for i in span) for span in spans]
            if not (_MIN_LEN1 <= len(texts[0]) <= _MAX_LEN and _plausible_line2(texts[1])):
                continue
            if not _plausible_line3(texts[2]):
                if c == 2:
                    continue
                texts[2], spans[2] = "", range(0)  # name line missing or unreadable
            for fitted in itertools.product(*(_fit_length(t) for t in texts[:2]), [_fit_name(texts[2])]):
                for lines in _repairs(*fitted):
                    td1 = parse_td1(list(lines), today)
                    score = _score(td1)
                    if best is None or score > best[0]:
                        indices = tuple(i for span in spans for i in span)
                        best = (score, dataclasses.replace(td1, line_indices=indices))
    if best is None or best[0][0] < 2 or best[0][1] == 0:
        return None
    return best[1]


# --------------------------------------------------------------------------- candidates
NATIONALITY_NAMES = {"VNM": "Việt Nam"}


def mrz_candidates(ocr: OcrResult, today: date | None = None) -> list[Candidate]:
    """Field candidates from the TD1 MRZ on the back of an ID card.

    Keys: ``id_number`` (the 12-digit CCCD ID from the optional data, else the
    document number), ``date_of_birth``, ``sex`` (``M``/``F``),
    ``date_of_expiry``, ``nationality`` (normalised to the country name for
    ``VNM``, "Việt Nam", as printed on the card; else the ICAO code) and
    ``full_name`` (``checks={"ascii_only": True}``: the MRZ drops diacritics,
    so a printed or QR name should be preferred).

    Args:
        ocr: OCR result of the card's back.
        today: reference date for the birth century and the ID checks.

    Returns:
        Candidates with source ``mrz``, the MRZ's line indices, confidence
        0.98 when every check digit validates, else 0.3; empty when no MRZ is
        found.
    """
    from app.extraction.readers.idnumber import check_id_number

    td1 = find_td1([line.text for line in ocr.lines], today)
    if td1 is None:
        return []
    confidence = 0.98 if td1.valid else 0.3
    composite = td1.checks["composite"]
    l1, l2, l3 = td1.lines

    def cand(key: str, value: str | None, normalized: object, checks: dict) -> Candidate:
        return Candidate(key, value, normalized, confidence, "mrz", td1.line_indices, checks)

    out = []
    structure: dict = {}
    if td1.id_number:
        born = date.fromisoformat(td1.birth_date) if td1.birth_date else None
        structure = check_id_number(td1.id_number, born, td1.sex, today=today).as_dict()
        out.append(cand("id_number", td1.id_number, td1.id_number, {
            "check_digit": td1.checks["id_number"],
            "document_number_check": td1.checks["document_number"],
            "matches_document_number": td1.checks["id_number_matches_document_number"],
            "composite": composite, **structure}))
    elif td1.document_number:
        out.append(cand("id_number", td1.document_number, td1.document_number,
                        {"check_digit": td1.checks["document_number"], "composite": composite}))
    if td1.birth_date:
        checks = {"check_digit": td1.checks["birth_date"], "composite": composite}
        if structure:
            checks["matches_id_number"] = bool(structure["birth_year"] and structure["century_matches"])
        out.append(cand("date_of_birth", l2[0:6], td1.birth_date, checks))
    if td1.sex:
        # No TD1 check digit covers the sex; the CCCD ID's 4th digit does.
        out.append(cand("sex", td1.sex, td1.sex,
                        {"matches_id_number": structure["sex_matches"]} if structure else {}))
    if td1.expiry_date:
        out.append(cand("date_of_expiry", l2[8:14], td1.expiry_date,
                        {"check_digit": td1.checks["expiry_date"], "composite": composite}))
    if td1.nationality:
        out.append(cand("nationality", td1.nationality, NATIONALITY_NAMES.get(td1.nationality, td1.nationality),
                        {"composite": composite}))
    if td1.full_name:
        out.append(cand("full_name", l3.rstrip("<"), td1.full_name, {"ascii_only": True}))
    return out
