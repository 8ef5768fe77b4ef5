"""What the line-item readers share (:mod:`app.extraction.line_items`, the table read by
its header row; :mod:`app.extraction.item_lists`, lists printed without one): the
:class:`LineItem` type, visual rows, numeric cells, and the captions of totals rows."""

from __future__ import annotations

import re
from decimal import Decimal

from app.domain import LineItem, TextLine  # noqa: F401 (LineItem: shared by the readers)
from app.extraction.normalize import fold, parse_amount

#: Row captions of the totals under a table: skipped, the table goes on (subtotals,
#: taxes, discounts).
SUBTOTAL_CAPTIONS = ("cong tien hang", "tong tien hang", "tong tien truoc thue", "tong cong tien hang", "cong tien", "tien thue", "thue suat", "thue gtgt", "chiet khau",
                     "giam gia", "tien hang", "subtotal", "sub total", "sub-total", "tax", "vat", "discount",
                     "shipping", "sous-total", "sous total", "tva", "remise", "subtotaal", "btw", "korting",
                     "zwischensumme", "mwst", "ust", "rabatt", "netto", "rabat", "lam tron", "rounding",
                     "base imponible", "iva", "descuento", "imponibile", "sconto")
#: Row captions that count the items ("ITEM(S) : 8", "TOTAL QTY: 9", "QUANTITY : 10 UNITS"):
#: they close a list of items.
COUNT_CAPTIONS = ("item(s)", "items", "item count", "no of items", "no. of items", "no of item", "total qty",
                  "total quantity", "tot qty", "qty(s)", "quantity", "total items", "tong so luong", "tong sl",
                  "so mat hang", "anzahl artikel", "nombre d'articles", "aantal artikelen", "liczba pozycji")
#: Row captions of the grand total: the table ends.
TOTAL_CAPTIONS = ("tong cong tien thanh toan", "tong tien thanh toan", "tong cong", "tong tien", "tong so tien",
                  "tong thanh toan", "tien thanh toan", "tien phai thanh toan", "phai thanh toan", "khach can tra",
                  "tong", "summe", "gesamtsumme", "zu zahlen", "a payer", "net a payer", "grand total", "total due", "amount due", "balance due", "total",
                  "montant total", "total ttc", "totaal", "te betalen", "gesamtbetrag", "endbetrag",
                  "razem", "do zaplaty", "suma", "importe total", "total factura", "totale", "totale fattura",
                  "totale documento", "factuur totaal", "somme a payer")

NUMERIC_CELL = re.compile(
    r"^[(\-+]?\s*(?:[$€£₫₹]|us\$|rm|vnd|vnđ|usd|eur|pln|inr|zl|zł)?\s*-?\d[\d.,\s\u00a0\u202f]*"
    r"\s*(?:[$€£₫₹đ]|vnd|vnđ|usd|eur|pln|inr|zl|zł|rm)?\s*\)?"
    # a till's tax code after the amount ("20.00 SR": standard-rated, "ZR" zero-rated, "S6";
    # any one to three letters, as OCR misreads them: "17.20 LR"), and its GST mark "*"
    r"(?:\s*[a-z]{1,3}\d?)?(?:\s*\*)?$", re.IGNORECASE)
_CENTS = re.compile(r"-?\d{1,3}(?:[.,]\d{3})*[.,]\d{2}")
#: A till's tax code and GST mark after an amount (see :func:`number`).
_TILL_MARK = re.compile(r"(?<=\d)\s*(?:[a-z]{1,3}\d?)?\s*\*?$", re.IGNORECASE)
def box_of(line: TextLine) -> tuple[float, float, float, float]:
    (ax, ay), (bx, by), (cx, cy), (dx, dy) = line.box
    return min(ax, bx, cx, dx), min(ay, by, cy, dy), max(ax, bx, cx, dx), max(ay, by, cy, dy)


def visual_rows(lines: tuple[TextLine, ...]) -> list[list[int]]:
    """Line indices grouped into visual rows, top to bottom: centres within half a line
    height once the text slope is taken out (:func:`app.geometry.row_positions`), so the
    rows of a receipt photographed at a slant do not run into each other."""
    from app.geometry import row_positions

    positions = row_positions(lines)
    order = sorted(range(len(lines)), key=lambda i: positions[i][0])
    rows: list[list[int]] = []
    centre = height = 0.0
    for i in order:
        c, h = positions[i][0], max(positions[i][1], 1.0)
        if rows and abs(c - centre) < 0.5 * min(h, height):
            rows[-1].append(i)
            n = len(rows[-1])
            centre, height = centre + (c - centre) / n, height + (h - height) / n
        else:
            rows.append([i])
            centre, height = c, h
    for row in rows:
        row.sort(key=lambda i: box_of(lines[i])[0])
    return rows


#: A GS1 article number (GTIN-8/12/13/14, GS1 General Specifications) printed with an item's
#: name: the article's code, not part of its description (GTIN-8 only in front of the name).
_GTIN = re.compile(r"^\s*\d{8}\s+(?=\S*[^\W\d_])|(?<![\w.,])\d{12,14}(?![\w.,])\s*")


def without_article_number(text: str) -> str:
    """An item's description without the GTIN printed beside its name, spaces collapsed:
    ``"08935005800015 N.khoang Lavie"`` -> ``"N.khoang Lavie"``."""
    return " ".join(_GTIN.sub("", text).split()).strip(" -")


def starts_with_fuzzy(text: str, captions: tuple[str, ...], min_length: int = 10) -> bool:
    """Like :func:`starts_with`, allowing one edit (Levenshtein) in captions of ``min_length``
    characters or more, compared with the same number of words at the start of ``text``."""
    from rapidfuzz.distance import Levenshtein

    words = " ".join(fold(text).replace(":", " ").split()).lstrip("#*-•·. ").split()
    for caption in captions:
        if len(caption) < min_length:
            continue
        n = caption.count(" ") + 1
        if len(words) >= n and Levenshtein.distance(" ".join(words[:n]), caption, score_cutoff=1) <= 1:
            return True
    return False


def starts_with(text: str, captions: tuple[str, ...]) -> bool:
    """Whether ``text`` (folded; a till's leading marks such as ``#`` or ``*`` ignored) begins
    with one of ``captions`` as whole words."""
    folded = " ".join(fold(text).replace(":", " ").split()).lstrip("#*-•·. ")
    return any(folded == c or folded.startswith(c + " ") or folded.startswith(c + "(") for c in captions)


def number(text: str, currency: str | None) -> Decimal | None:
    """The amount a numeric cell holds (:data:`NUMERIC_CELL`), or None; a till's tax code and
    GST mark after it (``"24.00 *"``, ``"60.00 S6"``, ``"8.00 SR*"``) are not part of it."""
    text = text.strip()
    if not NUMERIC_CELL.match(text):
        return None
    text = _TILL_MARK.sub("", text)
    # "24.06 9": an amount with cents and a stray one- or two-digit mark (a tax code OCR read
    # as a digit) is the amount; space-grouped thousands ("35 000") are left to parse_amount.
    tokens = text.split()
    if len(tokens) == 2 and _CENTS.fullmatch(tokens[0]) and re.fullmatch(r"\d{1,2}", tokens[1]):
        text = tokens[0]
    parsed = parse_amount(text, currency)
    return parsed[0] if parsed else None
