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
                  "tong thanh toan", "grand total", "total due", "amount due", "balance due", "total",
                  "montant total", "total ttc", "totaal", "te betalen", "gesamtbetrag", "endbetrag",
                  "razem", "do zaplaty", "suma", "importe total", "total factura", "totale", "totale fattura",
                  "totale documento", "factuur totaal", "somme a payer")

NUMERIC_CELL = re.compile(
    r"^[(\-+]?\s*(?:[$€£₫₹]|us\$|rm|vnd|vnđ|usd|eur|pln|inr|zl|zł)?\s*-?\d[\d.,\s\u00a0\u202f]*"
    r"\s*(?:[$€£₫₹đ]|vnd|vnđ|usd|eur|pln|inr|zl|zł|rm)?\s*\)?"
    # a till's tax code after the amount ("20.00 SR": standard-rated, "ZR" zero-rated, "S6";
    # any one to three letters, as OCR misreads them: "17.20 LR"), and its GST mark "*"
    r"(?:\s*[a-z]{1,3}\d?)?(?:\s*\*)?$", re.IGNORECASE)
#: A till's tax code and GST mark after an amount (see :func:`number`).
_TILL_MARK = re.compile(r"(?<=\d)\s*(?:[a-z]{1,3}\d?)?\s*\*?$", re.IGNORECASE)
def box_of(line: TextLine) -> tuple[float, float, float, float]:
    (ax, ay), (bx, by), (cx, cy), (dx, dy) = line.box
    return min(ax, bx, cx, dx), min(ay, by, cy, dy), max(ax, bx, cx, dx), max(ay, by, cy, dy)


def visual_rows(lines: tuple[TextLine, ...]) -> list[list[int]]:
    """Line indices grouped into visual rows (centres within half a line height), top to bottom."""
    order = sorted(range(len(lines)), key=lambda i: (box_of(lines[i])[1] + box_of(lines[i])[3]) / 2)
    rows: list[list[int]] = []
    centre = height = 0.0
    for i in order:
        x0, y0, x1, y1 = box_of(lines[i])
        c, h = (y0 + y1) / 2, max(y1 - y0, 1.0)
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
    parsed = parse_amount(_TILL_MARK.sub("", text), currency)
    return parsed[0] if parsed else None
