"""UN/CEFACT Cross Industry Invoice (CII, D16B schema) -> :class:`EInvoice`.

The XML of Factur-X 1.0 (all profiles: MINIMUM, BASIC WL, BASIC, EN 16931, EXTENDED),
ZUGFeRD 2.x and XRechnung's CII syntax. Paths follow the EN 16931-3-3 binding of the
semantic model (EN 16931-1) to CII:

* number ``ExchangedDocument/ID`` (BT-1), type ``ExchangedDocument/TypeCode`` (BT-3),
  date ``ExchangedDocument/IssueDateTime/DateTimeString`` with ``format="102"``
  (``YYYYMMDD``, BT-2);
* parties under ``SupplyChainTradeTransaction/ApplicableHeaderTradeAgreement``:
  ``SellerTradeParty`` / ``BuyerTradeParty`` with ``Name`` (BT-27/BT-44),
  ``SpecifiedTaxRegistration/ID`` (``schemeID`` ``VA``: VAT number, BT-31/BT-48;
  ``FC``: tax number, BT-32) and ``PostalTradeAddress``;
* totals in ``ApplicableHeaderTradeSettlement/SpecifiedTradeSettlementHeaderMonetarySummation``:
  ``LineTotalAmount`` (BT-106), ``AllowanceTotalAmount`` (BT-107), ``ChargeTotalAmount``
  (BT-108), ``TaxBasisTotalAmount`` (BT-109), ``TaxTotalAmount`` in the invoice
  currency ``InvoiceCurrencyCode`` (BT-110, BT-5), ``GrandTotalAmount`` (BT-112);
* lines ``IncludedSupplyChainTradeLineItem`` (BG-25): ``AssociatedDocumentLineDocument/LineID``,
  ``SpecifiedTradeProduct/Name``, ``SpecifiedLineTradeAgreement/NetPriceProductTradePrice``
  (``ChargeAmount`` per ``BasisQuantity``, BT-146/BT-149), ``SpecifiedLineTradeDelivery/
  BilledQuantity`` with ``unitCode`` (BT-129/BT-130), ``SpecifiedLineTradeSettlement``
  (``ApplicableTradeTax/RateApplicablePercent``, BT-152; ``SpecifiedTradeSettlementLineMonetarySummation/
  LineTotalAmount``, BT-131).
"""

from __future__ import annotations

import datetime as _dt
from decimal import Decimal
from xml.etree.ElementTree import Element

from app.einvoice.model import EInvoice, EInvoiceLine
from app.einvoice.xmltree import children, clean, decimal, find, local, namespace, text
from app.errors import InvalidXml

#: Root element and the namespace of CII D16B (``rsm:CrossIndustryInvoice``).
ROOT = "CrossIndustryInvoice"
NAMESPACE = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"

_TRADE = "SupplyChainTradeTransaction"
_AGREEMENT = f"{_TRADE}/ApplicableHeaderTradeAgreement"
_SETTLEMENT = f"{_TRADE}/ApplicableHeaderTradeSettlement"
_SUMS = f"{_SETTLEMENT}/SpecifiedTradeSettlementHeaderMonetarySummation"


def is_cii(root: Element) -> bool:
    """Whether ``root`` is a CII invoice (root name and namespace)."""
    return local(root.tag) == ROOT and namespace(root.tag) == NAMESPACE


def parse_date_102(raw: str | None, what: str) -> _dt.date | None:
    """A UNTDID 2379 format ``102`` date (``YYYYMMDD``); ISO ``YYYY-MM-DD`` is accepted too.

    Raises:
        InvalidXml: any other text.
    """
    if raw is None:
        return None
    digits = raw.replace("-", "") if len(raw) == 10 else raw
    try:
        if len(digits) == 8 and digits.isdigit():
            return _dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        pass
    shown = raw if len(raw) <= 40 else raw[:40] + "…"
    raise InvalidXml(f"{what} holds {shown!r}, not a date YYYYMMDD (format 102)")


def _tax_code(party: Element | None) -> str | None:
    ids = [i for reg in children(party, "SpecifiedTaxRegistration") for i in children(reg, "ID")]
    ranked = sorted(ids, key=lambda i: {"VA": 0, "FC": 1}.get(i.get("schemeID", ""), 2))
    return next((t for i in ranked if (t := text(i))), None)


def _address(party: Element | None) -> str | None:
    address = find(party, "PostalTradeAddress")
    if address is None:
        return None
    parts = [text(address, name) for name in ("LineOne", "LineTwo", "LineThree")]
    city = " ".join(p for p in (text(address, "PostcodeCode"), text(address, "CityName")) if p)
    parts += [city, text(address, "CountrySubDivisionName"), text(address, "CountryID")]
    return clean(", ".join(p for p in parts if p))


def _amount_in(elements: list[Element], currency: str | None) -> Decimal | None:
    """The amount among ``elements`` in ``currency`` (``currencyID``; one without it counts as the
    invoice currency): ``TaxTotalAmount`` may be given twice, in the invoice and the tax currency."""
    chosen = next((e for e in elements if e.get("currencyID") in (None, currency)), elements[0] if elements else None)
    return decimal(chosen) if chosen is not None else None


def _line(item: Element) -> EInvoiceLine:
    price_el = find(item, "SpecifiedLineTradeAgreement/NetPriceProductTradePrice")
    price = decimal(price_el, "ChargeAmount")
    basis = decimal(price_el, "BasisQuantity")
    if price is not None and basis is not None and basis not in (0, 1):
        price = price / basis
    quantity_el = find(item, "SpecifiedLineTradeDelivery/BilledQuantity")
    rate = decimal(item, "SpecifiedLineTradeSettlement/ApplicableTradeTax/RateApplicablePercent")
    return EInvoiceLine(
        line_id=text(item, "AssociatedDocumentLineDocument/LineID"),
        description=text(item, "SpecifiedTradeProduct/Name"),
        quantity=decimal(quantity_el),
        unit=quantity_el.get("unitCode") if quantity_el is not None else None,
        unit_price=price,
        amount=decimal(item, "SpecifiedLineTradeSettlement/SpecifiedTradeSettlementLineMonetarySummation/"
                             "LineTotalAmount"),
        tax_rate=None if rate is None else format(rate.normalize(), "f"),
    )


def read_cii(root: Element) -> EInvoice:
    """Read a CII invoice.

    Args:
        root: the ``CrossIndustryInvoice`` element (:func:`is_cii`).

    Returns:
        The invoice; fields the XML does not carry are None.

    Raises:
        InvalidXml: an amount that is not a decimal, a date that is not ``YYYYMMDD``.
    """
    seller = find(root, f"{_AGREEMENT}/SellerTradeParty")
    buyer = find(root, f"{_AGREEMENT}/BuyerTradeParty")
    currency = text(root, f"{_SETTLEMENT}/InvoiceCurrencyCode")
    sums = find(root, _SUMS)
    return EInvoice(
        format="cii",
        profile=text(root, "ExchangedDocumentContext/GuidelineSpecifiedDocumentContextParameter/ID"),
        type_code=text(root, "ExchangedDocument/TypeCode"),
        invoice_number=text(root, "ExchangedDocument/ID"),
        date=parse_date_102(text(root, "ExchangedDocument/IssueDateTime/DateTimeString"), "IssueDateTime"),
        currency=currency,
        seller=text(seller, "Name"), seller_tax_code=_tax_code(seller), seller_address=_address(seller),
        buyer=text(buyer, "Name"), buyer_tax_code=_tax_code(buyer), buyer_address=_address(buyer),
        subtotal=decimal(sums, "TaxBasisTotalAmount"),
        tax_amount=_amount_in(children(sums, "TaxTotalAmount"), currency),
        total=decimal(sums, "GrandTotalAmount"),
        line_total=decimal(sums, "LineTotalAmount"),
        allowance_total=decimal(sums, "AllowanceTotalAmount"),
        charge_total=decimal(sums, "ChargeTotalAmount"),
        lines=tuple(_line(item) for item in children(find(root, _TRADE), "IncludedSupplyChainTradeLineItem")),
    )
