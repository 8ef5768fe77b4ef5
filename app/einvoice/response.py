"""An :class:`EInvoice` in the pipeline's terms: fields, line items, checks, and the
comparison of a PDF's visual reading with its embedded XML.

* Fields: each field of the ``invoice`` document type (:mod:`app.extraction.doctypes`)
  the XML states becomes a :class:`~app.extraction.fields.FieldResult` with ``source:
  "xml"``, confidence 1.0, no box (the value was not read from a page), ``grounded``
  true (it is the document's own data, like a QR payload). ``value``: the XML's text,
  dates as ISO 8601 (``20240131`` -> ``2024-01-31``); ``normalized`` as for any field.
* Line items: :class:`~app.extraction.line_items.LineItem` rows with confidence 1.0,
  plus the line's ``tax_rate`` as the XML states it.
* Checks: the arithmetic checks of :mod:`app.extraction.checks` on the XML's own
  numbers (an e-invoice can be inconsistent), with ``rows_sum`` against the XML's sum
  of line amounts (CII ``LineTotalAmount``, UBL ``LineExtensionAmount``) where it has
  one, since document-level allowances and charges lie between that sum and the amount
  before tax; the XML values keep confidence 1.0 whatever the checks say.
* ``checks.xml_agreement``: per field, the XML value, the visual value (text layer or
  OCR, then the readers and the LLM) and whether they agree (same date, same amount,
  same digits of a tax code, same invoice number ignoring spaces, case and leading
  zeros, same text ignoring case, diacritics and spacing); ``agree: null`` with
  ``skipped`` where the visual reading has nothing (or the XML has nothing).
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal, InvalidOperation

from app.domain import OcrResult
from app.einvoice.model import EInvoice
from app.extraction.doctypes import DOCUMENT_NUMBER_KEYS, DOCUMENT_TYPES
from app.extraction.fields import FieldResult
from app.extraction.line_items import LineItem
from app.extraction.normalize import amount_string, fold, normalize_value

#: The document type whose fields an e-invoice answers.
INVOICE = "invoice"
#: Source of values read from e-invoice XML.
SOURCE = "xml"


def xml_fields(invoice: EInvoice) -> dict[str, FieldResult]:
    """The ``invoice`` fields the XML states (absent ones are left out).

    Returns:
        field key (``seller``, ``seller_tax_code``, ``buyer``, ``invoice_number``, ``date``,
        ``subtotal``, ``tax_amount``, ``total``) -> result with ``source: "xml"``, confidence 1.0.
    """
    out: dict[str, FieldResult] = {}
    for spec in DOCUMENT_TYPES[INVOICE].fields:
        raw = getattr(invoice, spec.key, None)
        if raw is None:
            continue
        if spec.kind == "date":
            value = normalized = raw.isoformat()
        elif spec.kind == "amount":
            value = format(raw, "f")
            normalized = {"amount": value, "currency": invoice.currency}
        else:
            value = str(raw)
            normalized = normalize_value(spec.kind, value)
        out[spec.key] = FieldResult(value, normalized, 1.0, SOURCE, (), True)
    return out


def xml_line_items(invoice: EInvoice) -> list[LineItem]:
    """The XML's lines as :class:`LineItem` rows (confidence 1.0, no OCR lines)."""
    return [LineItem(line.description, line.quantity, line.unit, line.unit_price, line.amount, (), 1.0)
            for line in invoice.lines]


def xml_rows(invoice: EInvoice, items: list[LineItem]) -> tuple[LineItem, ...]:
    """Response rows of ``items`` (from :func:`xml_line_items`, checked): confidence 1.0,
    ``page``/``box`` None, and ``tax_rate`` where the XML states one."""
    return tuple(dataclasses.replace(item, confidence=1.0, page=None, box=None, tax_rate=line.tax_rate)
                 for line, item in zip(invoice.lines, items))


def _summary(results: list[dict]) -> dict:
    """The checks' summary, as :func:`app.extraction.checks.apply_checks` builds it."""
    ran = [r for r in results if r["ok"] is not None]
    failed = [r["name"] + (f"[{r['row']}]" if "row" in r else "") for r in ran if not r["ok"]]
    skipped = [r["name"] for r in results if r["ok"] is None]
    return {"ok": (not failed) if ran else None, "failed": failed, "skipped": skipped, "results": results}


def xml_checks(invoice: EInvoice, fields: dict[str, FieldResult]) -> tuple[dict, list[LineItem]]:
    """Arithmetic checks of the XML's numbers (see the module docstring), exact: the sums
    (rows to line total, subtotal + tax to total) must agree to the cent, as EN 16931's
    BR-CO-10, BR-CO-13 and BR-CO-15 require; products (quantity x price) within one unit
    of the last decimal, the rounding EN 16931 allows a line's net amount.

    Args:
        invoice: the e-invoice.
        fields: :func:`xml_fields` of it (not changed).

    Returns:
        ``(checks, items)``: the checks summary ``{ok, failed, skipped, results}`` and the
        line items with their row checks.
    """
    from app.extraction.checks import _check, _skipped, _sum_agrees, apply_checks

    items = xml_line_items(invoice)
    empty = OcrResult((), 0, 0, 0.0, 0.0, SOURCE)
    summary, checked = apply_checks(items, dict(fields), empty, exact=True)
    results = []
    for result in summary["results"]:
        if result["name"] == "rows_sum" and invoice.line_total is not None and items:
            amounts = [i.amount for i in items if i.amount is not None]
            if amounts:
                rows_sum = sum(amounts, Decimal(0))
                result = _check("rows_sum", _sum_agrees(rows_sum, invoice.line_total, *amounts, exact=True), rows_sum,
                                invoice.line_total, against="line_total")
        elif result["name"] == "vat_rate" and result["ok"] is None:
            result = _skipped("vat_rate", "not checked on XML: each line states its rate (line_items[].tax_rate)")
        results.append(result)
    return _summary(results), checked


def _decimal(normalized: object, value: str | None) -> Decimal | None:
    raw = normalized.get("amount") if isinstance(normalized, dict) else None
    try:
        return Decimal(str(raw)) if raw is not None else None
    except InvalidOperation:
        return None


def _number_form(text: str) -> str:
    compact = "".join(fold(text).split())
    if compact.isdigit():
        return compact.lstrip("0") or "0"
    return compact


def agree(key: str, kind: str, xml: FieldResult, visual: FieldResult) -> bool:
    """Whether the visual reading of field ``key`` (of ``kind``) says what the XML says."""
    if kind == "amount":
        a, b = _decimal(xml.normalized, xml.value), _decimal(visual.normalized, visual.value)
        return a is not None and a == b
    if kind in ("date", "id_number"):
        return xml.normalized is not None and xml.normalized == visual.normalized
    if key in DOCUMENT_NUMBER_KEYS:
        return _number_form(xml.value) == _number_form(visual.value)
    return " ".join(fold(xml.value).split()).strip(" .,;:") == " ".join(fold(visual.value).split()).strip(" .,;:")


def merge(invoice: EInvoice, visual: dict[str, FieldResult],
          visual_amounts: list[Decimal | None] | None) -> tuple[dict[str, FieldResult], dict]:
    """The fields of a PDF that embeds an e-invoice: the XML's, compared with the visual reading's.

    Args:
        invoice: the embedded e-invoice.
        visual: field key -> result of the visual reading (the caller's keys; a key mapped
            onto a known field by ``info`` carries ``matched_field``).
        visual_amounts: the amounts of the line items read from the pages (None for a row
            without one), in order; None or empty when none were read.

    Returns:
        ``(fields, agreement)``: ``fields`` with the XML's value for every key whose field
        the XML states (the visual value where it does not; caller keys kept), and
        ``agreement`` = ``checks.xml_agreement``: ``{ok: bool | None, disagree: [keys],
        skipped: [keys], fields: {key: {xml, visual, agree, visual_source} | {xml, visual,
        agree: None, skipped: reason}}, line_items: {xml_count, visual_count, agree} |
        {..., agree: None, skipped}}``; ``ok`` is None when nothing was compared.
    """
    specs = {s.key: s for s in DOCUMENT_TYPES[INVOICE].fields}
    stated = xml_fields(invoice)
    fields: dict[str, FieldResult] = {}
    entries: dict[str, dict] = {}
    for key, result in visual.items():
        field = result.matched_field if result.mapped else key
        spec = specs.get(field or "")
        if spec is None:
            fields[key] = result
            continue
        xml = stated.get(field)
        if xml is None:
            fields[key] = result
            entries[key] = {"xml": None, "visual": result.value, "agree": None, "skipped": "the XML states no value"}
            continue
        fields[key] = dataclasses.replace(xml, matched_field=result.matched_field, mapped=result.mapped)
        if result.value is None:
            entries[key] = {"xml": xml.value, "visual": None, "agree": None, "skipped": "the visual reading has nothing"}
        else:
            entries[key] = {"xml": xml.value, "visual": result.value, "agree": agree(field, spec.kind, xml, result),
                            "visual_source": result.source}
    rows = _compare_rows(invoice, visual_amounts)
    compared = [e["agree"] for e in (*entries.values(), rows) if e["agree"] is not None]
    agreement = {"ok": all(compared) if compared else None,
                 "disagree": [k for k, e in entries.items() if e["agree"] is False],
                 "skipped": [k for k, e in entries.items() if e["agree"] is None],
                 "fields": entries, "line_items": rows}
    return fields, agreement


def _compare_rows(invoice: EInvoice, visual_amounts: list[Decimal | None] | None) -> dict:
    xml_amounts = [line.amount for line in invoice.lines]
    if not visual_amounts:
        return {"xml_count": len(xml_amounts), "visual_count": 0, "agree": None,
                "skipped": "the visual reading found no line items"}
    if not xml_amounts:
        return {"xml_count": 0, "visual_count": len(visual_amounts), "agree": None,
                "skipped": "the XML states no lines (a MINIMUM or BASIC WL profile)"}
    same = len(xml_amounts) == len(visual_amounts) and all(
        a is not None and b is not None and a == b for a, b in zip(xml_amounts, visual_amounts))
    out = {"xml_count": len(xml_amounts), "visual_count": len(visual_amounts), "agree": same}
    if not same:
        out["xml_amounts"] = [None if a is None else amount_string(a) for a in xml_amounts]
        out["visual_amounts"] = [None if b is None else amount_string(b) for b in visual_amounts]
    return out


def no_visual_agreement() -> dict:
    """``checks.xml_agreement`` of an XML upload: nothing visual to compare."""
    return {"ok": None, "skipped": "the upload is XML only: there is no visual reading to compare"}
