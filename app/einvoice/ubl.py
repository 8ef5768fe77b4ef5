"""OASIS UBL 2.1 Invoice -> :class:`EInvoice`.

The ``Invoice`` document of UBL 2.1 (namespace
``urn:oasis:names:specification:ubl:schema:xsd:Invoice-2``), as used by Peppol BIS
Billing 3.0 and XRechnung's UBL syntax, following the EN 16931-3-2 binding:
``cbc:ID`` (BT-1), ``cbc:IssueDate`` (BT-2), ``cbc:InvoiceTypeCode`` (BT-3),
``cbc:DocumentCurrencyCode`` (BT-5); parties ``cac:AccountingSupplierParty/cac:Party``
and ``cac:AccountingCustomerParty/cac:Party`` (``cac:PartyLegalEntity/cbc:RegistrationName``
or ``cac:PartyName/cbc:Name``, ``cac:PartyTaxScheme/cbc:CompanyID``, ``cac:PostalAddress``);
``cac:LegalMonetaryTotal`` (``LineExtensionAmount`` BT-106, ``TaxExclusiveAmount`` BT-109,
``TaxInclusiveAmount`` BT-112, ``AllowanceTotalAmount``, ``ChargeTotalAmount``);
``cac:TaxTotal/cbc:TaxAmount`` in the document currency (BT-110); lines
``cac:InvoiceLine`` (``cbc:ID``, ``cbc:InvoicedQuantity`` with ``unitCode``,
``cbc:LineExtensionAmount``, ``cac:Item/cbc:Name``, ``cac:Item/cac:ClassifiedTaxCategory/cbc:Percent``,
``cac:Price/cbc:PriceAmount`` per ``cac:Price/cbc:BaseQuantity``). Credit notes
(``CreditNote``) are not read.
"""

from __future__ import annotations

import datetime as _dt
from xml.etree.ElementTree import Element

from app.einvoice.cii import parse_date_102
from app.einvoice.model import EInvoice, EInvoiceLine
from app.einvoice.xmltree import children, clean, decimal, find, local, namespace, text

ROOT = "Invoice"
NAMESPACE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"


def is_ubl(root: Element) -> bool:
    """Whether ``root`` is a UBL 2.x ``Invoice``."""
    return local(root.tag) == ROOT and namespace(root.tag) == NAMESPACE


def _party(root: Element, role: str) -> Element | None:
    return find(root, f"{role}/Party")


def _name(party: Element | None) -> str | None:
    return text(party, "PartyLegalEntity/RegistrationName") or text(party, "PartyName/Name")


def _address(party: Element | None) -> str | None:
    address = find(party, "PostalAddress")
    if address is None:
        return None
    city = " ".join(p for p in (text(address, "PostalZone"), text(address, "CityName")) if p)
    parts = [text(address, "StreetName"), text(address, "AdditionalStreetName"), text(address, "AddressLine/Line"),
             city, text(address, "CountrySubentity"), text(address, "Country/IdentificationCode")]
    return clean(", ".join(p for p in parts if p))


def _line(line: Element) -> EInvoiceLine:
    quantity_el = find(line, "InvoicedQuantity")
    price = decimal(line, "Price/PriceAmount")
    basis = decimal(line, "Price/BaseQuantity")
    if price is not None and basis is not None and basis not in (0, 1):
        price = price / basis
    rate = decimal(line, "Item/ClassifiedTaxCategory/Percent")
    return EInvoiceLine(
        line_id=text(line, "ID"),
        description=text(line, "Item/Name") or text(line, "Item/Description"),
        quantity=decimal(quantity_el),
        unit=quantity_el.get("unitCode") if quantity_el is not None else None,
        unit_price=price,
        amount=decimal(line, "LineExtensionAmount"),
        tax_rate=None if rate is None else format(rate.normalize(), "f"),
    )


def read_ubl(root: Element) -> EInvoice:
    """Read a UBL 2.1 invoice.

    Raises:
        InvalidXml: an amount that is not a decimal, an issue date that is not ``YYYY-MM-DD``.
    """
    currency = text(root, "DocumentCurrencyCode")
    seller, buyer = _party(root, "AccountingSupplierParty"), _party(root, "AccountingCustomerParty")
    totals = find(root, "LegalMonetaryTotal")
    taxes = [t for total in children(root, "TaxTotal") for t in children(total, "TaxAmount")]
    tax = next((t for t in taxes if t.get("currencyID") in (None, currency)), taxes[0] if taxes else None)
    issued: _dt.date | None = parse_date_102(text(root, "IssueDate"), "IssueDate")
    return EInvoice(
        format="ubl",
        profile=text(root, "CustomizationID"),
        type_code=text(root, "InvoiceTypeCode"),
        invoice_number=text(root, "ID"),
        date=issued,
        currency=currency,
        seller=_name(seller), seller_tax_code=text(seller, "PartyTaxScheme/CompanyID"), seller_address=_address(seller),
        buyer=_name(buyer), buyer_tax_code=text(buyer, "PartyTaxScheme/CompanyID"), buyer_address=_address(buyer),
        subtotal=decimal(totals, "TaxExclusiveAmount"),
        tax_amount=decimal(tax) if tax is not None else None,
        total=decimal(totals, "TaxInclusiveAmount"),
        line_total=decimal(totals, "LineExtensionAmount"),
        allowance_total=decimal(totals, "AllowanceTotalAmount"),
        charge_total=decimal(totals, "ChargeTotalAmount"),
        lines=tuple(_line(line) for line in children(root, "InvoiceLine")),
    )
