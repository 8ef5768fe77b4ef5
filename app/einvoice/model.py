"""Typed results of the e-invoice readers (:mod:`app.einvoice`).

Amounts are :class:`decimal.Decimal` exactly as the XML states them (no rounding,
no float), dates are :class:`datetime.date`, text is NFC with whitespace collapsed.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(frozen=True)
class EInvoiceLine:
    """One invoice line as the XML states it.

    Attributes:
        line_id: the line's number (CII ``LineID``, UBL ``cbc:ID``, Vietnamese ``STT``).
        description: item name.
        quantity: billed quantity, in ``unit``.
        unit: unit of measure: a UN/ECE Recommendation 20 code in CII/UBL (``C62``,
            ``KGM``, ``HUR``), free text in Vietnamese invoices (``DVTinh``: ``cái``, ``kg``).
        unit_price: net price of one ``unit`` (CII/UBL: the price divided by its base quantity).
        amount: the line's net amount (before tax), in the invoice currency; negative for
            a Vietnamese commercial-discount row (``TChat`` 3).
        tax_rate: the line's VAT rate as stated: a percentage string (``"20"``, ``"8"``)
            or a Vietnamese category (``KCT``: not subject, ``KKKNT``: not declared).
    """

    line_id: str | None
    description: str | None
    quantity: Decimal | None
    unit: str | None
    unit_price: Decimal | None
    amount: Decimal | None
    tax_rate: str | None = None


@dataclass(frozen=True)
class EInvoice:
    """The header fields and lines of one e-invoice.

    Attributes:
        format: ``cii`` (UN/CEFACT Cross Industry Invoice D16B: Factur-X, ZUGFeRD 2,
            XRechnung CII), ``ubl`` (OASIS UBL 2.1 Invoice) or ``vn`` (Vietnamese
            e-invoice, Decree 123/2020/NĐ-CP, Circular 78/2021/TT-BTC).
        profile: CII guideline ID (``urn:cen.eu:en16931:2017``, ...), UBL
            ``CustomizationID``, Vietnamese format version ``PBan``; None if absent.
        attachment: the file name of the XML inside its PDF; None for an XML upload.
        type_code: UNTDID 1001 document type (``380`` invoice, ``381`` credit note) for
            CII/UBL; the Vietnamese template number ``KHMSHDon`` (``1``: VAT invoice).
        invoice_number: CII/UBL document ID; Vietnamese ``SHDon``.
        invoice_series: Vietnamese ``KHHDon`` (``C24TAA``), None elsewhere.
        date: issue date.
        currency: ISO 4217 code of the invoice currency.
        seller, seller_tax_code, seller_address: the seller's name, VAT / tax number
            (``SpecifiedTaxRegistration`` with scheme ``VA`` first, UBL ``PartyTaxScheme``,
            Vietnamese ``MST``) and one-line address.
        buyer, buyer_tax_code, buyer_address: the same for the buyer.
        subtotal: total before tax (CII ``TaxBasisTotalAmount``, UBL ``TaxExclusiveAmount``,
            Vietnamese ``TgTCThue``).
        tax_amount: total VAT (``TaxTotalAmount`` in the invoice currency, UBL
            ``TaxTotal/TaxAmount``, ``TgTThue``).
        total: total with tax (``GrandTotalAmount``, ``TaxInclusiveAmount``, ``TgTTTBSo``).
        line_total: sum of the lines' net amounts (``LineTotalAmount``,
            ``LineExtensionAmount``), None where the format has none (Vietnamese).
        allowance_total, charge_total: document-level allowances and charges
            (Vietnamese ``TTCKTMai``: commercial discount); None when absent.
        lines: the invoice lines in order (empty for CII MINIMUM / BASIC WL profiles).
    """

    format: str
    profile: str | None = None
    attachment: str | None = None
    type_code: str | None = None
    invoice_number: str | None = None
    invoice_series: str | None = None
    date: _dt.date | None = None
    currency: str | None = None
    seller: str | None = None
    seller_tax_code: str | None = None
    seller_address: str | None = None
    buyer: str | None = None
    buyer_tax_code: str | None = None
    buyer_address: str | None = None
    subtotal: Decimal | None = None
    tax_amount: Decimal | None = None
    total: Decimal | None = None
    line_total: Decimal | None = None
    allowance_total: Decimal | None = None
    charge_total: Decimal | None = None
    lines: tuple[EInvoiceLine, ...] = field(default_factory=tuple)

    def summary(self) -> dict:
        """The response's ``einvoice`` entry: what was read besides the fields
        (``{format, profile, attachment, type_code, invoice_series, currency,
        seller_address, buyer_tax_code, buyer_address, line_count}``; amounts are
        in the fields)."""
        return {"format": self.format, "profile": self.profile, "attachment": self.attachment,
                "type_code": self.type_code, "invoice_series": self.invoice_series, "currency": self.currency,
                "seller_address": self.seller_address, "buyer_tax_code": self.buyer_tax_code,
                "buyer_address": self.buyer_address, "line_count": len(self.lines)}
