"""E-invoice XML built from the synthetic invoices of :mod:`tests.synthetic.kv_invoices`.

* :func:`cii_xml`: a UN/CEFACT CII D16B invoice of profile EN 16931 (Factur-X 1.0
  "EN 16931", ZUGFeRD 2 "COMFORT"), element order as in the Factur-X XSD;
* :func:`factur_x_pdf`: the rendered PDF with that XML embedded as ``factur-x.xml``
  by the ``factur-x`` library (``generate_from_binary``; its XSD check on);
* :func:`ubl_xml`: the same invoice as UBL 2.1 ``Invoice`` (Peppol BIS 3 shape);
* :func:`attach_xml`: any bytes attached to a PDF under any name (for malicious XML).

Everything is generated at test time from a seed; nothing is committed. The public
Factur-X / ZUGFeRD sample corpora are not used (they are kept for evaluation).
"""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from xml.sax.saxutils import escape

from tests.synthetic.kv_invoices import KvDocument, _lang, render_kv_pdf

CII_NS = ('xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100" '
          'xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100" '
          'xmlns:qdt="urn:un:unece:uncefact:data:standard:QualifiedDataType:100" '
          'xmlns:udt="urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"')
EN16931 = "urn:cen.eu:en16931:2017"


def currency_of(doc: KvDocument) -> str:
    """The currency the synthetic document prints (as in ``make_kv_document``)."""
    return {"vi": "VND", "en": "GBP", "pl": "PLN"}.get(doc.language[:2], "EUR")


def rate_of(doc: KvDocument) -> Decimal:
    """The document's VAT rate, percent."""
    return Decimal(_lang(doc.language)["tax_pct"])


def _money(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01')):f}"


def _country(doc: KvDocument) -> str:
    return _lang(doc.language)["country"]


def cii_xml(doc: KvDocument, *, lines: bool = True) -> bytes:
    """The invoice ``doc`` (``kind == "invoice"``) as CII XML, profile EN 16931.

    Args:
        doc: a synthetic invoice.
        lines: include the line items (EN 16931 requires at least one).

    Returns:
        UTF-8 XML bytes.
    """
    n, cur, rate = doc.normalized, currency_of(doc), rate_of(doc)
    e = lambda s: escape(str(s))  # noqa: E731
    issued = date.fromisoformat(n["date"]).strftime("%Y%m%d")
    items = []
    for k, item in enumerate(doc.items if lines else [], 1):
        items.append(f"""
    <ram:IncludedSupplyChainTradeLineItem>
      <ram:AssociatedDocumentLineDocument><ram:LineID>{k}</ram:LineID></ram:AssociatedDocumentLineDocument>
      <ram:SpecifiedTradeProduct><ram:Name>{e(item.description)}</ram:Name></ram:SpecifiedTradeProduct>
      <ram:SpecifiedLineTradeAgreement>
        <ram:NetPriceProductTradePrice><ram:ChargeAmount>{item.unit_price:f}</ram:ChargeAmount></ram:NetPriceProductTradePrice>
      </ram:SpecifiedLineTradeAgreement>
      <ram:SpecifiedLineTradeDelivery><ram:BilledQuantity unitCode="C62">{item.quantity:f}</ram:BilledQuantity></ram:SpecifiedLineTradeDelivery>
      <ram:SpecifiedLineTradeSettlement>
        <ram:ApplicableTradeTax><ram:TypeCode>VAT</ram:TypeCode><ram:CategoryCode>S</ram:CategoryCode><ram:RateApplicablePercent>{rate:f}</ram:RateApplicablePercent></ram:ApplicableTradeTax>
        <ram:SpecifiedTradeSettlementLineMonetarySummation><ram:LineTotalAmount>{_money(item.amount)}</ram:LineTotalAmount></ram:SpecifiedTradeSettlementLineMonetarySummation>
      </ram:SpecifiedLineTradeSettlement>
    </ram:IncludedSupplyChainTradeLineItem>""")
    subtotal, tax, total = Decimal(n["subtotal"]), Decimal(n["tax_amount"]), Decimal(n["total"])
    xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<rsm:CrossIndustryInvoice {CII_NS}>
  <rsm:ExchangedDocumentContext>
    <ram:GuidelineSpecifiedDocumentContextParameter><ram:ID>{EN16931}</ram:ID></ram:GuidelineSpecifiedDocumentContextParameter>
  </rsm:ExchangedDocumentContext>
  <rsm:ExchangedDocument>
    <ram:ID>{e(n["invoice_number"])}</ram:ID>
    <ram:TypeCode>380</ram:TypeCode>
    <ram:IssueDateTime><udt:DateTimeString format="102">{issued}</udt:DateTimeString></ram:IssueDateTime>
  </rsm:ExchangedDocument>
  <rsm:SupplyChainTradeTransaction>{"".join(items)}
    <ram:ApplicableHeaderTradeAgreement>
      <ram:SellerTradeParty>
        <ram:Name>{e(n["seller"])}</ram:Name>
        <ram:PostalTradeAddress><ram:LineOne>1 Synthetic Street</ram:LineOne><ram:CityName>Testville</ram:CityName><ram:CountryID>{_country(doc)}</ram:CountryID></ram:PostalTradeAddress>
        <ram:SpecifiedTaxRegistration><ram:ID schemeID="VA">{e(n["seller_tax_code"])}</ram:ID></ram:SpecifiedTaxRegistration>
      </ram:SellerTradeParty>
      <ram:BuyerTradeParty>
        <ram:Name>{e(n["buyer"])}</ram:Name>
        <ram:PostalTradeAddress><ram:CountryID>{_country(doc)}</ram:CountryID></ram:PostalTradeAddress>
      </ram:BuyerTradeParty>
    </ram:ApplicableHeaderTradeAgreement>
    <ram:ApplicableHeaderTradeDelivery/>
    <ram:ApplicableHeaderTradeSettlement>
      <ram:InvoiceCurrencyCode>{cur}</ram:InvoiceCurrencyCode>
      <ram:ApplicableTradeTax>
        <ram:CalculatedAmount>{_money(tax)}</ram:CalculatedAmount><ram:TypeCode>VAT</ram:TypeCode>
        <ram:BasisAmount>{_money(subtotal)}</ram:BasisAmount><ram:CategoryCode>S</ram:CategoryCode>
        <ram:RateApplicablePercent>{rate:f}</ram:RateApplicablePercent>
      </ram:ApplicableTradeTax>
      <ram:SpecifiedTradeSettlementHeaderMonetarySummation>
        <ram:LineTotalAmount>{_money(subtotal)}</ram:LineTotalAmount>
        <ram:TaxBasisTotalAmount>{_money(subtotal)}</ram:TaxBasisTotalAmount>
        <ram:TaxTotalAmount currencyID="{cur}">{_money(tax)}</ram:TaxTotalAmount>
        <ram:GrandTotalAmount>{_money(total)}</ram:GrandTotalAmount>
        <ram:DuePayableAmount>{_money(total)}</ram:DuePayableAmount>
      </ram:SpecifiedTradeSettlementHeaderMonetarySummation>
    </ram:ApplicableHeaderTradeSettlement>
  </rsm:SupplyChainTradeTransaction>
</rsm:CrossIndustryInvoice>
"""
    return xml.encode("utf-8")


def factur_x_pdf(doc: KvDocument, xml: bytes | None = None) -> bytes:
    """``render_kv_pdf(doc)`` with ``xml`` (default :func:`cii_xml`) embedded as
    ``factur-x.xml`` by ``facturx.generate_from_binary`` (XSD check on; PDF/A-3 metadata)."""
    from facturx import generate_from_binary

    return generate_from_binary(render_kv_pdf(doc), xml if xml is not None else cii_xml(doc),
                                flavor="factur-x", level="en16931", check_xsd=xml is None)


def attach_xml(pdf: bytes, name: str, xml: bytes, *, deflate: bool = False) -> bytes:
    """``pdf`` with ``xml`` attached as ``name`` (pypdf, a dependency of ``factur-x``), with no
    check of the XML: for XML that ``generate_from_binary`` would refuse to embed (malicious).
    ``deflate``: store the attachment Flate-compressed (a small PDF holding a large file)."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.add_attachment(name, xml)
    if deflate:
        spec = writer._root_object["/Names"]["/EmbeddedFiles"]["/Names"][-1].get_object()
        ref = spec["/EF"].raw_get("/F")  # replace the stream object in place (no orphan left)
        writer._objects[ref.idnum - 1] = ref.get_object().flate_encode()
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def ubl_xml(doc: KvDocument) -> bytes:
    """The invoice ``doc`` as a UBL 2.1 ``Invoice`` (Peppol BIS Billing 3.0 shape)."""
    n, cur, rate = doc.normalized, currency_of(doc), rate_of(doc)
    e = lambda s: escape(str(s))  # noqa: E731
    lines = "".join(f"""
  <cac:InvoiceLine>
    <cbc:ID>{k}</cbc:ID>
    <cbc:InvoicedQuantity unitCode="C62">{item.quantity:f}</cbc:InvoicedQuantity>
    <cbc:LineExtensionAmount currencyID="{cur}">{_money(item.amount)}</cbc:LineExtensionAmount>
    <cac:Item><cbc:Name>{e(item.description)}</cbc:Name>
      <cac:ClassifiedTaxCategory><cbc:ID>S</cbc:ID><cbc:Percent>{rate:f}</cbc:Percent><cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:ClassifiedTaxCategory>
    </cac:Item>
    <cac:Price><cbc:PriceAmount currencyID="{cur}">{item.unit_price:f}</cbc:PriceAmount></cac:Price>
  </cac:InvoiceLine>""" for k, item in enumerate(doc.items, 1))
    xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
         xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
         xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
  <cbc:CustomizationID>urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0</cbc:CustomizationID>
  <cbc:ID>{e(n["invoice_number"])}</cbc:ID>
  <cbc:IssueDate>{n["date"]}</cbc:IssueDate>
  <cbc:InvoiceTypeCode>380</cbc:InvoiceTypeCode>
  <cbc:DocumentCurrencyCode>{cur}</cbc:DocumentCurrencyCode>
  <cac:AccountingSupplierParty><cac:Party>
    <cac:PostalAddress><cbc:StreetName>1 Synthetic Street</cbc:StreetName><cbc:CityName>Testville</cbc:CityName><cac:Country><cbc:IdentificationCode>{_country(doc)}</cbc:IdentificationCode></cac:Country></cac:PostalAddress>
    <cac:PartyTaxScheme><cbc:CompanyID>{e(n["seller_tax_code"])}</cbc:CompanyID><cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:PartyTaxScheme>
    <cac:PartyLegalEntity><cbc:RegistrationName>{e(n["seller"])}</cbc:RegistrationName></cac:PartyLegalEntity>
  </cac:Party></cac:AccountingSupplierParty>
  <cac:AccountingCustomerParty><cac:Party>
    <cac:PartyLegalEntity><cbc:RegistrationName>{e(n["buyer"])}</cbc:RegistrationName></cac:PartyLegalEntity>
  </cac:Party></cac:AccountingCustomerParty>
  <cac:TaxTotal><cbc:TaxAmount currencyID="{cur}">{_money(Decimal(n["tax_amount"]))}</cbc:TaxAmount></cac:TaxTotal>
  <cac:LegalMonetaryTotal>
    <cbc:LineExtensionAmount currencyID="{cur}">{_money(Decimal(n["subtotal"]))}</cbc:LineExtensionAmount>
    <cbc:TaxExclusiveAmount currencyID="{cur}">{_money(Decimal(n["subtotal"]))}</cbc:TaxExclusiveAmount>
    <cbc:TaxInclusiveAmount currencyID="{cur}">{_money(Decimal(n["total"]))}</cbc:TaxInclusiveAmount>
    <cbc:PayableAmount currencyID="{cur}">{_money(Decimal(n["total"]))}</cbc:PayableAmount>
  </cac:LegalMonetaryTotal>{lines}
</Invoice>
"""
    return xml.encode("utf-8")
