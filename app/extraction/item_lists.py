"""Line items printed without a table header: the lists of receipts and simple invoices.

Two layouts, each accepted only when its amounts add up to an amount printed on a total or
subtotal row (the arithmetic is the evidence that these rows are the items and not, say, a
payment summary):

* :func:`list_items`: "description ... amount" on one row;
* :func:`till_items`: a till's two-line items, a *quantity row* ("1 X 8.50 | 8.50",
  "*4 | 252.00 ZR", "2 PC @ 269.00 | 538.00", "2.50*3 | 7.50", "1X 000008541987 | 7.00ZR":
  quantities, prices, codes and an amount, no words) with its description on the rows
  above it or below it.

:func:`headerless_items` reads both and keeps the one with more items.
"""

from __future__ import annotations

import dataclasses
import re
import statistics
from decimal import Decimal

from app.domain import TextLine
from app.extraction.currency import document_currency
from app.extraction.normalize import fold
from app.extraction.item_cells import (
    COUNT_CAPTIONS,
    SUBTOTAL_CAPTIONS,
    TOTAL_CAPTIONS,
    LineItem,
    box_of,
    number,
    starts_with,
    starts_with_fuzzy,
    without_article_number,
    visual_rows,
)

#: A cell of a quantity row: numbers, codes and the marks between them (x, *, @, units);
#: no word of two letters other than a unit or an article code ("FM411000055").
_QUANTITY_CELL = re.compile(r"[\s\d.,*@x×#$/()%:-]*(?:\b(?:pcs?|units?|ea|nos|qty|rm|[a-z]{1,3}\d{5,})\b"
                            r"[\s\d.,*@x×#$/()%:-]*)*", re.IGNORECASE)
#: "3 X 4.50", "2 * 30.00", "2 PC @ 269.00", "3 UNIT * 4.80": quantity, then unit price.
_QTY_PRICE = re.compile(r"(?<![\d.,])(\d{1,4})\s*(?:x|×|\*|pcs?\s*@|units?\s*\*?|@)\s*(\d+[.,]\d{2})(?![\d])",
                        re.IGNORECASE)
#: "2.50*3": unit price, then quantity.
_PRICE_QTY = re.compile(r"(?<![\d.,])(\d+[.,]\d{2})\s*[*x×]\s*(\d{1,4})(?![\d.,])", re.IGNORECASE)
#: An amount has cents or thousands groups ("8.50", "98.000"): a bare integer is a code or a count.
_AMOUNT_SHAPE = re.compile(r"\d[.,]\d{2,3}(?!\d)")
#: Most rows of text one item's description spans.
_MAX_DESCRIPTION_ROWS = 3
#: A till's per-item tax rate printed in the item's number row ("VAT10%", "GST 6%", "TVA 5,5 %",
#: "MwSt 19%", "thuế 10%"), the quantity sometimes run into it by OCR ("VAT10% 5"); folded text.
_RATE_CELL = re.compile(r"(?:vat|gst|sst|tva|mwst|ust|iva|btw|thue|tax)\s*\d{1,2}(?:[.,]\d{1,2})?\s*%(?:\s+\d{1,4})?")
#: A row of stars, dashes or dots only (a till's rules and frames).
_DECORATION = re.compile(r"[\s*=_.~#+-]{3,}")
_RATE_NUMBER = re.compile(r"(\d{1,2}(?:[.,]\d{1,2})?)\s*%")
#: Rows a till prints under an item that are not items: the price before a discount and why it
#: changed ("Giá gốc: 8,500", "Lý do: ...", "Reg. price 4.99", "You save 1.00", "Statt 2,99",
#: "Prix initial", "Precio original", "Prezzo originale", "Cena regularna"), and a note box between
#: items ("* Ghi chú *"); folded captions. Words that also begin product names ("Van ...",
#: "Note ...") are left out.
PRICE_NOTE_CAPTIONS = ("gia goc", "gia niem yet", "gia cu", "ly do", "original price", "orig price", "orig. price",
                       "reg price", "reg. price", "regular price", "you save", "you saved", "prix initial",
                       "ancien prix", "prix barre", "statt", "uvp", "ursprunglicher preis", "precio original",
                       "precio anterior", "prezzo originale", "prezzo di listino", "cena regularna",
                       "oorspronkelijke prijs", "ghi chu", "remark", "remarks")


#: ``currency`` not given: read it from the lines (:func:`document_currency`).
_FROM_LINES = object()


def headerless_items(lines: tuple[TextLine, ...], currency=_FROM_LINES) -> list[LineItem]:
    """The items of a list printed without a header row: :func:`list_items` or
    :func:`till_items`, whichever reads more items (``[]`` when neither adds up).
    ``currency``: the document's (:func:`document_currency`), when the caller has it."""
    if currency is _FROM_LINES:
        currency = document_currency(lines)
    one_row, two_line = list_items(lines, currency), till_items(lines, currency)
    return two_line if len(two_line) > len(one_row) else one_row


def list_items(lines: tuple[TextLine, ...], currency=_FROM_LINES) -> list[LineItem]:
    """Items of a "description ... amount" list printed without a header row.

    A block is a run of consecutive rows each holding text on the left and an
    amount as its rightmost cell (other numbers on the row are kept in the
    description). Rows indented further than the block's left edge are breakdowns
    of the item above ("Charges", "VAT" under each service) and are not items;
    subtotal and tax rows are skipped; a grand-total row, or a row with no amount,
    ends the block. A block is read as the document's items only when its amounts
    add up to an amount printed on a total or subtotal row (the arithmetic is the
    evidence that these rows are the items and not, say, a payment summary);
    among such blocks the one with most items wins (the finest breakdown).

    Returns:
        The items (description and amount only), or ``[]`` when no block adds up.
    """
    if currency is _FROM_LINES:
        currency = document_currency(lines)
    line_h = statistics.median(max(box_of(ln)[3] - box_of(ln)[1], 1.0) for ln in lines)
    targets: list[Decimal] = []
    blocks: list[list[tuple[float, list[int], int, Decimal]]] = [[]]
    for row in visual_rows(lines):
        amount_at = row[-1]
        amount = number(lines[amount_at].text, currency)
        texts = [i for i in row[:-1] if re.search(r"[^\W\d_]{2}", lines[i].text)]
        caption = lines[texts[0]].text if texts else ""
        if amount is not None and texts and (starts_with(caption, TOTAL_CAPTIONS)
                                             or starts_with(caption, SUBTOTAL_CAPTIONS)):
            if amount:  # "Tổng chiết khấu 0,00": nothing adds up to a total of nothing
                targets.append(abs(amount))
            if starts_with(caption, TOTAL_CAPTIONS) and not starts_with(caption, SUBTOTAL_CAPTIONS):
                blocks.append([])
            continue
        if amount is None or not texts:
            if blocks[-1]:
                blocks.append([])
            continue
        blocks[-1].append((box_of(lines[texts[0]])[0], row[:-1], amount_at, amount))
    best: list[LineItem] = []
    for block in blocks:
        if len(block) < 2:
            continue
        left = min(x for x, *_ in block)
        rows = [r for r in block if r[0] <= left + 0.5 * line_h]
        total = sum((a for *_, a in rows), Decimal(0))
        if len(rows) < 2 or not any(abs(total - t) <= max(Decimal("0.011"), t * Decimal("0.001")) for t in targets):
            continue
        if len(rows) > len(best):
            best = []
            for _, text_idx, amount_at, amount in rows:
                indices = (*text_idx, amount_at)
                best.append(LineItem(" ".join(lines[i].text for i in text_idx).strip(), None, None, None, amount,
                                     indices, sum(lines[i].confidence for i in indices) / len(indices)))
    return best


def _caption(text: str) -> bool:
    return starts_with(text, TOTAL_CAPTIONS) or starts_with(text, SUBTOTAL_CAPTIONS) or starts_with(
        text, COUNT_CAPTIONS)


def _total_caption(text: str) -> bool:
    """A grand-total caption, also as OCR misreads it on a till photo ("Tơng sẹ tiên" for
    "Tổng số tiền"): one letter off in a caption of ten letters or more
    (:func:`app.extraction.item_cells.starts_with_fuzzy`)."""
    return starts_with(text, TOTAL_CAPTIONS) or starts_with_fuzzy(text, TOTAL_CAPTIONS)


def till_items(lines: tuple[TextLine, ...], currency=_FROM_LINES) -> list[LineItem]:
    """A till's two-line items: each *quantity row* (an amount as its rightmost cell, only
    numbers, codes and quantity marks before it) with the text rows that belong to it.

    Rows are cut into blocks at totals rows (total, subtotal, tax, item-count captions),
    at rows that fit neither shape and at runs of more text rows than a description spans.
    In a block the descriptions stand either above their quantity rows or below them: on the
    side where text rows sit nearer to the quantity rows; when the gaps do not tell, below
    when text rows follow the last quantity row (a description above would leave a line
    without a number just before the totals), above otherwise. The item at the open end
    (the first one when above, the last when below) takes as many rows as the others'
    median, at most :data:`_MAX_DESCRIPTION_ROWS`. Priced text rows in a block ("ITEM
    PROMO @12.99 | -3.51") are items of their own. A block is the document's items only
    when its amounts add up to a total or subtotal amount; among such blocks the one with
    most items wins. Quantity and unit price are kept when the row prints them and
    quantity x unit price is the amount.

    Returns:
        The items, or ``[]``.
    """
    if currency is _FROM_LINES:
        currency = document_currency(lines)
    targets: list[Decimal] = []
    blocks: list[list[tuple[str, list[int], Decimal | None]]] = [[]]

    def close():
        if blocks[-1]:
            blocks.append([])

    for row in visual_rows(lines):
        last = lines[row[-1]].text.strip()
        # "@53.50" right of a description is its unit price, not an amount
        amount = number(last, currency) if _AMOUNT_SHAPE.search(last) and not last.startswith("@") else None
        # A tax rate beside a unit price and an amount is the item's rate, not a tax row.
        rated = {i for i in row[:-1] if _rate_cell(lines[i].text)} \
            if amount is not None and any(_AMOUNT_SHAPE.search(lines[i].text) for i in row[:-1]) else set()
        texts = [lines[i].text for i in row if i not in rated and re.search(r"[^\W\d_]{2}", lines[i].text)]
        if texts and starts_with(texts[0], PRICE_NOTE_CAPTIONS):
            continue  # about the item above: neither an item nor the end of the list
        if all(_DECORATION.fullmatch(lines[i].text) for i in row):
            continue  # a rule of stars or dashes framing a note: the list goes on
        if any(_caption(t) or _total_caption(t) for t in texts):
            if amount is not None and any(_total_caption(t) or starts_with(t, SUBTOTAL_CAPTIONS)
                                          for t in texts):
                if amount:
                    targets.append(abs(amount))
            close()
            continue
        if amount is not None and all(i in rated or _QUANTITY_CELL.fullmatch(lines[i].text) for i in row[:-1]):
            blocks[-1].append(("quantity", row, amount))
        elif amount is not None and texts:
            blocks[-1].append(("priced", row, amount))
        elif amount is None and texts:
            run = 0
            for kind, *_ in reversed(blocks[-1]):
                if kind != "text":
                    break
                run += 1
            if run >= _MAX_DESCRIPTION_ROWS:  # a paragraph, not a description: the items before it
                keep = blocks[-1][-(_MAX_DESCRIPTION_ROWS - 1):]  # end there; its last rows may lead the next
                del blocks[-1][-run:]
                close()
                blocks[-1].extend(keep)
            blocks[-1].append(("text", row, None))
        else:
            close()
    def adds_up(total: Decimal) -> bool:
        return any(abs(total - t) <= max(Decimal("0.011"), t * Decimal("0.001")) for t in targets)

    best: list[LineItem] = []
    for block in blocks:
        read = _block_items(lines, block, currency)
        items = [item for item, _, _ in read]
        if not any(from_quantity_row for _, from_quantity_row, _ in read):
            continue
        total = sum((i.amount for i in items), Decimal(0))
        if not adds_up(total):
            # One amount misread by a digit ("39,000.00 | 29,000.00" with no quantity printed):
            # the reading of that row which makes the block add up is the one kept.
            repair = next((k for k, (item, _, other) in enumerate(read)
                           if other is not None and adds_up(total - item.amount + other)), None)
            if repair is None:
                continue
            item = items[repair]
            items[repair] = dataclasses.replace(item, amount=read[repair][2], confidence=item.confidence / 2,
                                                checks={"amount_from_unit_price": True})
        if len(items) > len(best):
            best = items
    return best


def _quantity_and_price(lines, row: list[int], amount: Decimal, prices: list[Decimal],
                        currency) -> tuple[Decimal | None, Decimal | None]:
    """Quantity and unit price printed in an item's number row, kept only when quantity x unit
    price is the amount: "3 X 4.50" / "2.50*3" with their marks, else a count cell and one of
    ``prices`` (the row's amounts before its last; "1 | 17,200.00 | 17,200.00",
    "VAT10% 5 | 3,300.00 | 16,500.00")."""
    printed = " ".join(lines[i].text for i in row)
    for pattern, order in ((_QTY_PRICE, (1, 2)), (_PRICE_QTY, (2, 1))):
        m = pattern.search(printed)
        if m:
            q, p = (number(m.group(g), currency) for g in order)
            if q is not None and p is not None and abs(q * p - amount) <= Decimal("0.011"):
                return q, p
    counts = [Decimal(m.group(1)) for i in row[:-1]
              for m in [re.search(r"(?<![\d.,%])(\d{1,4})\s*$", fold(lines[i].text))] if m]
    for q in counts:
        for p in prices:
            if q > 0 and abs(q * p - amount) <= Decimal("0.011"):
                return q, p
    return None, None


def _descriptions_below(lines, block, anchors: list[int]) -> bool:
    """Whether a block's descriptions stand below their quantity rows: the side where the
    text rows sit nearer to the quantity rows (a description is printed close to its own
    numbers, with the gap between items), when the mean gaps differ by a tenth of a line
    height or more; else below only when text rows follow the last quantity row."""
    def span(k):
        row = block[k][1]
        return min(box_of(lines[i])[1] for i in row), max(box_of(lines[i])[3] for i in row)

    above_gaps, below_gaps = [], []
    for a in anchors:
        y0, y1 = span(a)
        if a > 0 and block[a - 1][0] == "text":
            above_gaps.append(y0 - span(a - 1)[1])
        if a + 1 < len(block) and block[a + 1][0] == "text":
            below_gaps.append(span(a + 1)[0] - y1)
    line_h = statistics.median(span(k)[1] - span(k)[0] for k in range(len(block)))
    if above_gaps and below_gaps:
        diff = statistics.fmean(above_gaps) - statistics.fmean(below_gaps)
        if abs(diff) >= 0.1 * line_h:
            return diff > 0
    return block[-1][0] == "text"


def _block_items(lines, block, currency) -> list[tuple[LineItem, bool, Decimal | None]]:
    """The items of one block (see :func:`till_items`), each with whether it is a quantity
    row's (a block of priced text rows alone is :func:`list_items`'s to read) and the row's
    other reading of its amount: the unit price printed beside an amount one digit apart from
    it, no quantity printed (an OCR misreading of one of the two; None otherwise)."""
    anchors = [k for k, (kind, *_) in enumerate(block) if kind == "quantity"]
    if not anchors:
        return []
    below = _descriptions_below(lines, block, anchors)
    spans: dict[int, list[int]] = {}  # anchor -> its text entries
    if below:
        ends = anchors[1:] + [len(block)]
        for a, end in zip(anchors, ends):
            spans[a] = [k for k in range(a + 1, end) if block[k][0] == "text"]
    else:
        starts = [-1] + anchors[:-1]
        for a, start in zip(anchors, starts):
            spans[a] = [k for k in range(start + 1, a) if block[k][0] == "text"]
    inner = [len(v) for a, v in spans.items() if a != (anchors[-1] if below else anchors[0])]
    usual = min(_MAX_DESCRIPTION_ROWS, max(1, round(statistics.median(inner)) if inner else 1))
    open_end = anchors[-1] if below else anchors[0]
    spans[open_end] = spans[open_end][:usual] if below else spans[open_end][-usual:]
    out: list[tuple[LineItem, bool]] = []
    for k, (kind, row, amount) in enumerate(block):
        if kind == "priced":
            out.append((LineItem(_description(lines, row[:-1]), None, None, None, amount,
                                 tuple(row), sum(lines[i].confidence for i in row) / len(row)), False, None))
            continue
        if kind != "quantity" or not spans.get(k):
            continue
        text_idx = [i for e in spans[k] for i in block[e][1]]
        description = _description(lines, text_idx)
        if not re.search(r"[^\W\d_]{2}", description):
            continue
        prices = [v for i in row[:-1] if _AMOUNT_SHAPE.search(lines[i].text)
                  for v in [number(lines[i].text, currency)] if v is not None]
        quantity, unit_price = _quantity_and_price(lines, row, amount, prices, currency)
        rates = [_RATE_NUMBER.search(lines[i].text).group(1) for i in row[:-1] if _rate_cell(lines[i].text)]
        other = None
        if quantity is None and len(prices) == 1 and prices[0] != amount and _one_digit_apart(prices[0], amount):
            unit_price, other = prices[0], prices[0]
        indices = tuple(sorted(set(row) | set(text_idx), key=lambda i: (box_of(lines[i])[1], box_of(lines[i])[0])))
        out.append((LineItem(description, quantity, None, unit_price, amount, indices,
                             sum(lines[i].confidence for i in indices) / len(indices),
                             tax_rate=f"{Decimal(rates[0].replace(',', '.')).normalize():f}" if rates else None),
                     True, other))
    return out


def _description(lines, indices) -> str:
    """An item's description from its text cells: a tax-rate cell and the GTIN left out."""
    cells = [lines[i].text for i in indices if not _rate_cell(lines[i].text)]
    return without_article_number(" ".join(cells))


def _rate_cell(text: str) -> bool:
    """Whether a cell is a till's per-item tax rate (:data:`_RATE_CELL`)."""
    return _RATE_CELL.fullmatch(" ".join(fold(text).split())) is not None


def _one_digit_apart(a: Decimal, b: Decimal) -> bool:
    """Whether two amounts differ in one digit only (same length): how OCR misreads a price."""
    x, y = f"{a:f}", f"{b:f}"
    return len(x) == len(y) and sum(c != d for c, d in zip(x, y)) == 1
