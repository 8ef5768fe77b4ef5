"""Line items and arithmetic checks on synthetic multi-page invoices and orders
(born-digital PDFs: read from the text layer, so no OCR model is needed)."""

import dataclasses
import json
from decimal import Decimal

import pytest

from app.domain import OcrResult
from app.extraction.checks import apply_checks
from app.extraction.fields import FieldResult
from app.extraction.line_items import LineItem, caption_key, caption_segments, read_line_items
from tests.conftest import line

pytest.importorskip("reportlab")
pytest.importorskip("pypdfium2")

from tests.synthetic.invoices import SANS, make_document, render_pdf  # noqa: E402

if not SANS.exists():
    pytest.skip(f"{SANS} missing (apt-get install fonts-dejavu-core)", allow_module_level=True)
from tests.unit.test_api import make_app  # noqa: E402


def post(client, data: bytes, document_type: str):
    import io

    r = client.post("/extract", data={"image_file": (io.BytesIO(data), "doc.pdf"),
                                      "config": json.dumps({"document_type": document_type})})
    assert r.status_code == 200, r.get_json()
    return r.get_json()["data"]["results"][0]


@pytest.mark.parametrize("layout,kind", [("vi", "invoice"), ("en", "invoice"), ("en", "purchase_order")])
def test_synthetic_document_items_and_checks(layout, kind):
    doc = make_document(7, layout, kind)
    result = post(make_app().test_client(), render_pdf(doc), kind)
    assert result["page_count"] == 2 and [p["source"] for p in result["pages"]] == ["pdf_text", "pdf_text"]
    items = result["line_items"]
    assert [(i["description"], Decimal(i["amount"])) for i in items] == [(g.description, g.amount) for g in doc.items]
    assert [Decimal(i["quantity"]) for i in items] == [g.quantity for g in doc.items]
    assert [Decimal(i["unit_price"]) for i in items] == [g.unit_price for g in doc.items]
    assert {i["page"] for i in items} == {1, 2}  # the table continues on page 2
    assert all(i["box"] and 0 < i["confidence"] <= 1 for i in items)
    assert result["checks"]["ok"] is True and result["checks"]["failed"] == []
    names = {c["name"] for c in result["checks"]["results"]}
    assert {"row_amount", "rows_sum", "total", "vat_rate"} <= names
    total = result["fields"]["total"]
    assert total["page"] == 2 and Decimal(total["normalized"]["amount"]) == doc.total
    assert total["checks"]["arithmetic"] is True


def test_wrapped_descriptions_are_joined():
    doc = make_document(3, "vi")
    items = post(make_app().test_client(), render_pdf(doc), "invoice")["line_items"]
    wrapped = [i for i in items if "theo hợp đồng quý" in i["description"] or "khách hàng" in i["description"]]
    assert wrapped and all(len(i["description"]) > 40 for i in wrapped)


def test_a_wrong_amount_fails_its_checks():
    doc = make_document(5, "en")
    doc.items[2] = dataclasses.replace(doc.items[2], amount=doc.items[2].amount + 1)  # printed wrong
    result = post(make_app().test_client(), render_pdf(doc), "invoice")
    assert result["checks"]["ok"] is False
    assert "row_amount[3]" in result["checks"]["failed"]
    assert result["line_items"][2]["checks"] == {"quantity_x_unit_price": False}
    assert result["line_items"][1]["checks"] == {"quantity_x_unit_price": True}
    assert result["line_items"][2]["confidence"] < result["line_items"][1]["confidence"]


def test_header_captions():
    assert caption_key("Đơn giá (Unit price)") == "unit_price"
    assert caption_key("Thành tiền") == "amount"
    assert caption_key("Tên hàng hóa, dịch vụ") == "description"
    assert caption_key("Omschrijving") == "description" and caption_key("Menge") == "quantity"
    assert [k for k, _, _ in caption_segments("STT Tên hàng hóa, dịch vụ")] == ["index", "description"]
    assert [k for k, _, _ in caption_segments("Quantity Unit Price")] == ["quantity", "unit_price"]


def test_numbers_centred_in_a_tall_cell_and_rows_below_totals():
    lines = (
        line("Description", 10, 10), line("Qty", 300, 10, w=40), line("Unit price", 380, 10),
        line("Amount", 520, 10, w=60),
        line("Widget, large,", 10, 40), line("2", 320, 55, w=20), line("10.00", 400, 55, w=60),
        line("20.00", 520, 55, w=60), line("blue", 10, 70),
        line("Gadget", 10, 110), line("1", 320, 110, w=20), line("5.00", 400, 110, w=60),
        line("5.00", 520, 110, w=60),
        line("Total", 400, 150, w=60), line("25.00", 520, 150, w=60),
        line("Bank account", 10, 190), line("12345678", 520, 190, w=60),
    )
    items = read_line_items(OcrResult(lines, 600, 220, 0, 0))
    assert [(i.description, i.amount) for i in items] == [("Widget, large, blue", Decimal("20.00")),
                                                          ("Gadget", Decimal("5.00"))]


def test_checks_without_items_and_a_bad_vat_rate():
    lines = (line("Cộng tiền hàng: 1.000.000", 10, 10, w=300), line("Thuế suất GTGT: 7%", 10, 40, w=300),
             line("Tiền thuế GTGT: 70.000", 10, 70, w=300), line("Tổng cộng tiền thanh toán: 1.070.000", 10, 100,
                                                                   w=300))
    ocr = OcrResult(lines, 400, 200, 0, 0)

    def amount(v, line):
        return FieldResult(v, {"amount": v, "currency": "VND"}, 0.8, "rule", (line,), True)

    details = {"subtotal": amount("1000000", 0), "tax_amount": amount("70000", 2), "total": amount("1070000", 3)}
    checks, items = apply_checks([], details, ocr)
    by_name = {c["name"]: c for c in checks["results"]}
    assert by_name["total"]["ok"] is True
    assert by_name["vat_rate"]["ok"] is False and by_name["vat_rate"]["rate"] == "7"  # not 0/5/8/10 %
    assert checks["failed"] == ["vat_rate"] and items == []
    assert details["total"].checks["arithmetic"] is True and details["total"].confidence > 0.8


def _amount_field(value: str, *lines: int) -> FieldResult:
    return FieldResult(value, {"amount": value, "currency": "USD"}, 0.8, "rule", lines, True)


def test_a_total_read_from_the_subtotal_line_is_not_evidence():
    # One cell read as both subtotal and total (the AWS invoice): comparing it with
    # itself proves nothing, so the check is skipped, not ok.
    ocr = OcrResult((line("Total 5.61", 10, 10, w=200),), 400, 100, 0, 0)
    details = {"subtotal": _amount_field("5.61", 0), "tax_amount": FieldResult(None, None, 0.0, None),
               "total": _amount_field("5.61", 0)}
    checks, _ = apply_checks([], details, ocr)
    by_name = {c["name"]: c for c in checks["results"]}
    assert by_name["total"] == {"name": "total", "ok": None,
                                "skipped": "the subtotal and the total were read from the same line"}
    assert checks["ok"] is None and checks["failed"] == []
    assert set(checks["skipped"]) == {"rows_sum", "total", "vat_rate"}
    assert "arithmetic" not in details["total"].checks and details["total"].confidence == 0.8


def test_with_a_tax_of_zero_the_rows_add_up_to_the_total():
    # AWS: "Tax $0.00" and no subtotal: the total is the rows' sum, and that is checked.
    ocr = OcrResult((line("AWS Data Transfer $0.01", 10, 10, w=300), line("Amazon Glacier $2.22", 10, 40, w=300),
                     line("Tax $0.00", 10, 70, w=200), line("Total $2.23", 10, 100, w=200)), 400, 200, 0, 0)
    items = [LineItem("AWS Data Transfer", None, None, None, Decimal("0.01"), (0,), 0.9),
             LineItem("Amazon Glacier", None, None, None, Decimal("2.22"), (1,), 0.9)]
    details = {"subtotal": FieldResult(None, None, 0.0, None), "tax_amount": _amount_field("0.00", 2),
               "total": _amount_field("2.23", 3)}
    checks, _ = apply_checks(items, details, ocr)
    by_name = {c["name"]: c for c in checks["results"]}
    assert by_name["rows_sum"]["ok"] is True and by_name["rows_sum"]["against"] == "total"
    details["tax_amount"] = _amount_field("0.19", 2)  # a tax: the total is no longer the rows' sum
    checks, _ = apply_checks(items, details, ocr)
    assert {c["name"]: c for c in checks["results"]}["rows_sum"]["ok"] is None


def test_rows_sum_against_a_subtotal_read_from_an_item_row_is_skipped():
    ocr = OcrResult((line("Widget 2 5.00 10.00", 10, 10, w=300), line("Total 10.00", 10, 40, w=200)),
                    400, 100, 0, 0)
    item = LineItem("Widget", Decimal(2), None, Decimal("5.00"), Decimal("10.00"), (0,), 0.9)
    details = {"subtotal": _amount_field("10.00", 0), "total": _amount_field("10.00", 1)}
    checks, items = apply_checks([item], details, ocr)
    by_name = {c["name"]: c for c in checks["results"]}
    assert by_name["rows_sum"]["ok"] is None and "line item's row" in by_name["rows_sum"]["skipped"]
    assert by_name["row_amount"]["ok"] is True and by_name["total"]["ok"] is True
    assert checks["ok"] is True and checks["skipped"] == ["rows_sum", "vat_rate"]


def test_a_vat_rate_with_nothing_to_compare_is_skipped():
    # An English page: no table of rates in force, and no subtotal and tax read.
    ocr = OcrResult((line("VAT rate 20%", 10, 10, w=200), line("Total 120.00", 10, 40, w=200)), 400, 100, 0, 0)
    checks, _ = apply_checks([], {"total": _amount_field("120.00", 1)}, ocr)
    by_name = {c["name"]: c for c in checks["results"]}
    assert by_name["vat_rate"]["ok"] is None and checks["ok"] is None
    # With a subtotal and tax read from their own lines the rate is compared.
    ocr = OcrResult((line("Subtotal 100.00", 10, 0, w=200), line("VAT rate 20%", 10, 20, w=200),
                     line("VAT 20.00", 10, 40, w=200), line("Total 120.00", 10, 60, w=200)), 400, 100, 0, 0)
    details = {"subtotal": _amount_field("100.00", 0), "tax_amount": _amount_field("20.00", 2),
               "total": _amount_field("120.00", 3)}
    checks, _ = apply_checks([], details, ocr)
    by_name = {c["name"]: c for c in checks["results"]}
    assert by_name["vat_rate"]["ok"] is True and by_name["vat_rate"]["found"] == "20"
    assert by_name["total"]["ok"] is True and checks["ok"] is True and checks["skipped"] == ["rows_sum"]


def test_line_item_shape():
    item = LineItem("Pens", Decimal(2), "box", Decimal("1.5"), Decimal("3.0"), (0,), 0.9)
    assert item.to_dict() == {"description": "Pens", "quantity": "2", "unit": "box", "unit_price": "1.50",
                              "amount": "3", "confidence": 0.9, "page": None, "box": None}
    placed = item.placed(2, [[0, 1], [5, 1], [5, 3], [0, 3]])
    assert placed.to_dict()["page"] == 2 and placed.to_dict()["box"] == [[0, 1], [5, 1], [5, 3], [0, 3]]


def test_evenly_spaced_wrapped_lines_stay_with_the_item_above():
    lines = (
        line("Pos", 10, 10, w=30), line("Beschreibung", 60, 10), line("Menge", 300, 10, w=40),
        line("Einzelpreis", 380, 10), line("Zeilenbetrag", 500, 10),
        line("Hosting Small", 60, 40), line("1", 320, 40, w=20), line("3,89", 400, 40, w=40),
        line("3,89", 520, 40, w=40),
        line("Dienst: A", 70, 60), line("01.05.14-31.05.14", 70, 80),
        line("Hosting Large", 60, 100), line("1", 320, 100, w=20), line("5,39", 400, 100, w=40),
        line("5,39", 520, 100, w=40),
        line("Dienst: B", 70, 120), line("01.05.14-31.05.14", 70, 140),
    )
    items = read_line_items(OcrResult(lines, 600, 200, 0, 0))
    assert [i.description for i in items] == ["Hosting Small Dienst: A 01.05.14-31.05.14",
                                              "Hosting Large Dienst: B 01.05.14-31.05.14"]
    assert [i.amount for i in items] == [Decimal("3.89"), Decimal("5.39")]


def _items(*lines):
    return read_line_items(OcrResult(tuple(lines), 1600, 2000, 0, 0))


def test_a_list_without_a_header_is_read_when_it_adds_up():
    # The AWS "Detail" block: services at the left edge, their breakdowns indented, one amount each.
    rows = [("AWS Data Transfer", "$0.01"), ("Amazon Elastic Compute Cloud", "$1.87"), ("Amazon Glacier", "$2.22")]
    lines, y = [line("Detail", 110, 1100, w=90)], 1150
    for name, amount in rows:
        lines += [line(name, 137, y, w=300), line(amount, 1520, y, w=70),
                  line("Charges", 165, y + 45, w=90), line(amount, 1535, y + 45, w=55),
                  line("VAT **", 165, y + 90, w=60), line("$0.00", 1535, y + 90, w=55)]
        y += 135
    lines += [line("Total for this invoice", 110, y + 20, w=250), line("$4.10", 1520, y + 20, w=70)]
    items = _items(*lines)
    assert [(i.description, i.amount) for i in items] == [(n, Decimal(a[1:])) for n, a in rows]
    # The same list that does not add up to any printed total is not taken for the items.
    lines[-1] = line("$9.99", 1520, y + 20, w=70)
    assert _items(*lines) == []


def test_till_receipt_tax_codes_quantity_totals_and_descriptions_above_their_numbers():
    items = _items(
        line("DESCRIPTION", 176, 10, w=170), line("QTY", 400, 10, w=50), line("U.PRICE", 470, 10, w=80),
        line("TOTAL TAX", 560, 10, w=130),
        line("SMOKED DUCK SPAGHETTI", 86, 40, w=300),
        line("1X", 400, 70, w=30), line("12.50", 470, 70, w=60), line("12.50 SR", 560, 70, w=100),
        line("HOT GREEN TEA", 86, 100, w=200),
        line("1X", 400, 130, w=30), line("3.00", 470, 130, w=60), line("3.00 SR", 560, 130, w=100),
        line("TOTAL QTY:", 86, 160, w=150), line("2", 400, 160, w=20), line("15.50", 560, 160, w=100),
        line("TOTAL:", 86, 190, w=100), line("15.50", 560, 190, w=100),
    )
    assert [(i.description, i.amount) for i in items] == [("SMOKED DUCK SPAGHETTI", Decimal("12.50")),
                                                          ("HOT GREEN TEA", Decimal("3.00"))]


def test_a_grand_total_caption_beside_the_description_ends_the_table():
    items = _items(
        line("Artikel", 122, 10, w=80), line("Omschrijving", 282, 10, w=150), line("Prijs", 1107, 10, w=60),
        line("Bedrag", 1447, 10, w=80),
        line("E103184 Onderhoudsset", 122, 40, w=300), line("49,99", 1107, 40, w=60), line("49,99", 1465, 40, w=60),
        line("Prijzen zijn inclusief BTW", 122, 100, w=260), line("Factuur totaal EUR", 1141, 100, w=190),
        line("49,99", 1465, 100, w=60),
    )
    assert [i.description for i in items] == ["E103184 Onderhoudsset"]


def _table(rows):
    """``rows``: one list of ``(text, x, width)`` cells per visual row, 30 px apart."""
    lines = [line(text, x, 100 + 30 * k, w=w) for k, cells in enumerate(rows) for text, x, w in cells]
    return read_line_items(OcrResult(tuple(lines), 700, 100 + 30 * len(rows), 0, 0, language="vi"))


def test_a_till_table_under_abbreviated_vietnamese_captions():
    # "Tên món | SL | ĐG | TT" (tên món, số lượng, đơn giá, thành tiền); the name wraps under its row.
    got = _table([
        [("#", 20, 20), ("Tên món", 80, 80), ("SL", 250, 30), ("ĐG", 330, 30), ("TT", 480, 30)],
        [("1", 20, 10), ("sữa chua trân", 60, 130), ("1", 255, 10), ("25.000", 320, 60), ("25.000", 470, 60)],
        [("châu Cô Thỏ", 60, 120)],
        [("2", 20, 10), ("Sữa chua hoa quả", 60, 150), ("2", 255, 10), ("17.500", 320, 60), ("35.000", 470, 60)],
        [("Tổng thanh toán", 20, 150), ("60.000đ", 460, 70)],
    ])
    assert [(i.description, i.quantity, i.unit_price, i.amount) for i in got] == [
        ("sữa chua trân châu Cô Thỏ", Decimal("1"), Decimal("25000"), Decimal("25000")),
        ("Sữa chua hoa quả", Decimal("2"), Decimal("17500"), Decimal("35000"))]


def test_a_header_caption_misread_by_one_letter_still_names_its_column():
    assert caption_key("Dn giá") == "unit_price" and caption_key("AMUUNT") == "amount"
    assert caption_key("Tổng") is None  # not one letter from a caption of six or more
    # Names above their article numbers: the GTIN row is no description of its own.
    got = _table([
        [("Mặt hàng", 20, 80), ("Dn giá", 240, 60), ("SL", 320, 25), ("T.Tiền", 370, 60)],
        [("Ba chỉ bò Mỹ 500gr", 20, 240)],
        [("8936074790092", 20, 110), ("119.900", 240, 60), ("2", 330, 10), ("239.800", 370, 60)],
        [("Coca Cola chai 390ml", 20, 260)],
        [("8935049510673", 20, 110), ("7.000", 250, 50), ("2", 330, 10), ("14.000", 375, 55)],
        [("TỔNG TIỀN PHẢI T.TOÁN", 20, 170), ("253.800", 370, 60)],
    ])
    assert [(i.description, i.quantity, i.unit_price, i.amount) for i in got] == [
        ("Ba chỉ bò Mỹ 500gr", Decimal("2"), Decimal("119900"), Decimal("239800")),
        ("Coca Cola chai 390ml", Decimal("2"), Decimal("7000"), Decimal("14000"))]


def test_a_stray_mark_after_an_amount_is_not_the_amount():
    from app.extraction.item_cells import number

    assert number("24.06 9", "MYR") == Decimal("24.06")
    assert number("35 000", "VND") == Decimal("35000")  # space-grouped thousands stay one number


@pytest.mark.parametrize("header", [
    ["Nº", "Ref.", "Artículo", "Cant.", "Precio unitario", "Subtotal"],  # a line's net amount as "Subtotal"
    ["N.", "Cod. art.", "Descrizione", "Ore", "Prezzo", "Totale"],  # hours for a quantity
])
def test_article_number_columns_and_line_amount_captions_of_more_languages(header):
    xs = (20, 60, 140, 380, 440, 560)
    got = read_line_items(OcrResult(tuple(
        [line(t, x, 100, w=60) for t, x in zip(header, xs)]
        + [line(t, x, 130, w=60) for t, x in zip(("1", "98474", "Panel LED 60x60", "2", "916,90", "1.833,80"), xs)]
        + [line(t, x, 160, w=60) for t, x in zip(("2", "23870", "Toner TN-2420", "1", "283,37", "283,37"), xs)]
        + [line("Total factura", 380, 200, w=120), line("2.117,17", 560, 200, w=60)]), 700, 300, 0, 0))
    assert [(i.description, i.quantity, i.unit_price, i.amount) for i in got] == [
        ("Panel LED 60x60", Decimal("2"), Decimal("916.90"), Decimal("1833.80")),
        ("Toner TN-2420", Decimal("1"), Decimal("283.37"), Decimal("283.37"))]


def test_an_items_own_tax_rate_row_is_not_the_documents_tax():
    # A till prints "VAT10% | 7,000.00 | 7,000.00" under each item: that row is the item's, so
    # the receipt has no tax of its own and its rows must add up to the total. Here the readers
    # took the cash paid for the total; the rows add up to the amount under "Tổng số tiền thanh
    # toán", so the sum decides between the two readings.
    item_rows = (line("Nuoc khoang Lavie", 10, 10, w=300),
                 line("VAT10%", 10, 40, w=70), line("7,000.00", 150, 40, w=80), line("7,000.00", 300, 40, w=80))
    paid = (line("Tien khach tra:", 10, 100, w=200), line("50,000.00", 300, 100, w=80))
    item = LineItem("Nuoc khoang Lavie", None, None, None, Decimal("7000"), (0, 1, 2, 3), 0.9, tax_rate="10")

    def run(lines, total_lines):
        details = {"total": FieldResult("50,000.00", {"amount": "50000", "currency": "VND"}, 0.8, "rule",
                                        total_lines, True)}
        checks, _ = apply_checks([item], details, OcrResult(lines, 400, 200, 0, 0, language="vi", currency="VND"))
        return {c["name"]: c for c in checks["results"]}, checks, details["total"]

    printed = (line("Tong so tien thanh toan:", 10, 70, w=200), line("7,000.00", 300, 70, w=80))
    by_name, checks, total = run(item_rows + printed + paid, (6, 7))
    assert by_name["rows_sum"]["ok"] is True and by_name["rows_sum"]["total_read_before"] == "50000"
    assert total.normalized == {"amount": "7000", "currency": "VND"} and total.line_indices == (4, 5)
    assert total.checks["reader"] == "rows_sum" and total.checks["replaced"] == "50,000.00"
    # A total read under a total caption stands (the rows may be part of the document's): the check fails.
    by_name, checks, total = run(item_rows + printed + (line("TOTAL", 10, 100, w=100), line("50,000.00", 300, 100,
                                                                                              w=80)), (6, 7))
    assert by_name["rows_sum"]["ok"] is False and total.normalized["amount"] == "50000"
    # No total caption over the rows' sum: the check fails and the total stays as read.
    by_name, checks, total = run(item_rows + paid, (4, 5))
    assert by_name["rows_sum"] == {"name": "rows_sum", "ok": False, "expected": "7000", "found": "50000",
                                   "against": "total"}
    assert checks["failed"] == ["rows_sum"] and total.normalized["amount"] == "50000"


def test_a_rounded_total_is_not_replaced_by_the_rows_sum():
    # SROIE: "TOTAL AMOUNT: RM8.48" then "ROUNDED TOTAL 8.50"; the readers' 8.50 stands.
    lines = (line("Kopi O", 10, 10, w=200), line("8.48", 300, 10, w=60),
             line("TOTAL AMOUNT: RM8.48", 10, 40, w=250), line("ROUNDED TOTAL (RM):", 10, 70, w=200),
             line("8.50", 300, 70, w=60))
    item = LineItem("Kopi O", None, None, None, Decimal("8.48"), (0, 1), 0.9)
    details = {"total": FieldResult("8.50", {"amount": "8.50", "currency": "MYR"}, 0.8, "rule", (3, 4), True)}
    checks, _ = apply_checks([item], details, OcrResult(lines, 400, 200, 0, 0, currency="MYR"))
    assert details["total"].normalized["amount"] == "8.50" and "reader" not in details["total"].checks
    assert {c["name"]: c for c in checks["results"]}["rows_sum"]["found"] == "8.50"
