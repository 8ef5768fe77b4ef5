"""A till's two-line items (app/extraction/item_lists.till_items): a quantity row with its
description above or below, accepted only when the amounts add up to a printed total."""

from decimal import Decimal

from app.domain import OcrResult
from app.extraction.item_lists import headerless_items, till_items
from tests.conftest import line


def _read(rows, reader=till_items):
    """``rows``: one list of ``(text, x, width)`` cells per visual row, 30 px apart."""
    lines = [line(text, x, 100 + 30 * k, w=w) for k, cells in enumerate(rows) for text, x, w in cells]
    return reader(OcrResult(tuple(lines), 600, 100 + 30 * len(rows), 0, 0).lines)


def test_descriptions_above_their_quantity_rows():
    got = _read([
        [("TAX INVOICE", 200, 120)],
        [("EPOXY PUTTY+ (2 X 50GM)", 20, 250), ("*S", 500, 30)],
        [("WA17 - 12/144", 20, 120)],
        [("9555075106825", 20, 140), ("1 X 8.50", 250, 90), ("8.50", 500, 50)],
        [("DOOR GUARD EC008", 20, 200), ("*S", 500, 30)],
        [("TJ12 - 10/100", 20, 120)],
        [("9002148", 20, 90), ("3 X 4.50", 250, 90), ("13.50", 500, 50)],
        [("ITEM(S) : 2", 20, 120), ("QTY(S) : 4", 250, 120)],
        [("TOTAL INCL. GST@6%", 20, 200), ("RM 22.00", 480, 70)],
    ])
    assert [i.description for i in got] == ["EPOXY PUTTY+ (2 X 50GM) *S WA17 - 12/144", "DOOR GUARD EC008 *S TJ12 - 10/100"]
    assert [(i.quantity, i.unit_price, i.amount) for i in got] == [
        (Decimal("1"), Decimal("8.50"), Decimal("8.50")), (Decimal("3"), Decimal("4.50"), Decimal("13.50"))]


def test_descriptions_below_their_quantity_rows():
    # A supermarket till: "1X <article> | amount", the name under it, a promotion row between.
    got = _read([
        [("VALUED CUSTOMER: 1190052101", 20, 300)],
        [("1X 000008541987", 20, 200), ("7.00ZR", 480, 60)],
        [("SA MIX PLUM", 20, 150)],
        [("1X 000001038556", 20, 200), ("16.50SR", 480, 60)],
        [("CHEK HUP 2IN1", 20, 150)],
        [("ITEM PROMO @12.99", 20, 200), ("-3.51", 480, 60)],
        [("1X 000007634147", 20, 200), ("7.50ZR", 480, 60)],
        [("TOMATO AMOROS", 20, 150)],
        [("SUB-TOTAL", 20, 120), ("27.49", 480, 60)],
    ])
    assert [(i.description, i.amount) for i in got] == [
        ("SA MIX PLUM", Decimal("7.00")), ("CHEK HUP 2IN1", Decimal("16.50")),
        ("ITEM PROMO @12.99", Decimal("-3.51")), ("TOMATO AMOROS", Decimal("7.50"))]


def test_rows_that_do_not_add_up_to_a_printed_total_are_not_items():
    rows = [
        [("UNICA PAIL 6GL 600", 20, 200)],
        [("1 X 17.41", 250, 90), ("17.41 S", 480, 60)],
        [("MASSIMO FINE WHOLEMEAL 420G", 20, 250)],
        [("1 X 2.64", 250, 90), ("2.64 Z", 480, 60)],
        [("NO OF ITEMS: 2", 20, 150)],
    ]
    assert _read(rows + [[("TOTAL INCL. GST:RM", 20, 200), ("99.00", 480, 60)]]) == []
    got = _read(rows + [[("TOTAL INCL. GST:RM", 20, 200), ("20.05", 480, 60)]], headerless_items)
    assert [(i.description, i.amount) for i in got] == [("UNICA PAIL 6GL 600", Decimal("17.41")),
                                                         ("MASSIMO FINE WHOLEMEAL 420G", Decimal("2.64"))]


def test_the_nearer_side_decides_when_a_misread_caption_trails_the_list():
    # Each name printed just above its quantity row, a wider gap to the next item; the
    # item count misread by OCR ("QUANT1TY") is a text row after the last quantity row.
    cells = [("LORY FITTLET 6KG @63.00", 20, 100, 250), ("FM411000055 *4", 20, 124, 160), ("252.00 ZR", 480, 124, 70),
             ("BERAS BIRI-BIRI 10KG", 20, 160, 250), ("9556606389892 *1", 20, 184, 160), ("53.50 ZR", 480, 184, 70),
             ("QUANT1TY : 5 Units", 20, 220, 200), ("TOTAL SALES", 20, 250, 150), ("RM305.50", 470, 250, 80)]
    lines = tuple(line(text, x, y, w=w) for text, x, y, w in cells)
    got = till_items(OcrResult(lines, 600, 300, 0, 0).lines)
    assert [(i.description, i.amount) for i in got] == [("LORY FITTLET 6KG @63.00", Decimal("252.00")),
                                                         ("BERAS BIRI-BIRI 10KG", Decimal("53.50"))]


def test_a_table_ends_at_a_total_named_inside_its_caption_and_skips_a_count_row():
    from app.extraction.line_items import read_line_items

    cells = [("QTY ITEM", 20, 100, 120), ("UNIT PRICE", 300, 100, 100), ("TOTAL", 480, 100, 60),
             ("1 L MCCHICKEN", 20, 130, 200), ("11.10", 300, 130, 50), ("11.10", 480, 130, 50),
             ("TOT QTY:", 20, 160, 100), ("1", 300, 160, 20), ("11.10", 480, 160, 50),
             ("TAKEOUT TOTAL (INCL GST)", 20, 190, 250), ("11.10", 480, 190, 50),
             ("CHANGE", 20, 220, 100), ("8.90", 480, 220, 50)]
    lines = tuple(line(text, x, y, w=w) for text, x, y, w in cells)
    got = read_line_items(OcrResult(lines, 600, 260, 0, 0))
    assert [(i.description, i.amount) for i in got] == [("1 L MCCHICKEN", Decimal("11.10"))]


def test_a_captions_leading_till_mark_is_not_part_of_it():
    from app.extraction.item_cells import COUNT_CAPTIONS, starts_with

    assert starts_with("#Total Qty 2", COUNT_CAPTIONS) and starts_with("* ITEM(S) : 8", COUNT_CAPTIONS)
    assert not starts_with("TOTALLY NEW PEN", COUNT_CAPTIONS)


def _slanted(rows, slope):
    """``rows`` as :func:`_read` takes them, photographed at a slant: each row rises (``slope``
    < 0) or falls by ``slope`` pixels per pixel to the right, cells as rotated quads."""
    from app.domain import TextLine

    out = []
    for k, cells in enumerate(rows):
        y = 300 + 30 * k
        for text, x, w in cells:
            out.append(TextLine(text, 0.99, ((x, y + slope * x), (x + w, y + slope * (x + w)),
                                             (x + w, y + slope * (x + w) + 20), (x, y + slope * x + 20))))
    return tuple(out)


# A Vietnamese supermarket till: "GTIN name" over "VAT rate | [qty] | unit price | amount",
# the price before a discount and its reason under some items, a note box between items.
_VAT_TILL = [
    [("PHIEU TINH TIEN", 200, 160)],
    [("08935005800015 Nuoc khoang Lavie", 20, 330)],
    [("VAT10%", 20, 70), ("7,000.00", 250, 90), ("7,000.00", 450, 90)],
    [("Gia goc:", 40, 80), ("8,500.00", 250, 90)],
    [("08936112990224 Duong trang CoopSelect", 20, 360)],
    [("VAT05%", 20, 70), ("2", 150, 15), ("17,200.00", 250, 100), ("34,400.00", 450, 100)],
    [("Ly do: Theo gia tap trung", 40, 260)],
    [("* Ghi chu ********", 20, 300)],
    [("****************", 20, 300)],
    [("08934839125097 KDR P/S 123 240g", 20, 320)],
    [("VAT10%", 20, 70), ("35,000.00", 250, 100), ("35,000.00", 450, 100)],
    [("Tong so tien thanh toan:", 20, 240), ("76,400.00", 450, 100)],
]


def test_a_vat_till_photographed_at_a_slant():
    # Slanted by 8 %: a row's right end stands 36 px (more than a row) above its left end, so
    # rows are told apart across the text direction (app.geometry.row_positions).
    lines = _slanted(_VAT_TILL, -0.08)
    got = till_items(lines)
    assert [(i.description, i.quantity, i.unit_price, i.amount, i.tax_rate) for i in got] == [
        ("Nuoc khoang Lavie", None, None, Decimal("7000.00"), "10"),
        ("Duong trang CoopSelect", Decimal("2"), Decimal("17200.00"), Decimal("34400.00"), "5"),
        ("KDR P/S 123 240g", None, None, Decimal("35000.00"), "10"),
    ]


def test_rows_of_a_slanted_page_are_grouped_along_the_text():
    from app.extraction.item_cells import visual_rows

    lines = _slanted(_VAT_TILL, -0.08)
    rows = [[lines[i].text for i in row] for row in visual_rows(lines)]
    assert ["VAT05%", "2", "17,200.00", "34,400.00"] in rows and ["Gia goc:", "8,500.00"] in rows
    level = _slanted(_VAT_TILL, 0.0)
    assert [[level[i].text for i in row] for row in visual_rows(level)] == [[t for t, *_ in r] for r in _VAT_TILL]


def test_an_amount_misread_by_one_digit_is_read_as_its_unit_price_when_that_adds_up():
    got = _read([
        [("8934839125097 KDR P/S 123 240g", 20, 320)],
        [("VAT10%", 20, 70), ("35,000.00", 250, 100), ("35,000.00", 450, 100)],
        [("8934839123338 KDR CloseUp tt bang tuyet", 20, 360)],
        [("VAT10%", 20, 70), ("39,000.00", 250, 100), ("29,000.00", 450, 100)],  # 39,000 printed
        [("TONG TIEN", 20, 120), ("74,000.00", 450, 100)],
    ])
    assert [(i.amount, i.checks) for i in got] == [(Decimal("35000.00"), None),
                                                   (Decimal("39000.00"), {"amount_from_unit_price": True})]
    assert got[1].confidence < got[0].confidence
    # Without a total to add up to, nothing is repaired (and nothing read).
    assert _read([r for r in [
        [("8934839123338 KDR CloseUp", 20, 300)],
        [("VAT10%", 20, 70), ("39,000.00", 250, 100), ("29,000.00", 450, 100)],
        [("TONG TIEN", 20, 120), ("58,000.00", 450, 100)]]]) == []


def test_a_total_of_nothing_is_no_target():
    # "Tổng tiền chiết khấu 0,00" and loyalty points of 0 do not make a list of items.
    got = _read([
        [("Tong tien chiet khau", 20, 200), ("0,00", 450, 60)],
        [("Diem phat sinh:", 20, 150), ("0,00", 450, 60)],
        [("Diem da dung:", 20, 150), ("0,00", 450, 60)],
    ], reader=headerless_items)
    assert got == []


def test_price_notes_in_other_languages_are_not_items():
    got = _read([
        [("4006381333931 Kaffee Crema 1kg", 20, 320)],
        [("MwSt 19%", 20, 80), ("12,99", 250, 60), ("12,99", 450, 60)],
        [("Statt 14,99", 40, 120), ("14,99", 250, 60)],
        [("4001724819806 Milch 1l", 20, 240)],
        [("MwSt 7%", 20, 80), ("2", 150, 15), ("1,19", 250, 60), ("2,38", 450, 60)],
        [("Summe", 20, 80), ("15,37", 450, 60)],
    ])
    assert [(i.description, i.quantity, i.amount, i.tax_rate) for i in got] == [
        ("Kaffee Crema 1kg", None, Decimal("12.99"), "19"), ("Milch 1l", Decimal("2"), Decimal("2.38"), "7")]
