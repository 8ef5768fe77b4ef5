"""Line items: the rows of an invoice's, receipt's or order's item table.

The table is found by its header row: a visual row holding at least three column
captions (Vietnamese, English, French, Dutch, German, Polish; folded text, see
:func:`app.extraction.normalize.fold`), among them the description and the
amount or unit price. Each caption's horizontal extent defines its column; the
boundaries between columns lie halfway between neighbouring captions. Below the
header:

* a row with a number in the amount (or unit-price) column is an item (an
  *anchor* row); its other cells are read by column;
* a row with text only in the description column continues the description of
  the item above (descriptions wrap below their numbers), or of the item below
  when that one is clearly nearer (numbers centred in a tall cell); within 1.8
  line heights;
* a repeated header row (a table continuing on the next page) is skipped; so
  are subtotal, tax and discount rows; the grand-total row ends the table, until
  another header row starts a new one.

The lines are those of all pages stacked top to bottom (see
:class:`app.pipeline.DocumentRead`), so a table that continues on the next page
simply goes on below.

Numbers are read with :func:`app.extraction.normalize.parse_amount` (its
separator rules; VND when the document is Vietnamese).
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass
from decimal import Decimal

from app.domain import OcrResult, TextLine
from app.extraction.item_cells import NUMERIC_CELL as _NUMERIC_CELL
from app.extraction.item_cells import COUNT_CAPTIONS, SUBTOTAL_CAPTIONS, TOTAL_CAPTIONS, LineItem  # noqa: F401
from app.extraction.item_cells import box_of as _box
from app.extraction.currency import currency_of
from app.extraction.item_cells import number as _number
from app.extraction.item_cells import starts_with as _starts_with
from app.extraction.item_cells import visual_rows as _rows
from app.extraction.item_cells import without_article_number
from app.extraction.item_lists import headerless_items
from app.extraction.normalize import fold

#: Document types whose line items are read.
LINE_ITEM_TYPES = ("invoice", "receipt", "purchase_order", "sales_order")

#: Column key -> printed header captions (folded: lower case, no diacritics).
COLUMN_CAPTIONS: dict[str, tuple[str, ...]] = {
    # An article number column: its cells are not the description.
    "code": ("sku", "ref.", "réf.", "art.-nr.", "art.nr.", "art. nr.", "artikelnummer", "artikelnr.", "article no.",
             "item code", "product code", "cod. art.", "codice articolo", "código", "referencia", "mã hàng",
             "ma hang", "mã sp"),
    "index": ("stt", "so tt", "no.", "no", "#", "lp.", "lp", "nr.", "nr", "pos.", "pos", "n°", "nº", "n."),
    "description": (
        "ten hang hoa, dich vu", "ten hang hoa dich vu", "ten hang hoa", "ten hang", "ten san pham",
        "ten dich vu", "ten mon", "ten mat hang", "ten sp", "san pham", "hang hoa", "mat hang",
        "dien giai", "noi dung", "mo ta",
        "item description", "description", "product name", "product", "items", "item", "goods", "services",
        "service", "particulars", "details",
        "designation", "libelle", "article", "produit",  # French
        "omschrijving", "artikel", "product", "dienst",  # Dutch
        "beschreibung", "bezeichnung", "leistung", "artikelbezeichnung",  # German
        "nazwa towaru", "nazwa uslugi", "nazwa", "towar", "opis",  # Polish
        "descripcion", "concepto", "articulo", "producto",  # Spanish
        "descrizione", "articolo", "prodotto",  # Italian
        "code/desc", "code&desc", "desc/code", "no.desc/code", "desc", "item name",  # receipt tills
    ),
    "quantity": ("so luong", "s.luong", "sl", "s/l", "qty", "quantity", "qte", "quantite", "aantal", "menge",
                 "anzahl", "ilosc", "hours", "units", "cantidad", "cant.", "quantita", "qta", "q.ta",
                 "qnty", "qtys", "horas", "ore", "uren", "stunden", "std.", "heures", "gio"),
    "unit": ("don vi tinh", "don vi", "dvt", "d.v.t", "uom", "unit", "unite", "eenheid", "einheit", "jm", "j.m.",
             "jednostka", "unidad", "unita", "u.m."),
    "unit_price": ("don gia", "d.gia", "dg", "unit price", "unit cost", "price per unit", "price each", "price", "rate",
                   "prix unitaire", "prix unit", "prix", "p.u.", "pu", "stukprijs", "eenheidsprijs", "prijs per stuk",
                   "prijs", "einzelpreis", "stuckpreis", "vk-preis", "e-preis", "preis", "cena jednostkowa",
                   "cena jedn", "cena netto", "cena", "precio unitario", "precio", "prezzo unitario", "prezzo",
                   "u/p", "u/price", "u\\price", "s/price", "unit/price", "u.price", "harga", "p. unit.", "p. unit",
                   "p.u. ht", "prix u.", "tarief", "tarifa", "tariffa"),
    # Line totals; a price "incl. VAT" column is the line's amount where no other is printed.
    "amount": ("thanh tien", "t.tien", "tt", "so tien", "tien hang", "line total", "amount incl. vat", "amount", "total",
               "price incl. vat", "montant ht", "montant ttc", "montant", "total ht", "bedrag incl. btw", "bedrag",
               "prijs incl. btw", "prijs incl btw", "totaal incl. btw", "totaal", "zeilenbetrag", "positionsbetrag",
               "betrag", "gesamtpreis", "gesamt", "summe", "wartosc netto", "wartosc brutto", "wartosc", "kwota",
               "importe", "importo", "totale riga", "amt",
               # a line's net amount, as Spanish, Dutch and Italian invoices head the column
               "subtotal", "subtotaal", "imponibile", "importe neto", "montant net", "totale"),
}

#: A description-only row joins the item below only when it is nearer than this
#: fraction of its distance to the item above.
_NEARER = 0.75
_LEADING_NUMBER = re.compile(r"^\s*(\d[\d.,]*)\s+([^\d\s].{0,15})$")
_CAPTION_TEXT = re.compile(r"[()\[\]:]")


@dataclass
class _Column:
    key: str
    x0: float
    x1: float


def caption_key(text: str) -> str | None:
    """The column a header cell names (``"Đơn giá (Unit price)"`` -> ``unit_price``), or None."""
    segments = caption_segments(text)
    return segments[0][0] if segments else None


def _index_captions() -> dict[str, list[tuple[str, str]]]:
    """First word of each caption -> ``(column, caption)``, longest caption first."""
    index: dict[str, list[tuple[str, str]]] = {}
    for key, captions in COLUMN_CAPTIONS.items():
        for caption in captions:
            index.setdefault(caption.split(" ", 1)[0].rstrip(",/"), []).append((key, caption))
    for entries in index.values():
        entries.sort(key=lambda e: -len(e[1]))
    return index


_BY_FIRST_WORD = _index_captions()


def caption_segments(text: str) -> list[tuple[str, float, float]]:
    """Column captions in one header cell's text, in order, with the fraction of
    the text's width each spans: ``"STT Tên hàng hóa, dịch vụ"`` ->
    ``[("index", 0.0, 0.12), ("description", 0.12, 1.0)]`` (a detector or a text
    layer often joins neighbouring captions into one line). Longest caption first
    at each word; words that start no caption are skipped."""
    folded = fold(text)
    n = max(len(folded), 1)
    words = [m.start() for m in re.finditer(r"\S+", folded)]
    out: list[tuple[str, int, int]] = []
    k = 0
    while k < len(words):
        start = words[k]
        rest = " ".join(_CAPTION_TEXT.sub(" ", folded[start:]).split())
        best = None
        for key, caption in _BY_FIRST_WORD.get(rest.split(" ", 1)[0].rstrip(",/") if rest else "", ()):
            if rest == caption or rest.startswith(caption + " ") or rest.startswith(caption + ",") \
                    or rest.startswith(caption + "/"):
                best = (key, caption)
                break  # longest first
        if best is None:
            k += 1
            continue
        span = len(best[1].split())
        end_word = min(k + span, len(words))
        end = words[end_word] if end_word < len(words) else len(folded)
        out.append((best[0], start, end))
        k = end_word
    if not out:  # the whole cell as OCR misread one caption ("dn giá" for "đơn giá")
        key = _misread_caption(" ".join(_CAPTION_TEXT.sub(" ", folded).split()))
        return [(key, 0.0, 1.0)] if key else []
    if len(out) == 1:  # one caption: the cell is its column (a bilingual cell's second half is no column)
        return [(out[0][0], 0.0, 1.0)]
    return [(key, a / n, b / n) for key, a, b in out]


def _misread_caption(text: str) -> str | None:
    """The column of a caption of six letters or more that ``text`` (a whole header cell, folded)
    is one edit (Levenshtein) away from, when exactly one column's captions are."""
    from rapidfuzz import process
    from rapidfuzz.distance import Levenshtein

    if len(text) < 5:
        return None
    found = process.extract(text, _LONG_CAPTIONS, scorer=Levenshtein.distance, score_cutoff=1, limit=None)
    keys = {_LONG_CAPTION_KEYS[index] for _, _, index in found}
    return keys.pop() if len(keys) == 1 else None


#: The captions :func:`_misread_caption` compares with, and their columns (built once).
_LONG_CAPTIONS = [c for captions in COLUMN_CAPTIONS.values() for c in captions if len(c) >= 6]
_LONG_CAPTION_KEYS = [k for k, captions in COLUMN_CAPTIONS.items() for c in captions if len(c) >= 6]


def _header(lines, row: list[int]) -> list[_Column] | None:
    columns: dict[str, _Column] = {}
    for i in row:
        x0, _, x1, _ = _box(lines[i])
        for key, a, b in caption_segments(lines[i].text):
            sx0, sx1 = x0 + (x1 - x0) * a, x0 + (x1 - x0) * b
            if key in columns:
                columns[key].x0, columns[key].x1 = min(columns[key].x0, sx0), max(columns[key].x1, sx1)
            else:
                columns[key] = _Column(key, sx0, sx1)
    if len(columns) >= 3 and "description" in columns and ("amount" in columns or "unit_price" in columns):
        return sorted(columns.values(), key=lambda c: c.x0)
    return None


def _zone(columns: list[_Column], x0: float, x1: float) -> str:
    """The column of a cell spanning ``x0..x1``: a cell starting inside the description
    column is description text; otherwise the column whose zone holds its centre."""
    centre = (x0 + x1) / 2
    bounds = [(a.x1 + b.x0) / 2 for a, b in zip(columns, columns[1:])]
    for k, col in enumerate(columns):
        if col.key == "description":
            left = bounds[k - 1] if k else float("-inf")
            right = bounds[k] if k < len(bounds) else float("inf")
            if left <= x0 < right:
                return "description"
    for k, col in enumerate(columns):
        right = bounds[k] if k < len(bounds) else float("inf")
        if centre < right:
            return col.key
    return columns[-1].key


def read_line_items(ocr: OcrResult) -> list[LineItem]:
    """The item rows of every table in ``ocr`` (see the module docstring).

    Args:
        ocr: a document's lines (all pages stacked), boxes in pixels.

    Returns:
        Items in reading order; rows without a description are not items.
    """
    lines = ocr.lines
    if not lines:
        return []
    currency = currency_of(ocr)
    items = _table_items(lines, currency)
    return items if items else headerless_items(lines, currency)


def _table_items(lines: tuple[TextLine, ...], currency: str | None) -> list[LineItem]:
    """Items of the tables found by their header rows (see the module docstring);
    ``currency``: the document's (:func:`app.extraction.currency.currency_of`)."""
    heights = [max(_box(ln)[3] - _box(ln)[1], 1.0) for ln in lines]
    line_h = statistics.median(heights)
    rows = _rows(lines)
    # Pass 1: classify the rows of each table.
    kinds: list[tuple[str, list[int], dict | None]] = []  # (kind, row, cells)
    columns = None
    for row in rows:
        header = _header(lines, row)
        if header is not None:
            if columns is None or kinds and kinds[-1][0] == "end":
                columns = header
            else:  # a repeated header or the second line of a bilingual one
                columns = _merge(columns, header)
            kinds.append(("header", row, None))
            continue
        if columns is None or (kinds and kinds[-1][0] == "end"):
            continue
        cells: dict[str, list[int]] = {}
        for i in row:
            cells.setdefault(_zone(columns, *_xs(lines[i])), []).append(i)
        counted = any(_number(lines[i].text, currency) is not None
                      for key in ("quantity", "unit_price") for i in cells.get(key, ()))
        captions = [lines[i].text for i in row if not _NUMERIC_CELL.match(lines[i].text.strip())]
        if captions and counted and _starts_with(captions[0], TOTAL_CAPTIONS + SUBTOTAL_CAPTIONS + COUNT_CAPTIONS):
            kinds.append(("skip", row, None))  # "TOTAL QTY: 2 | 63.60": the quantities' total, not an item
            continue
        if captions and not counted:  # a totals row: a caption and an amount, no quantity or price
            if (_starts_with(captions[0], TOTAL_CAPTIONS) or _names_total(captions[0])) \
                    and not _starts_with(captions[0], SUBTOTAL_CAPTIONS):
                kinds.append(("end", row, None))
                continue
            # "Prijzen zijn inclusief BTW | Factuur totaal EUR | 49,99": the caption beside the description
            if any(_starts_with(lines[i].text, TOTAL_CAPTIONS) and not _starts_with(lines[i].text, SUBTOTAL_CAPTIONS)
                   for key, idx in cells.items() if key != "description" for i in idx
                   if not _NUMERIC_CELL.match(lines[i].text.strip())):
                kinds.append(("end", row, None))
                continue
            if any(_starts_with(c, TOTAL_CAPTIONS + SUBTOTAL_CAPTIONS) for c in captions):
                kinds.append(("skip", row, None))
                continue
        priced = any(_number(lines[i].text, currency) is not None
                     for key in ("amount", "unit_price") for i in cells.get(key, ()))
        if priced:
            kinds.append(("item", row, cells))
        elif "description" in cells:
            kinds.append(("text", row, cells))
        else:
            kinds.append(("skip", row, None))
    # Pass 2: items, with description-only rows joined to the nearer item.
    items: list[dict] = []
    item_of_row: dict[int, int] = {}
    for k, (kind, row, cells) in enumerate(kinds):
        if kind == "item":
            item_of_row[k] = len(items)
            items.append({"cells": cells, "extra": [], "last": _centre(lines, row), "first": _centre(lines, row)})
    # Descriptions lead their numbers when the first item row has no description and
    # a description-only row stands between it and the header.
    first = next((k for k, entry in enumerate(kinds) if entry[0] == "item"), None)
    leading = (first is not None and first > 0 and kinds[first - 1][0] == "text"
               and not _worded(lines, kinds[first][2]))
    for k, (kind, row, cells) in enumerate(kinds):
        if kind != "text":
            continue
        centre = _centre(lines, row)
        prev = nxt = None
        for j in range(k - 1, -1, -1):
            if kinds[j][0] == "item":
                prev = item_of_row[j]
                break
            if kinds[j][0] != "text":
                break
        for j in range(k + 1, len(kinds)):
            if kinds[j][0] == "item":
                nxt = item_of_row[j]
                break
            if kinds[j][0] != "text":
                break
        d_prev = centre - items[prev]["last"] if prev is not None else float("inf")
        d_next = items[nxt]["first"] - centre if nxt is not None else float("inf")
        reach = 1.8 * line_h
        if leading and nxt is not None and d_next <= reach and not _worded(lines, items[nxt]["cells"]):
            # A table whose descriptions stand above their numbers ("SMOKED DUCK SPAGHETTI" /
            # "1X 12.50 12.50"): the line belongs to the item below while that has none of its own.
            items[nxt]["extra"].append(("before", cells["description"]))
            items[nxt]["first"] = centre
        # Descriptions mostly wrap below their numbers: the item below takes the
        # line only when it is clearly nearer.
        elif d_next >= _NEARER * d_prev and d_prev <= reach:
            items[prev]["extra"].append(("after", cells["description"]))
            items[prev]["last"] = centre
        elif d_next < _NEARER * d_prev and d_next <= reach:
            items[nxt]["extra"].append(("before", cells["description"]))
            items[nxt]["first"] = centre
    out = []
    for item in items:
        cells = item["cells"]
        before = [i for side, idx in item["extra"] if side == "before" for i in idx]
        after = [i for side, idx in item["extra"] if side == "after" for i in idx]
        desc_idx = sorted(before, key=lambda i: _box(lines[i])[1]) + cells.get("description", []) + after
        description = without_article_number(" ".join(lines[i].text for i in desc_idx)) or None
        if description is None or not re.search(r"[^\W\d_]", description):
            continue
        quantity = _first_number(lines, cells.get("quantity", ()), currency)
        unit = " ".join(lines[i].text for i in cells.get("unit", ())).strip() or None
        if quantity is None:
            for i in cells.get("quantity", ()):
                m = _LEADING_NUMBER.match(lines[i].text)
                if m:
                    quantity = _number(m.group(1), currency)
                    unit = unit or m.group(2).strip()
        indices = tuple(sorted({i for idx in cells.values() for i in idx} | set(before) | set(after),
                               key=lambda i: (_box(lines[i])[1], _box(lines[i])[0])))
        confidence = sum(lines[i].confidence for i in indices) / len(indices)
        out.append(LineItem(description, quantity, unit, _first_number(lines, cells.get("unit_price", ()), currency),
                            _last_number(lines, cells.get("amount", ()), currency), indices, confidence))
    return out


def _worded(lines, cells: dict) -> bool:
    """Whether a row's description cells hold words (an article number alone is no description:
    the item's name then stands on the row above)."""
    return any(re.search(r"[^\W\d_]{2}", lines[i].text) for i in cells.get("description", ()))


#: One-word grand-total captions that name the total wherever they stand in a row's caption
#: ("TAKEOUT TOTAL (INCL GST)", "NETT TOTAL", "Rechnungsbetrag gesamt").
_TOTAL_WORDS = frozenset(c for c in TOTAL_CAPTIONS if " " not in c)


def _names_total(text: str) -> bool:
    """Whether a caption names the grand total as one of its words (see :data:`_TOTAL_WORDS`)."""
    words = re.findall(r"[^\W\d_]+", fold(text))
    return any(w in _TOTAL_WORDS for w in words) and not _starts_with(text, SUBTOTAL_CAPTIONS)


def _merge(old: list[_Column], new: list[_Column]) -> list[_Column]:
    """Columns of a header seen again (the next page, or a second caption line):
    the new positions win, columns only in the old header are kept."""
    keys = {c.key for c in new}
    return sorted(new + [c for c in old if c.key not in keys], key=lambda c: c.x0)


def _xs(line: TextLine) -> tuple[float, float]:
    x0, _, x1, _ = _box(line)
    return x0, x1


def _centre(lines, row: list[int]) -> float:
    return sum((_box(lines[i])[1] + _box(lines[i])[3]) / 2 for i in row) / len(row)


def _first_number(lines, indices, currency) -> Decimal | None:
    for i in indices:
        value = _number(lines[i].text, currency)
        if value is not None:
            return value
    return None


def _last_number(lines, indices, currency) -> Decimal | None:
    """The rightmost number of a cell (two numbers in the amount zone: the line total is the last)."""
    for i in reversed(list(indices)):
        value = _number(lines[i].text, currency)
        if value is not None:
            return value
    return None


