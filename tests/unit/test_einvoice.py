"""E-invoice XML (app/einvoice): CII / Factur-X, UBL 2.1, Vietnamese HDon; the pipeline
and HTTP behaviour of XML uploads and PDFs that embed XML. All test data is generated
here from the synthetic invoices (tests/synthetic/einvoices.py, vn_einvoice.py)."""

from __future__ import annotations

import dataclasses
import io
import json
from decimal import Decimal

import pytest

from app.config import Settings
from app.einvoice import is_xml, parse_einvoice_xml, read_einvoice
from app.errors import InvalidXml, PayloadTooLarge, UnsupportedXml, XmlForbidden
from tests.conftest import app_with_fakes
from tests.synthetic.einvoices import attach_xml, cii_xml, currency_of, factur_x_pdf, rate_of, ubl_xml
from tests.synthetic.kv_invoices import make_kv_document, render_kv_pdf
from tests.synthetic.vn_einvoice import make_vn_einvoice

pytest.importorskip("facturx")  # dev dependency (requirements-dev.txt): embeds the XML in the test PDFs

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100">&xxe;</rsm:CrossIndustryInvoice>"""
LAUGHS = (b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
          + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
                     for i in range(1, 10))
          + b"]>\n<HDon>&lol9;</HDon>")
EXTERNAL_DTD = b'<?xml version="1.0"?><!DOCTYPE HDon SYSTEM "http://127.0.0.1:9/x.dtd"><HDon/>'
PARAMETER_ENTITY = (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY % p SYSTEM "http://127.0.0.1:9/p.dtd"> %p;]>'
                    b"<r/>")
MALICIOUS = {"xxe": XXE, "billion_laughs": LAUGHS, "external_dtd": EXTERNAL_DTD, "parameter_entity": PARAMETER_ENTITY}


def invoice_doc(seed: int = 11, index: int = 0, language: str = "en"):
    return make_kv_document(seed, index, language=language, layout="stacked", kind="invoice")


def expected_fields(doc) -> dict[str, str]:
    n = doc.normalized
    return {k: n[k] for k in ("invoice_number", "date", "seller", "seller_tax_code", "buyer")}


# ------------------------------------------------------------------------ parsers
@pytest.mark.parametrize("language", ["en", "fr", "de", "nl", "es", "it", "pl", "vi"])
def test_cii_reads_every_field_and_line(language):
    doc = invoice_doc(5, 3, language)
    inv = parse_einvoice_xml(cii_xml(doc))
    n = doc.normalized
    assert inv.format == "cii" and inv.profile == "urn:cen.eu:en16931:2017" and inv.type_code == "380"
    assert (inv.invoice_number, inv.date.isoformat(), inv.seller, inv.seller_tax_code, inv.buyer) == (
        n["invoice_number"], n["date"], n["seller"], n["seller_tax_code"], n["buyer"])
    assert inv.currency == currency_of(doc)
    assert (inv.subtotal, inv.tax_amount, inv.total) == (Decimal(n["subtotal"]), Decimal(n["tax_amount"]),
                                                         Decimal(n["total"]))
    assert [(ln.description, ln.quantity, ln.unit_price, ln.amount) for ln in inv.lines] == [
        (i.description, i.quantity, i.unit_price, i.amount) for i in doc.items]
    assert {ln.tax_rate for ln in inv.lines} == {format(rate_of(doc).normalize(), "f")}


def test_cii_price_per_basis_quantity_and_tax_total_in_invoice_currency():
    doc = invoice_doc()
    xml = cii_xml(doc).decode()
    first = doc.items[0]
    # price for 10 units; a second TaxTotalAmount in another (tax) currency
    xml = xml.replace(f"<ram:ChargeAmount>{first.unit_price:f}</ram:ChargeAmount>",
                      f"<ram:ChargeAmount>{first.unit_price * 10:f}</ram:ChargeAmount>"
                      "<ram:BasisQuantity unitCode=\"C62\">10</ram:BasisQuantity>", 1)
    cur = currency_of(doc)
    xml = xml.replace(f'<ram:TaxTotalAmount currencyID="{cur}">',
                      f'<ram:TaxTotalAmount currencyID="XXX">1.00</ram:TaxTotalAmount><ram:TaxTotalAmount '
                      f'currencyID="{cur}">', 1)
    inv = parse_einvoice_xml(xml.encode())
    assert inv.lines[0].unit_price == first.unit_price
    assert inv.tax_amount == Decimal(doc.normalized["tax_amount"])


def test_ubl_reads_every_field_and_line():
    doc = invoice_doc(5, 4, "nl")
    inv = parse_einvoice_xml(ubl_xml(doc))
    assert inv.format == "ubl" and inv.type_code == "380"
    assert (inv.invoice_number, inv.date.isoformat(), inv.seller, inv.seller_tax_code, inv.buyer) == tuple(
        expected_fields(doc).values())
    assert inv.total == Decimal(doc.normalized["total"]) and inv.line_total == Decimal(doc.normalized["subtotal"])
    assert [ln.amount for ln in inv.lines] == [i.amount for i in doc.items]


@pytest.mark.parametrize("wrap", [False, True])
def test_vn_reads_header_lines_and_totals(wrap):
    vn = make_vn_einvoice(3, 1, wrap=wrap)
    inv = parse_einvoice_xml(vn.xml)
    n = vn.doc.normalized
    assert inv.format == "vn" and inv.invoice_series == vn.series and inv.type_code == "1"
    assert int(inv.invoice_number) == int(n["invoice_number"]) and inv.date.isoformat() == n["date"]
    assert (inv.seller, inv.seller_tax_code, inv.buyer, inv.currency) == (n["seller"], n["seller_tax_code"],
                                                                           n["buyer"], "VND")
    assert (inv.subtotal, inv.tax_amount, inv.total) == tuple(Decimal(n[k]) for k in ("subtotal", "tax_amount",
                                                                                      "total"))
    assert [(ln.quantity, ln.unit, ln.unit_price, ln.amount) for ln in inv.lines] == [
        (i.quantity, "cái", i.unit_price, i.amount) for i in vn.doc.items]


def test_vn_discount_row_counts_negatively_and_checks_pass():
    from app.einvoice.response import xml_checks, xml_fields

    vn = make_vn_einvoice(3, 2, discount=True)
    inv = parse_einvoice_xml(vn.xml)
    assert inv.lines[-1].amount == -vn.discount and inv.allowance_total == vn.discount
    checks, items = xml_checks(inv, xml_fields(inv))
    by_name = {r["name"]: r for r in checks["results"]}
    assert by_name["rows_sum"]["ok"] is True and by_name["total"]["ok"] is True
    assert by_name["vat_rate"]["ok"] is None and "skipped" in by_name["vat_rate"]
    assert checks["ok"] is True


def test_inconsistent_xml_fails_its_checks_but_keeps_confidence():
    from app.einvoice.response import xml_checks, xml_fields

    inv = parse_einvoice_xml(cii_xml(invoice_doc()))
    inv = dataclasses.replace(inv, total=inv.total + 500)  # over the checks' 0.1 % tolerance
    fields = xml_fields(inv)
    checks, _ = xml_checks(inv, fields)
    assert "total" in checks["failed"] and fields["total"].confidence == 1.0


@pytest.mark.parametrize("off", ["0.01", "5"])
def test_xml_sums_must_agree_to_the_cent(off):
    """Within the printed-document tolerance (0.1 % of the total), but stated, not read: a failure."""
    from app.einvoice.response import xml_checks, xml_fields

    inv = parse_einvoice_xml(cii_xml(invoice_doc()))
    exact, _ = xml_checks(inv, xml_fields(inv))
    assert exact["ok"] is True and "total" not in exact["skipped"]
    shifted = dataclasses.replace(inv, total=inv.total + Decimal(off))
    checks, _ = xml_checks(shifted, xml_fields(shifted))
    assert "total" in checks["failed"]
    one_row = dataclasses.replace(inv, line_total=inv.line_total + Decimal(off))
    checks, _ = xml_checks(one_row, xml_fields(one_row))
    assert "rows_sum" in checks["failed"]


def test_printed_documents_keep_the_reading_tolerance():
    from app.extraction.checks import _product_agrees, _sum_agrees

    assert _sum_agrees(Decimal("10000.00"), Decimal("10005.00"), exact=False)  # 0.05 %: a misread cent or rounding
    assert not _sum_agrees(Decimal("10000.00"), Decimal("10005.00"), exact=True)
    assert _product_agrees(Decimal("3.333"), Decimal("3.33"), Decimal("1.11"), exact=True)  # rounded to the cent
    assert not _product_agrees(Decimal("3.35"), Decimal("3.33"), Decimal("1.11"), exact=True)


@pytest.mark.parametrize("name", sorted(MALICIOUS))
def test_dtd_entities_and_external_references_are_forbidden(name):
    with pytest.raises(XmlForbidden) as info:
        parse_einvoice_xml(MALICIOUS[name])
    assert info.value.http_status == 400 and info.value.code == "XML_FORBIDDEN"


@pytest.mark.parametrize("data, error", [
    (b"<?xml version='1.0'?><HDon><DLHDon>", InvalidXml),
    (b"<?xml version='1.0' encoding='klingon'?><a/>", InvalidXml),
    (b"<?xml version='1.0'?><svg xmlns='http://www.w3.org/2000/svg'/>", UnsupportedXml),
    (b"<Invoice><ID>1</ID></Invoice>", UnsupportedXml),  # no UBL namespace
    (b"<HDon><DLHDon><NDHDon><TToan><TgTCThue>1e9999</TgTCThue></TToan></NDHDon></DLHDon></HDon>", InvalidXml),
    (b"<HDon><DLHDon><TTChung><NLap>31/01/2024</NLap></TTChung></DLHDon></HDon>", InvalidXml),
])
def test_bad_xml_is_a_4xx(data, error):
    with pytest.raises(error) as info:
        parse_einvoice_xml(data)
    assert 400 <= info.value.http_status < 500


def test_sniffing_by_content():
    assert is_xml(b"\xef\xbb\xbf  <?xml version='1.0'?><a/>") and is_xml(b"<HDon/>")
    assert is_xml("<?xml version='1.0' encoding='utf-16'?><a/>".encode("utf-16"))
    assert not is_xml(b"<html><body>hi</body></html>") and not is_xml(b"<!DOCTYPE html><p>")
    assert not is_xml(b"%PDF-1.7") and not is_xml(b"hello <a/>")


def test_pdf_embedding_is_found_and_plain_pdf_has_none():
    doc = invoice_doc()
    inv = read_einvoice(factur_x_pdf(doc))
    assert inv is not None and inv.attachment == "factur-x.xml" and inv.total == Decimal(doc.normalized["total"])
    assert read_einvoice(render_kv_pdf(doc)) is None
    # a small PDF whose attachment inflates past the file limit is refused before it is copied out
    big = attach_xml(render_kv_pdf(doc), "factur-x.xml", cii_xml(doc) + b"<!--" + b" " * 3_000_000 + b"-->",
                     deflate=True)
    assert len(big) < 1_000_000
    with pytest.raises(PayloadTooLarge, match="attachment"):
        read_einvoice(big, max_bytes=1_000_000)
    assert read_einvoice(big, max_bytes=4_000_000).total == Decimal(doc.normalized["total"])


# ------------------------------------------------------------------------- HTTP
def _post(client, path, data: bytes, name: str, config: dict | None = None):
    form = {"image_file": (io.BytesIO(data), name)}
    if config is not None:
        form["config"] = json.dumps(config)
    return client.post(path, data=form, content_type="multipart/form-data")


@pytest.fixture
def client():
    return app_with_fakes({}).test_client()


def test_extract_factur_x_pdf_takes_fields_from_xml_and_compares(client):
    doc = invoice_doc()
    r = _post(client, "/extract", factur_x_pdf(doc), "inv.pdf", {"document_type": "invoice"})
    assert r.status_code == 200, r.get_json()
    result = r.get_json()["data"]["results"][0]
    n = doc.normalized
    for key in ("invoice_number", "date", "seller", "seller_tax_code", "buyer", "subtotal", "tax_amount", "total"):
        field = result["fields"][key]
        assert field["source"] == "xml" and field["confidence"] == 1.0 and field["box"] is None, key
        expected = n[key] if key not in ("subtotal", "tax_amount", "total") else f"{Decimal(n[key]):.2f}"
        assert result["extracted_fields"][key] == expected, key
    assert result["fields"]["total"]["normalized"] == {"amount": f"{Decimal(n['total']):.2f}",
                                                       "currency": currency_of(doc)}
    assert result["einvoice"]["format"] == "cii" and result["einvoice"]["attachment"] == "factur-x.xml"
    assert result["page_count"] == 1 and result["pages"][0]["source"] == "pdf_text"
    assert [row["amount"] for row in result["line_items"]] == [f"{i.amount:f}" for i in doc.items]
    agreement = result["checks"]["xml_agreement"]
    assert set(agreement["fields"]) == set(result["fields"])
    for key, entry in agreement["fields"].items():
        assert entry["xml"] == result["extracted_fields"][key]
        if entry["visual"] is None:
            assert entry["agree"] is None and entry["skipped"], key
        else:
            assert isinstance(entry["agree"], bool), key
    # this document's text layer is read right for these (the visual reading is the rule reader's)
    for key in ("seller", "invoice_number", "date", "total"):
        assert agreement["fields"][key]["agree"] is True, (key, agreement["fields"][key])
    assert agreement["line_items"] == {"xml_count": len(doc.items), "visual_count": len(doc.items), "agree": True}


def test_extract_pdf_whose_xml_disagrees_with_its_pages(client):
    doc = invoice_doc()
    tampered = dataclasses.replace(doc, normalized={**doc.normalized, "total": str(Decimal(doc.normalized["total"])
                                                                                   + 100)})
    r = _post(client, "/extract", factur_x_pdf(doc, cii_xml(tampered)), "inv.pdf", {"document_type": "invoice"})
    result = r.get_json()["data"]["results"][0]
    agreement = result["checks"]["xml_agreement"]
    assert agreement["fields"]["total"]["agree"] is False and "total" in agreement["disagree"]
    assert agreement["ok"] is False
    assert result["fields"]["total"]["source"] == "xml"  # the XML is the invoice; the disagreement is reported


def test_embedded_xml_can_be_ignored_per_request_and_by_setting():
    doc = invoice_doc()
    pdf = factur_x_pdf(doc)
    for client, config in ((app_with_fakes({}).test_client(), {"document_type": "invoice", "einvoice_xml": False}),
                           (app_with_fakes({}, einvoice_xml=False).test_client(), {"document_type": "invoice"})):
        result = _post(client, "/extract", pdf, "inv.pdf", config).get_json()["data"]["results"][0]
        assert "einvoice" not in result and "xml_agreement" not in result["checks"]
        assert all(f["source"] != "xml" for f in result["fields"].values())
    assert Settings.from_env({"EINVOICE_XML": "off"}, dotenv=False).einvoice_xml is False
    assert Settings.from_env({}, dotenv=False).einvoice_xml is True


def test_auto_type_of_a_pdf_with_xml_is_invoice(client):
    result = _post(client, "/extract", factur_x_pdf(invoice_doc()), "inv.pdf",
                   {"document_type": "auto"}).get_json()["data"]["results"][0]
    assert result["document_type"] == "invoice"
    assert result["classification"] == {"type": "invoice", "confidence": 1.0, "source": "xml"}


@pytest.mark.parametrize("make", ["vn", "vn_wrapped", "cii", "ubl"])
def test_extract_xml_upload_gives_fields_and_line_items(client, make):
    if make.startswith("vn"):
        vn = make_vn_einvoice(4, 2, wrap=make == "vn_wrapped")
        data, doc = vn.xml, vn.doc
    else:
        doc = invoice_doc(6, 1, "fr")
        data = cii_xml(doc) if make == "cii" else ubl_xml(doc)
    r = _post(client, "/extract", data, "hoadon.xml", {"document_type": "invoice"})
    assert r.status_code == 200, r.get_json()
    result = r.get_json()["data"]["results"][0]
    assert result["page_count"] == 0 and result["pages"] == []
    values = result["extracted_fields"]
    assert values["seller"] == doc.normalized["seller"] and values["date"] == doc.normalized["date"]
    assert Decimal(values["total"]) == Decimal(doc.normalized["total"])
    assert all(f["source"] == "xml" and f["confidence"] == 1.0 for f in result["fields"].values())
    assert len(result["line_items"]) == len(doc.items)
    assert result["line_items"][0]["quantity"] == f"{doc.items[0].quantity:f}"
    assert result["checks"]["ok"] is True
    assert result["checks"]["xml_agreement"]["ok"] is None and result["checks"]["xml_agreement"]["skipped"]


def test_xml_upload_with_info_maps_the_callers_keys(client):
    vn = make_vn_einvoice(4, 3)
    r = _post(client, "/extract", vn.xml, "hd.xml", {"info": {"so_hd": "Số hóa đơn", "tong": "Tổng cộng tiền thanh toán",
                                                              "ghi_chu": "ghi chú"}})
    result = r.get_json()["data"]["results"][0]
    assert result["document_type"] == "invoice" and result["classification"]["source"] == "xml"
    assert result["fields"]["so_hd"]["matched_field"] == "invoice_number"
    assert int(result["extracted_fields"]["so_hd"]) == int(vn.doc.normalized["invoice_number"])
    assert Decimal(result["extracted_fields"]["tong"]) == Decimal(vn.doc.normalized["total"])
    assert result["extracted_fields"]["ghi_chu"] is None  # not in the XML, and there is no page to read


@pytest.mark.parametrize("name", sorted(MALICIOUS))
def test_malicious_xml_upload_is_400_with_a_code(client, name):
    r = _post(client, "/extract", MALICIOUS[name], "evil.xml", {"document_type": "invoice"})
    body = r.get_json()
    assert r.status_code == 400 and body["error_code"] == "XML_FORBIDDEN"
    assert "passwd" not in json.dumps(body) and "lol" not in body["message"]


def test_xml_upload_refusals(client):
    r = _post(client, "/ocr", make_vn_einvoice(1, 1).xml, "hd.xml")
    assert r.status_code == 400 and r.get_json()["error_code"] == "XML_HAS_NO_PAGES"
    r = _post(client, "/extract", b"<?xml version='1.0'?><note>hi</note>", "n.xml", {"document_type": "invoice"})
    assert r.status_code == 400 and r.get_json()["error_code"] == "UNSUPPORTED_XML"
    r = _post(client, "/extract", b"<?xml version='1.0'?><HDon>", "n.xml", {"document_type": "invoice"})
    assert r.status_code == 400 and r.get_json()["error_code"] == "INVALID_XML"
    off = app_with_fakes({}, einvoice_xml=False).test_client()
    r = _post(off, "/extract", make_vn_einvoice(1, 1).xml, "hd.xml", {"document_type": "invoice"})
    assert r.status_code == 400 and r.get_json()["error_code"] == "UNSUPPORTED_XML"
    assert "EINVOICE_XML" in r.get_json()["message"]


def test_pdf_with_a_malicious_embedded_xml_is_read_from_its_pages(client):
    doc = invoice_doc()
    r = _post(client, "/extract", attach_xml(render_kv_pdf(doc), "factur-x.xml", XXE), "inv.pdf",
              {"document_type": "invoice"})
    assert r.status_code == 200
    result = r.get_json()["data"]["results"][0]
    assert "einvoice" not in result and any("XML_FORBIDDEN" in w for w in result["warnings"])
    assert all(f["source"] != "xml" for f in result["fields"].values())
