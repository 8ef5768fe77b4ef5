"""Arithmetic checks of a priced document: its line items against its totals.

Checks (each recorded with what was expected and found; a check whose inputs are
missing, or whose inputs were read from one same line and so are not independent,
is recorded as skipped with the reason: it compared nothing, so it is not ``ok``):

* ``row_amount`` per item: quantity x unit price = amount;
* ``rows_sum``: the items' amounts add up to the subtotal (invoices), or to the
  total when the document prints no subtotal and no tax;
* ``total``: subtotal + tax - discount + rounding adjustment = total (each
  printed term; a discount already netted into the subtotal is also accepted);
* ``vat_rate``: the printed VAT rate is one of the Vietnamese e-invoice rates,
  0, 5, 8 or 10 % (Law on VAT 13/2008/QH12 as amended; Decree 44/2023/ND-CP and
  its successors for the temporary 8 %), on a Vietnamese page, and tax =
  subtotal x rate.

A tolerance of one unit of the last printed digit (0.01, or 1 for amounts printed
without decimals), or 0.1 % of the expected value, absorbs rounding.

The outcomes feed confidence: a passing check reinforces the fields and items it
covers (``c = 1 - (1 - c) / 2``), a failing one halves them; the fields get a
``checks["arithmetic"]`` entry.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from decimal import Decimal

from app.domain import OcrResult
from app.domain import box_left as _left, same_row as _same_row
from app.extraction.line_items import LineItem
from app.extraction.normalize import amount_string, fold, parse_amount

#: VAT rates of Vietnamese e-invoices, percent.
VN_VAT_RATES = (Decimal(0), Decimal(5), Decimal(8), Decimal(10))
_RATE_CAPTIONS = ("thue suat", "vat rate", "tax rate", "vat", "gtgt", "tva", "btw", "mwst", "ust", "tax")
_DISCOUNT_CAPTIONS = ("chiet khau", "giam gia", "discount", "remise", "korting", "rabatt", "rabat")
_ROUNDING_CAPTIONS = ("lam tron", "rounding", "arrondi", "afronding", "rundung")
_SUBTOTAL_CAPTIONS = ("cong tien hang", "tong tien hang", "subtotal", "sub total", "sub-total", "total net",
                      "net amount", "sous-total", "total ht", "subtotaal", "zwischensumme", "razem netto")
_TAX_CAPTIONS = ("tien thue gtgt", "tien thue", "thue gtgt", "vat", "tax", "tva", "btw", "mwst", "ust", "vat amount")
_PERCENT = re.compile(r"(\d{1,2}(?:[.,]\d{1,2})?)\s*%")


def _tolerance(*values: Decimal) -> Decimal:
    return max(_unit(*values), max(abs(v) for v in values if v is not None) * Decimal("0.001"))


def _close(expected: Decimal, found: Decimal, *inputs: Decimal) -> bool:
    return abs(expected - found) <= _tolerance(found, *inputs)


def _unit(*values: Decimal) -> Decimal:
    """One unit of the last decimal any of ``values`` states (0.01 for 2 decimals; 1 for none)."""
    exponents = [v.as_tuple().exponent for v in values if v is not None]
    return Decimal(1).scaleb(min(exponents)) if exponents and min(exponents) < 0 else Decimal(1)


def _sum_agrees(expected: Decimal, found: Decimal, *inputs: Decimal, exact: bool) -> bool:
    """A sum of stated amounts: equal to the cent when ``exact`` (EN 16931 BR-CO-10, -13, -15:
    e-invoice totals are the exact sums of their terms), else :func:`_close`."""
    return expected == found if exact else _close(expected, found, *inputs)


def _product_agrees(expected: Decimal, found: Decimal, *inputs: Decimal, exact: bool) -> bool:
    """A product (quantity x price, base x rate), rounded to the amount's decimals: within one
    unit of the last stated decimal when ``exact``, else :func:`_close`."""
    return abs(expected - found) <= _unit(found, *inputs) if exact else _close(expected, found, *inputs)


@dataclass(frozen=True)
class _Read:
    """One amount as read and the lines it was read from (empty: not known)."""

    value: Decimal
    lines: frozenset[int]


def _amount(details: dict, key: str) -> _Read | None:
    result = details.get(key)
    norm = getattr(result, "normalized", None)
    if isinstance(norm, dict) and norm.get("amount") is not None:
        try:
            return _Read(Decimal(str(norm["amount"])), frozenset(result.line_indices))
        except ArithmeticError:
            return None
    return None


def _captioned_amount(ocr: OcrResult, captions: tuple[str, ...], currency: str | None,
                      skip: frozenset[int] = frozenset()) -> _Read | None:
    """The amount printed after (or on the same row as, to the right of) the first
    line that starts with one of ``captions``; percentages are not amounts; lines ``skip``
    (indices into ``ocr.lines``) are passed over."""
    for index, line in enumerate(ocr.lines):
        if index in skip:
            continue
        folded = " ".join(fold(line.text).split())
        caption = next((c for c in captions if folded.startswith(c)), None)
        if caption is None:
            continue
        rest = _PERCENT.sub(" ", line.text[len(caption):])
        parsed = parse_amount(rest, currency) if re.search(r"\d", rest) else None
        lines = {index}
        if parsed is None:
            row = sorted(((i, o) for i, o in enumerate(ocr.lines)
                          if o is not line and _same_row(o, line) and _left(o) > _left(line)),
                         key=lambda p: _left(p[1]))
            for i, other in reversed(row):
                if "%" not in other.text and (parsed := parse_amount(other.text, currency)) is not None:
                    lines.add(i)
                    break
        if parsed is not None:
            return _Read(abs(parsed[0]), frozenset(lines))
    return None


def _total_of_rows(ocr: OcrResult, rows_sum: Decimal, read: _Read, item_lines: frozenset[int],
                   currency: str | None) -> tuple[str, tuple[int, ...]] | None:
    """Where the document prints the rows' sum as its total, when the total the readers took
    stands under no grand-total caption (``read``: its value and lines; "Khách thanh toán:
    500,000" is the cash paid): ``(text, line indices)`` of an amount equal to ``rows_sum`` on a
    row (not an item's) whose caption is a grand-total caption, also one letter off
    (:func:`app.extraction.item_cells.starts_with_fuzzy`); else None. A total read under a total
    caption stands (the rows may be a part of the document's), and so does one within 10 % of
    the rows' sum (rounding, a discount: SROIE's "TOTAL AMOUNT: RM8.48" / rounded 8.50)."""
    from app.extraction.item_cells import SUBTOTAL_CAPTIONS, TOTAL_CAPTIONS, starts_with, starts_with_fuzzy

    def total_row(index: int) -> bool:
        line = ocr.lines[index]
        captions = [line] + [o for o in ocr.lines if o is not line and _same_row(o, line) and _left(o) < _left(line)]
        return any((starts_with(c.text, TOTAL_CAPTIONS) or starts_with_fuzzy(c.text, TOTAL_CAPTIONS))
                   and not starts_with(c.text, SUBTOTAL_CAPTIONS) for c in captions)

    if rows_sum <= 0 or abs(read.value - rows_sum) <= rows_sum * Decimal("0.1") \
            or any(total_row(i) for i in read.lines):
        return None  # rounding or a discount (a "Rounded total" read): the readers' total stands
    for index, line in enumerate(ocr.lines):
        if index in item_lines or not total_row(index):
            continue
        row = [index] + sorted((i for i, o in enumerate(ocr.lines) if i != index and i not in item_lines
                                and _same_row(o, line) and _left(o) > _left(line)), key=lambda i: _left(ocr.lines[i]))
        for i in row:
            parsed = parse_amount(_PERCENT.sub(" ", ocr.lines[i].text), currency)
            if parsed is not None and abs(parsed[0]) == rows_sum:
                return ocr.lines[i].text.strip(), tuple(sorted({index, i}))
    return None


def _vat_rate(ocr: OcrResult) -> Decimal | None:
    for line in ocr.lines:
        folded = fold(line.text)
        if any(c in folded for c in _RATE_CAPTIONS):
            texts = [line.text] + [o.text for o in ocr.lines if o is not line and _same_row(o, line)]
            for text in texts:
                m = _PERCENT.search(text)
                if m:
                    return Decimal(m.group(1).replace(",", "."))
    return None


def _check(name: str, ok: bool, expected: Decimal, found: Decimal, **extra) -> dict:
    return {"name": name, "ok": ok, "expected": amount_string(expected), "found": amount_string(found), **extra}


def _skipped(name: str, reason: str) -> dict:
    """A check that compared nothing: ``ok`` None and why."""
    return {"name": name, "ok": None, "skipped": reason}


def _shared(reads: dict[str, _Read | None]) -> tuple[str, str] | None:
    """The first two of ``reads`` read from a common line (so not independent), or None."""
    named = [(k, r) for k, r in reads.items() if r is not None and r.lines]
    for i, (a, ra) in enumerate(named):
        for b, rb in named[i + 1:]:
            if ra.lines & rb.lines:
                return a, b
    return None


_LABELS = {"subtotal": "subtotal", "tax_amount": "tax", "total": "total"}


def apply_checks(items: list[LineItem], details: dict, ocr: OcrResult, *,
                 exact: bool = False) -> tuple[dict, list[LineItem]]:
    """Run the checks and fold their outcome into confidences.

    A check compares values read independently, from different lines: a total
    read from the same line as the subtotal (one cell read twice), or a subtotal
    read from an item's own row, is not evidence, and the check is recorded as
    skipped with the reason, as is a check whose inputs were not read.

    Args:
        items: the document's line items.
        details: field key -> :class:`app.extraction.fields.FieldResult`; the
            ``subtotal``, ``tax_amount`` and ``total`` entries are read and
            replaced with checked copies (confidence and ``checks["arithmetic"]``).
        ocr: the document's lines (for the printed VAT rate, discount and rounding).
        exact: the amounts are stated, not read (e-invoice XML): sums must agree to
            the cent and products within one unit of the last decimal, instead of the
            printed-document tolerance (one unit or 0.1 %, which on a 100,000 total would
            let an XML be 100 off).

    Returns:
        ``(checks, items)``: ``checks`` is ``{"ok": bool | None, "failed": [names],
        "skipped": [names], "results": [{name, ok, expected, found, ...} or {name,
        ok: None, skipped: reason}]}`` (``ok`` None when no check compared
        anything); items with their row check and adjusted confidence.
    """
    from app.classify.language import is_vietnamese

    results: list[dict] = []
    checked_items = []
    for n, item in enumerate(items):
        if item.quantity is not None and item.unit_price is not None and item.amount is not None:
            expected = item.quantity * item.unit_price
            ok = _product_agrees(expected, item.amount, item.unit_price, exact=exact)
            results.append(_check("row_amount", ok, expected, item.amount, row=n + 1))
            conf = 1 - (1 - item.confidence) / 2 if ok else item.confidence / 2
            item = dataclasses.replace(item, confidence=conf, checks={"quantity_x_unit_price": ok})
        checked_items.append(item)

    reads = {k: _amount(details, k) for k in ("subtotal", "tax_amount", "total")}
    currency = next((r.normalized.get("currency") for k in ("total", "subtotal") if (r := details.get(k)) is not None
                     and isinstance(r.normalized, dict)), None)
    # Types without subtotal/tax fields (orders, receipts): the printed captions, but not on an
    # item's own row (a till's "VAT10% | 7,000.00 | 7,000.00" is that item's rate and price).
    item_rows = frozenset(i for item in items for i in item.line_indices)
    for key, captions in (("subtotal", _SUBTOTAL_CAPTIONS), ("tax_amount", _TAX_CAPTIONS)):
        if key not in details:
            reads[key] = _captioned_amount(ocr, captions, currency, skip=item_rows)
    subtotal, tax, total = reads["subtotal"], reads["tax_amount"], reads["total"]
    covered: dict[str, list[bool]] = {}

    amounts = [i.amount for i in items if i.amount is not None]
    # With no subtotal, the rows add up to the total when no tax is read, or a tax of 0 (AWS's "Tax $0.00").
    untaxed = tax is None or tax.value == 0
    target_key = "subtotal" if subtotal is not None else ("total" if untaxed and total is not None else None)
    if not amounts:
        results.append(_skipped("rows_sum", "no line item amounts read"))
    elif target_key is None:
        results.append(_skipped("rows_sum", "no subtotal read (and a total with tax is not the rows' sum)"))
    else:
        target = reads[target_key]
        item_lines = frozenset(i for item in items for i in item.line_indices)
        if target.lines & item_lines:
            results.append(_skipped("rows_sum", f"the {_LABELS[target_key]} was read from a line item's row"))
        else:
            rows_sum = sum(amounts, Decimal(0))
            ok = _sum_agrees(rows_sum, target.value, *amounts, exact=exact)
            chosen = None if ok or target_key != "total" or "total" not in details else \
                _total_of_rows(ocr, rows_sum, target, item_lines, currency)
            if chosen is not None:
                # The readers took an amount printed under no total caption (a till's cash paid)
                # and the rows add up to the one under the total caption: the sum decides.
                old = details["total"]
                details["total"] = dataclasses.replace(
                    old, value=chosen[0], normalized={"amount": amount_string(rows_sum), "currency": currency},
                    line_indices=chosen[1], source="rule", grounded=True,
                    checks={"reader": "rows_sum", "replaced": old.value})
                results.append(_check("rows_sum", True, rows_sum, rows_sum, against="total",
                                      total_read_before=amount_string(target.value)))
                covered.setdefault("total", []).append(True)
            else:
                results.append(_check("rows_sum", ok, rows_sum, target.value, against=target_key))
                covered.setdefault(target_key, []).append(ok)

    if subtotal is None or total is None:
        missing = " and ".join(_LABELS[k] for k in ("subtotal", "total") if reads[k] is None)
        results.append(_skipped("total", f"no {missing} read"))
    elif (same := _shared({"subtotal": subtotal, "tax_amount": tax, "total": total})) is not None:
        results.append(_skipped("total", f"the {_LABELS[same[0]]} and the {_LABELS[same[1]]} were read "
                                         "from the same line"))
    else:
        discount = _captioned_amount(ocr, _DISCOUNT_CAPTIONS, currency)
        rounding = _captioned_amount(ocr, _ROUNDING_CAPTIONS, currency)
        discount_v = discount.value if discount is not None else Decimal(0)
        rounding_v = rounding.value if rounding is not None else Decimal(0)
        tax_v = tax.value if tax is not None else Decimal(0)
        sub_v, total_v = subtotal.value, total.value
        options = [sub_v + tax_v - discount_v + rounding_v, sub_v + tax_v + rounding_v,
                   sub_v + tax_v - discount_v - rounding_v]
        expected = next((o for o in options if _sum_agrees(o, total_v, sub_v, tax_v, exact=exact)), options[0])
        ok = _sum_agrees(expected, total_v, sub_v, tax_v, exact=exact)
        extra = {k: amount_string(v) for k, v in (("discount", discount_v), ("rounding", rounding_v)) if v}
        results.append(_check("total", ok, expected, total_v, **extra))
        for key in ("subtotal", "tax_amount", "total"):
            if key != "tax_amount" or tax is not None:
                covered.setdefault(key, []).append(ok)

    rate = _vat_rate(ocr)
    vietnamese = rate is not None and is_vietnamese(ocr)
    independent = subtotal is not None and tax is not None and not (subtotal.lines & tax.lines)
    if rate is None:
        results.append(_skipped("vat_rate", "no VAT rate printed"))
    elif not vietnamese and not independent:
        results.append(_skipped("vat_rate", "no rates in force known for this page's language, and no "
                                            "subtotal and tax read apart to compare the rate with"))
    else:
        allowed = rate in VN_VAT_RATES if vietnamese else True
        entry = {"name": "vat_rate", "ok": allowed, "rate": amount_string(rate)}
        if independent:
            expected = subtotal.value * rate / 100
            matches = _product_agrees(expected, tax.value, subtotal.value, exact=exact)
            entry.update(ok=allowed and matches, expected=amount_string(expected), found=amount_string(tax.value))
            covered.setdefault("tax_amount", []).append(matches)
        if vietnamese:
            entry["allowed_rates"] = [amount_string(r) for r in VN_VAT_RATES]
        results.append(entry)

    for key, outcomes in covered.items():
        result = details.get(key)
        if result is None or result.value is None:
            continue
        ok = all(outcomes)
        conf = 1 - (1 - result.confidence) / 2 if ok else result.confidence / 2
        details[key] = dataclasses.replace(result, confidence=min(conf, 1.0),
                                           checks={**result.checks, "arithmetic": ok})
    ran = [r for r in results if r["ok"] is not None]
    failed = [r["name"] + (f"[{r['row']}]" if "row" in r else "") for r in ran if not r["ok"]]
    skipped = [r["name"] for r in results if r["ok"] is None]
    summary = {"ok": (not failed) if ran else None, "failed": failed, "skipped": skipped, "results": results}
    return summary, checked_items
