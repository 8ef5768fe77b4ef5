"""Rule reader on hand-made OCR lines (patterns seen on SROIE and MC-OCR receipts)."""

import pytest

from app.domain import OcrResult
from app.extraction.doctypes import DOCUMENT_TYPES
from app.extraction.rules import RuleReader
from tests.conftest import line


def read(texts, doc="receipt"):
    # The layout rules alone: the learned address line model is tested in test_line_roles.py.
    lines = tuple(line(t, 10, 30 * i) for i, t in enumerate(texts))
    ocr = OcrResult(lines, 400, 30 * len(texts), 0, 0)
    return {c.key: c for c in RuleReader(address_model=None).read(ocr, list(DOCUMENT_TYPES[doc].fields), doc)}


MY_RECEIPT = [
    "TAX INVOICE",
    "POPULAR BOOK",
    "CO. (M) SDN BHD",
    "(Co. No. 113825-W)",
    "No 8, Jalan 7/118B, Desa Tun Razak",
    "56000 Kuala Lumpur, Malaysia",
    "Tel : 03-9201 6281",
    "ORD #64 -REG #2- 25/12/2016 13:51:47",
    "Subtotal Incl. GST:RM", "12.61",
    "Rounding Adj", "-0.01",
    "Total Incl. GST:RM", "12.60",
    "CASH", "50.00",
    "Total Qty: 3",
]


def test_malaysian_receipt():
    got = read(MY_RECEIPT)
    assert got["seller"].value == "POPULAR BOOK CO. (M) SDN BHD"
    assert got["seller"].line_indices == (1, 2)
    assert got["address"].value == "No 8, Jalan 7/118B, Desa Tun Razak 56000 Kuala Lumpur, Malaysia"
    assert got["date"].normalized == "2016-12-25"
    assert got["total"].normalized["amount"] == "12.60"
    assert all(c.source == "rule" and 0 < c.confidence <= 1 for c in got.values())


VN_RECEIPT = [
    "MINIMART ANAN",
    "ĐC: Chợ Sủi Phú Thị Gia Lâm",
    "ĐT: 0987 654 321",
    "Số GD: 000AC2212008001565 Ngày: 11/08/2020 - 21:19",
    "Tổng số lượng: 3",
    "Tổng tiền:", "168,000",
    "Tiền khách đưa:", "200,000",
    "Tiền trả lại:", "32,000",
]


def test_vietnamese_receipt():
    got = read(VN_RECEIPT)
    assert got["seller"].value == "MINIMART ANAN"
    assert got["address"].value == "Chợ Sủi Phú Thị Gia Lâm"
    assert got["date"].normalized == "2020-08-11"
    assert got["total"].value == "168,000"
    assert got["total"].line_indices == (5, 6)


@pytest.mark.parametrize("texts,amount", [
    (["TOTAL INCL. GST@6%", "RM 71.90"], "71.90"),
    (["Total Includes GST 6%", "9.00"], "9.00"),
    (["TOTAL AMT.", "RM", "60.31"], "60.31"),
    (["Total RM Incl. of GST 20.98", "Rounding Adj 0.02", "Total RM 21.00"], "21.00"),
    (["TỔNG TIỀN PHẢI T.TOÁN 85.000"], "85000"),
])
def test_total_variants(texts, amount):
    assert read(["SHOP SDN BHD", *texts])["total"].normalized["amount"] == amount


@pytest.mark.parametrize("text,iso", [
    ("ORD #70 -REG #19-18/03/201823:02:16", "2018-03-18"),
    ("[Sales]2018-01-05 22:55:25", "2018-01-05"),
    ("24-Mar-2018 03:44:22 PM", "2018-03-24"),
    ("15/Apr/2017 04:56:46", "2017-04-15"),
    ("Thời gian 21:07:49 - 14/08/2020", "2020-08-14"),
])
def test_dates(text, iso):
    assert read(["SHOP SDN BHD", text])["date"].normalized == iso


def test_cccd_front_captions():
    got = read(["CĂN CƯỚC CÔNG DÂN", "Số / No.: 079034001234", "Họ và tên / Full name:", "NGUYỄN VĂN AN",
                "Ngày sinh / Date of birth: 01/01/1990", "Giới tính / Sex: Nam Quốc tịch / Nationality: Việt Nam"],
               "cccd_front")
    assert got["id_number"].value == "079034001234"
    assert got["full_name"].value == "NGUYỄN VĂN AN"
    assert got["date_of_birth"].normalized == "1990-01-01"
    assert got["sex"].normalized == "M"


def test_nationality_read_without_tone_marks_is_normalised():
    got = read(["Quốc tịch / Nationality: Vit Nam"], "cccd_front")
    assert got["nationality"].value == "Vit Nam" and got["nationality"].normalized == "Việt Nam"


# A VinCommerce header (MC-OCR): the chain's logo word on the left, the store and
# its address in a column to its right, read interleaved by the detector.
VINCOMMERCE = (
    line("VM+ QNH Tổ 7, Khu Minh Tiến A", 253, 163, w=130, h=20),
    line("VlnCommerce", 138, 165, w=100, h=54),
    line("P. Cẩm Bình, TP. Cẩm Phả, QNH", 250, 192, w=132, h=20),
    line("Tổ 7, Khu Minh Tiến A", 269, 179, w=94, h=18),
    line("0247106686-51561", 275, 209, w=83, h=18),
    line("Ngày bán:12/08/2020 18:49", 133, 226, w=177, h=30),
    line("HÓA ĐƠN BÁN HÀNG", 220, 260, w=106, h=23),
    line("Tổng số:", 130, 300, w=60, h=20),
    line("24", 380, 300, w=20, h=20),
    line("Tổng tiền:", 130, 330, w=60, h=20),
    line("238,0)08", 380, 330, w=60, h=20),
)


def _read_lines(lines, width=500, height=400, doc="receipt"):
    ocr = OcrResult(tuple(lines), width, height, 0, 0)
    return {c.key: c for c in RuleReader(address_model=None).read(ocr, list(DOCUMENT_TYPES[doc].fields), doc)}


def test_two_column_header_chain_logo_and_address_beside_it():
    got = _read_lines(VINCOMMERCE)
    assert got["seller"].value == "VinCommerce"  # one misread letter: the chain's spelling
    assert got["address"].value == "VM+ QNH Tổ 7, Khu Minh Tiến A Tổ 7, Khu Minh Tiến A P. Cẩm Bình, TP. Cẩm Phả, QNH"
    assert got["address"].line_indices == (0, 3, 2)
    assert got["address"].checks["layout"] == "beside seller"


def test_item_count_is_not_the_total_and_specks_between_digits_are_dropped():
    got = _read_lines(VINCOMMERCE)
    assert got["total"].normalized == {"amount": "238008", "currency": "VND"}


def test_vat_inclusive_total_caption():
    got = read(["CỬA HÀNG AN", "Tổng cộng (đã gồm VAT):", "70,000", "Tiền khách trả:", "100,000"])
    assert got["total"].normalized["amount"] == "70000"


def test_page_photographed_turned_90_degrees_is_read_by_rows():
    # The upright page's rows are columns in the image; its top is at the image's right.
    def turned(text, x, y, w=100, h=20):
        # upright (x, y) -> image (W - y - h, x) for an image 400 wide (page top at the right)
        return line(text, 400 - y - h, x, w=h, h=w)

    lines = [turned("CỬA HÀNG AN", 10, 10), turned("Chợ Sủi", 10, 40), turned("Tổng cộng", 10, 100, w=60),
             turned("47,200", 250, 100, w=60), turned("Tiền khách trả:", 10, 130), turned("50,000", 250, 130)]
    got = _read_lines(lines, width=400, height=600)
    assert got["total"].normalized["amount"] == "47200"


@pytest.mark.parametrize("texts,amount,adjustment", [
    # Total printed before its cash rounding adjustment: the rounded amount.
    (["TOTAL AMT.", "RM", "60.31", "ROUNDING ADJ", "-0.01", "CASH", "RM", "70.30"], "60.30", "-0.01"),
    # The rounded total on a "Rounding" line of its own.
    (["Total Sales (Inclusive GST) RM", "27.28", "Rounding Adjustment RM", ".02", "Rounding RM", "27.30"],
     "27.30", "0.02"),
    # A total printed after the rounding line is already rounded.
    (["Total Amount(incl. GST)", "31.47", "Rounding", "-0.02", "TOTAL", "31.45", "CASH", "50.00"], "31.45", None),
    # An adjustment after the payment belongs to the change, not the total.
    (["TOTAL (GST INCL)", "2.56", "CASH", "50.55", "ROUNDING ADJUSTMENTS", "0.01-", "CHANGE DUE", "48.00"],
     "2.56", None),
])
def test_rounding_adjustment(texts, amount, adjustment):
    got = read(["SHOP SDN BHD"] + texts)["total"]
    assert got.normalized["amount"] == amount
    assert got.checks.get("rounding_adjustment") == adjustment


@pytest.mark.parametrize("texts,amount", [
    (["SHOP SDN BHD", "Total Sales (Excluding GST)", "180.00", "Total GST", "10.80",
      "Tota/Sales (Inclusive of GST) :", "190.80", "CASH :", "200.00"], "190.80"),  # "l " read "/"
    (["SHOP SDN BHD", "TOTA1 RM 12.50", "CASH", "RM 20.00"], "12.50"),  # l read 1: not the amount "1"
    (["SHOP SDN BHD", "TOTAL", "28-90", "CASH", "28:90", "CHANGE", "0.00"], "28.90"),  # the point read - or :
])
def test_misread_total_captions_and_decimal_points(texts, amount):
    assert read(texts)["total"].normalized["amount"] == amount


def test_a_bare_time_under_a_total_caption_keeps_its_colon():
    from app.extraction.repairs import repair_amount_text

    assert repair_amount_text("12:30") == "12:30"
    assert repair_amount_text("RM 41:45") == "RM 41.45"
    assert repair_amount_text("1-23-45") == "1-23-45"


def test_a_total_column_header_over_a_tax_summary_row_is_not_the_total():
    got = read(["SHOP SDN BHD", "SUBTOTAL (QTY 4)", "RM41.45", "CASH", "RM51.50", "CHANGE", "RM10.05",
                "GST Summary", "Net(RM)", "GST(RM)", "Tota1(RM)", "S 6.00%39.092.3441.43", "THANK YOU"])["total"]
    assert got.normalized["amount"] == "41.45"


def test_money_amount_preferred_over_a_rate_on_the_caption_line():
    got = read(["SHOP SDN BHD", "TOTAL INCL. GST@66", "RM 71.90", "CASH", "RM 72.00"])["total"]
    assert got.normalized["amount"] == "71.90"


@pytest.mark.parametrize("texts,seller", [
    (["URBAN 1DEA SDN BHD (417940-M),", "A-G-06, DATARAN GLOMAC,"], "URBAN IDEA SDN BHD"),
    (["MR. D.1.Y. (M) SIN BHD", "LOT 1851-A"], "MR. D.I.Y. (M) SDN BHD"),
    # The suffix as OCR misreads it (D dropped, B read D, D read 0), in the name's own case.
    (["ONE TWO SEAFOOD RESTAURANT SDN DHD", "(1120908-M)"], "ONE TWO SEAFOOD RESTAURANT SDN BHD"),
    (["First City Parking Sn Bhd", "(961394-X)"], "First City Parking Sdn Bhd"),
    (["KEDAI MAJU SDN. BH0", "(12345-A)"], "KEDAI MAJU SDN. BHD"),
    (["99 SPEED MART 5/8", "(519537-X)", "LOT P.T. 2811, JALAN ANGSA,"], "99 SPEED MART S/B"),
    (["PASAR RAYA MEGA MAJU", "(SEMENYIH) SDN BHD", "(767840-W)"], "PASAR RAYA MEGA MAJU (SEMENYIH) SDN BHD"),
    (["AIK HUAT HARDWARE", "ENTERPRISE (SETIA", "ALAM)SDN", "BHD", "822737-X"],
     "AIK HUAT HARDWARE ENTERPRISE (SETIA ALAM)SDN BHD"),
    (["A06035", "LEMON TREE RESTAURANT", "JTJ FOODS SDN BHD", "(1179227A)"], "LEMON TREE RESTAURANT JTJ FOODS SDN BHD"),
    (["..THANK YOU AND DO VISIT US AGAIN......", "FIVE STAR CASH & CARRY"], "FIVE STAR CASH & CARRY"),
])
def test_malaysian_company_names(texts, seller):
    assert read(texts + ["TOTAL", "RM 1.00"])["seller"].value == seller


def test_malaysian_address_without_accents_or_trailing_caption():
    got = read(["SHOP SDN BHD", "379, JALAN PERMAS SATU,", "BANDAR BARU PERMAS JAYÀ", "81750 PLENTONG, JOHOR.", "TAXINVOICE",
                "TOTAL", "RM 44.90"])
    assert got["address"].value == "379, JALAN PERMAS SATU, BANDAR BARU PERMAS JAYA 81750 PLENTONG, JOHOR."


@pytest.mark.parametrize("text,iso", [
    ("[Sales]2018-01-0522:55:25", "2018-01-05"),  # a time glued to the day
    ("14May/2017 02.56:39", "2017-05-14"),
    ("#19536001/06/2018", "2018-06-01"),  # a number glued before the day
    (":26-05--201815:16:13", "2018-05-26"),  # doubled separator, time glued to the year
])
def test_dates_glued_to_other_digits(text, iso):
    got = read(["SHOP SDN BHD", "No 1, Jalan 2", text, "TOTAL", "RM 1.00"])["date"]
    assert got.normalized == iso


def test_address_town_and_state_lines_after_the_postcode():
    got = read(["SINNATHAMBY HOLDINGS SDN. BHD. (219336-T)", "NO.17, 18 & 41, JALAN BESAR,", "39100 BRINCHANG,",
                "CAMERON HIGHLANDS,", "PAHANG", "GST Reg.:002120876032", "TOTAL", "RM 1.00"])
    assert got["address"].value == "NO.17, 18 & 41, JALAN BESAR, 39100 BRINCHANG, CAMERON HIGHLANDS, PAHANG"
    got = read(["AA PHARMACY SDN BHD", "B-8, JALAN SS15/4D", "47500 SUBANG JAYA,", "'SELANGOR", "TOTAL", "RM 1.00"])
    assert got["address"].value == "B-8, JALAN SS15/4D 47500 SUBANG JAYA, 'SELANGOR"
    got = read(["MYNEWS RETAIL SB", "NO. 9, JALAN 16/11,46350,PETALING JAYA,SELANGOR", "myNEWScareline: 1800 88 1231",
                "TOTAL", "RM 1.00"])
    assert got["address"].value == "NO. 9, JALAN 16/11,46350,PETALING JAYA,SELANGOR"


def test_payment_slip_captions_misread():
    # Payoo slips at VinMart: captions on lines of their own, the provider's logo in between.
    got = read(["TÊN DỊ! L.Ý:", "Pay", ".UIMMART", "DịA OI:", "TỔ 7 KHU MINH TIẾN A.P.CÁ", "ĐIỆN THOẠI:",
                "1900545478", "Tổng tiền: 549.885 đ"])
    assert got["seller"].value == "VinMart"
    assert got["address"].value == "TỔ 7 KHU MINH TIẾN A.P.CÁ"


def test_cash_handed_over_is_not_the_total_when_change_is_given():
    got = read(["CỬA HÀNG AN", "Tổng cộng:", "78,500", "Tổng tiền: 200,000", "Tiền khách trả:", "VND 200,000",
                "Tiền trả lại VND: 121,500"])
    assert got["total"].normalized["amount"] == "78500"
    # Exact payment, no change: the cash line proves nothing.
    got = read(["SHOP SDN BHD", "TOTAL", "RM 60.60", "GRAND TOTAL", "RM 64.00", "CASH", "RM 64.00", "CHANGE", "0.00"])
    assert got["total"].normalized["amount"] == "64.00"


@pytest.mark.parametrize("texts,amount", [
    (["CỬA HÀNG AN", "Thành tiền", "145,000", "Cộng tiền hàng", "145,000", "Cám ơn quý khách"], "145000"),
    (["CỬA HÀNG AN", "Tong so tien thanh toan:", "36,490.00", "Phuong thuc thanh toan:", "Tien mat", "50,000.00"],
     "36490.00"),
])
def test_vietnamese_total_captions(texts, amount):
    assert read(texts)["total"].normalized["amount"] == amount


def test_vietnamese_seller_continued_and_customer_address_ignored():
    got = _read_lines([line("Saigon Co.op", 475, 257, w=101, h=25), line("Co.op Food HN THE K-PARK", 426, 271, w=199, h=27),
                       line("Ma so thue: 0309129418-115", 457, 300, w=255, h=30)], width=800, height=600)
    assert got["seller"].value == "Saigon Co.op Co.op Food HN THE K-PARK"
    got = _read_lines([line("SCTC CỔ THỎ 104 TRẦN PHÚ - CẨM", 206, 215, w=417, h=55), line("PHẢ", 385, 260, w=59, h=33),
                       line("Hotline: 0963133818", 320, 343, w=183, h=33)], width=800, height=600)
    assert got["seller"].value == "SCTC CỔ THỎ 104 TRẦN PHÚ - CẨM PHẢ"
    got = read(["PHỐ MỎ", "Tổ 7 khu Tân Lập 4 - P Cẩm Thủy", "ĐT:0858.931.931", "HÓA ĐƠN BÁN HÀNG",
                "Khách hàng:", "SĐT:", "Địa chỉ:", "Đơn giá", "Tổng tiền: 50,000"])
    assert got["address"].value == "Tổ 7 khu Tân Lập 4 - P Cẩm Thủy"


def test_english_address_caption_on_a_vietnamese_receipt():
    got = read(["Legend", "Welcome to Trung Nguyen Legend", "Add: 683 - 685 duong 3/2 P.6 Q.10 - HCM",
                "Phone:", "Ngay: 04/20/19 11:25"])
    assert got["address"].value == "683 - 685 duong 3/2 P.6 Q.10 - HCM"


def test_marks_beside_the_header_are_not_part_of_name_or_address():
    # Saigon Co.op receipt (MC-OCR 145014ziulw): a "%" beside the chain name, a "4" and
    # table marks in the margins beside the address lines.
    got = _read_lines(width=1100, height=900, lines=[
        line("Saigon Co.op", 475, 128, w=137, h=35), line("%", 793, 121, w=36, h=30),
        line("Co.op Food HN THE K-PARK", 413, 150, w=262, h=40),
        line("Ma so thue: 0309129418-115", 404, 177, w=280, h=39),
        line("Tang 1,SH42 - Toa K3,Cong trinh chung cu", 320, 201, w=431, h=44),
        line("ket hop dich vu tren o dat H-CT2 thuoc", 330, 226, w=411, h=44),
        line("4", 987, 216, w=36, h=35),
        line("Du an Dau tu xay dung Khu nha o Hi Brand", 320, 251, w=434, h=47),
        line("Tab", 177, 307, w=74, h=33), line("K", 246, 295, w=47, h=32),
        line("tai Khu do thi moi Van Phu,", 406, 283, w=294, h=37),
        line("P. Phu La, Q. Ha Dong, Tp Ha Noi", 372, 305, w=351, h=46),
        line("Email: cfthekpark@coopfood.vn", 400, 392, w=252, h=33),
    ])
    assert got["seller"].value == "Saigon Co.op Co.op Food HN THE K-PARK"
    assert got["address"].value.startswith("Tang 1,SH42 - Toa K3,Cong trinh chung cu ket hop")
    assert got["address"].value.endswith("Hi Brand tai Khu do thi moi Van Phu, P. Phu La, Q. Ha Dong, Tp Ha Noi")
    assert " 4 " not in got["address"].value and "Tab" not in got["address"].value


def test_words_of_the_name_split_by_the_detector_stay_in_the_name():
    got = _read_lines(width=1100, height=900, lines=[
                      line("SWC", 78, 99, w=68, h=30), line("ENTERPRISE", 157, 100, w=206, h=28),
                       line("SDN", 377, 100, w=69, h=30), line("BHD", 454, 100, w=68, h=30),
                       line("(1125830-V)", 244, 123, w=114, h=29), line("5-7, JALAN MAHAGONI 7/1", 182, 144, w=235)])
    assert got["seller"].value == "SWC ENTERPRISE SDN BHD"


def test_what_the_customer_paid_is_not_the_total():
    # "Tiền khách trả" misread "Tiổn khách trả" (MC-OCR 145013ibbrd): still a payment line.
    got = _read_lines(width=1100, height=900, lines=[line("MINIMART", 10, 10), line("Tổng cộng", 235, 767, w=66, h=22),
                       line("77,000", 469, 768, w=41, h=18), line("Tiổn khách trả:", 236, 785, w=87, h=19),
                       line("80,000", 468, 786, w=41, h=18)])
    assert got["total"].normalized["amount"] == "77000"


def test_captioned_address_over_three_lines_past_a_logo_word():
    # MC-OCR 145014rsxlc: the shop's logo ("RUNA") left of the address column, between its lines.
    got = _read_lines(width=900, height=900, lines=[
        line("Runa Corner", 360, 366, w=259, h=49), line("Địa chỉ: 11 Ngách 34 ngõ", 359, 401, w=413, h=60),
        line("RUNA", 97, 449, w=235, h=98), line("61 Hoàng Cầu, ô chợ Dừa,", 358, 442, w=434, h=59),
        line("Đống Đa, Hà Nội", 360, 489, w=282, h=54), line("CORNER", 128, 554, w=176, h=52),
        line("Điện thoại: 033 774 2019", 363, 526, w=414, h=57)])
    assert got["address"].value == "11 Ngách 34 ngõ 61 Hoàng Cầu, ô chợ Dừa, Đống Đa, Hà Nội"


def test_payment_terminal_summary_total_at_the_counter():
    # A Payoo "TỔNG KẾT GIAO DỊCH" slip (MC-OCR 145013qrpce, as read): no total caption; the sum
    # is under "TẠI QUẦY", read with a speck before it. The summary's own title is no total caption.
    got = read(["TÊN ĐẠI LÝ:", "VINMART", "TÔNG KẾT GIAU DỊCH", "THƠI GIAN", ".13/08/2020 12:18:45",
                "002594 GAKENA200", "200.000Đ", "TAI QUAY", "...04", ".549.885 Đ", "WELCOME TO VINMART"])
    assert got["total"].normalized == {"amount": "549885", "currency": "VND"}
    assert "total" not in read(["MINIMART", "TAI QUAY", "549.885 Đ"])  # no summary slip: no such caption


def test_subtotal_is_the_amount_due_when_no_total_caption_is_printed():
    # SROIE X51005715010 (as read): the rounded amount is printed as "SUBTOTAL (QTY 1)";
    # the GST table's "Tota1(RM)" is no caption.
    got = read(["SUBTOTAL", "RM41.43", "ROUNDING", "RM0.02", "SUBTOTAL (QTY", "RM41.45", "CASH", "RM51.50",
                "CHANGE CASH", "RM10.05"])
    assert got["total"].normalized["amount"] == "41.45"
    assert got["total"].checks.get("subtotal") is True and got["total"].confidence < 0.9 * 0.99
    assert read(["SUBTOTAL", "RM41.43", "TOTAL", "RM41.45"])["total"].checks.get("subtotal") is None


def test_discount_total_and_negative_amounts_are_not_the_total():
    # VinMart (MC-OCR 145014rrbnn): "Tổng tiền đã giảm" (total discount) read "TỠNG TIẾN Á GIẢM".
    got = read(["VINMART", "TỔNG TIÊN PHÁI T.TOÁN", "243.214", "TỠNG TIẾN Á GIẢM", "-14.250",
                "TIẾN KHÁCH TRẢ", "243.214", "TIẾN MẶT", "500.000", "TIẾN TRẢ LẠI", "259.786"])
    assert got["total"].normalized["amount"] == "243214"


def _box(text, corners):
    from app.domain import TextLine

    return TextLine(text, 0.95, tuple(corners))


# Bottom of a curled receipt (MC-OCR 145014uxlol): item rows at the top run level, the caption
# rows below slant down to the right (about 0.03), and the amounts' short boxes come out level.
# The subtotal caption as read ("Cộng liền nàng"), so only "Khách phải trả" can give the total.
CURLED = [
    _box("Khách hàng: CHỊ LY", [(130, 400), (367, 400), (367, 437), (130, 437)]),
    _box("Điện thoại: 0981482793", [(130, 450), (404, 450), (404, 483), (130, 483)]),
    _box("Đơn giá", [(430, 560), (534, 560), (534, 595), (430, 595)]),
    _box("Thành tiền", [(680, 560), (818, 560), (818, 591), (680, 591)]),
    *[_box(amount, [(x, y), (x + 80, y), (x + 80, y + 31), (x, y + 31)])
      for amount, x, y in (("15.000", 420, 700), ("15.000", 715, 700), ("14.000", 420, 850), ("14.000", 715, 850),
                           ("17.000", 420, 1000), ("168.000", 420, 1152))],
    _box("BVS Diana Siêu thấm Siêu mỏng cánh", [(130, 1000), (664, 1004), (664, 1040), (130, 1036)]),
    _box("17.000", [(715, 1000), (795, 1000), (795, 1031), (715, 1031)]),
    _box("Ta dán Huggies size S 56x3", [(130, 1100), (470, 1104), (470, 1143), (130, 1139)]),
    _box("Dove DG phục hồi hư tổn gội", [(130, 1050), (504, 1052), (504, 1089), (130, 1087)]),
    _box("336.000", [(715, 1152), (809, 1152), (809, 1184), (715, 1184)]),
    _box("Cộng liền nàng", [(132, 1180), (320, 1185), (319, 1227), (131, 1222)]),
    _box("Chiết khấu", [(132, 1221), (264, 1225), (263, 1263), (131, 1259)]),
    _box("382.000", [(705, 1208), (812, 1208), (812, 1242), (705, 1242)]),
    _box("Khách phải trả", [(130, 1261), (321, 1268), (320, 1308), (129, 1301)]),
    _box("0", [(787, 1253), (811, 1253), (811, 1283), (787, 1283)]),
    _box("Tiền khách đưa", [(131, 1302), (319, 1310), (318, 1347), (130, 1339)]),
    _box("382.000", [(705, 1290), (810, 1292), (809, 1328), (704, 1326)]),
    _box("Trả lại", [(124, 1340), (207, 1346), (204, 1386), (121, 1380)]),
    _box("352.000", [(706, 1330), (811, 1333), (810, 1367), (705, 1364)]),
]


def test_caption_rows_follow_the_local_slant_of_a_curled_receipt():
    from app.geometry import local_text_angles, text_angle

    assert abs(text_angle(CURLED)) < 0.01  # the page-wide median is level ...
    slant = local_text_angles(CURLED)
    assert slant[18] > 0.02  # ... but around "Khách phải trả" the rows descend to the right
    got = _read_lines(CURLED, width=1024, height=1820)
    assert got["total"].normalized == {"amount": "382000", "currency": "VND"}  # not the discount's 0


def test_vietnamese_item_lines_are_no_address_and_prices_end_the_header():
    # MC-OCR 145014ysbpa: the address line was too faint to detect; the first item ("Bút bi 9269",
    # digits but no house number or address word) and the prices below it are not the address.
    got = read(["NHÀ SÁCH GD-TC CẨM PHẢ", "863328", "Bút bi 9269", "43 000", "Thước kẻ 20cm", "22.000đ",
                "Tổng cộng: 65.000"])
    assert "address" not in got
    got = read(["NHÀ SÁCH GD-TC CẨM PHẢ", "Số 5 Cẩm Tây - Cẩm Phả", "ĐT: 0333883328", "Bút bi 9269", "43 000"])
    assert got["address"].value == "Số 5 Cẩm Tây - Cẩm Phả"


def test_misread_hotline_and_staff_captions_end_the_header():
    got = read(["Satra Group", "73/1 KP2 Đường Nguyễn Văn Qua,P.Đông Hưng", "Họt1inế:CSKH:18001191",
                "Mail : dvkh@satra.com.vn"])
    assert got["address"].value == "73/1 KP2 Đường Nguyễn Văn Qua,P.Đông Hưng"
    # "NVien" (nhân viên, the staff member) is no seller, though "Store" names one.
    got = read(["Legend", "Welcome to Trung Nguyen Legend", "Add: 683 - 685 duong 3/2 P.6 Q.10 - HCM",
                "NVien: Store Manager", "Total VND 64,000"])
    assert got["seller"].value == "Legend"


def test_a_bracketed_line_under_the_name_is_not_the_address():
    got = read(["TONYMOLY VIVA CITY", "(TONYMOLY SHOP (95874))", "UNIT L1-044B, VIVACITY MEGAMALL,",
                "JALAN WAN ALWI,", "93350 KUCHING, SARAWAK.", "GST ID：000349356032", "TOTAL", "RM 10.00"])
    assert got["address"].value == "UNIT L1-044B, VIVACITY MEGAMALL, JALAN WAN ALWI, 93350 KUCHING, SARAWAK."


def test_invoice_number_is_a_token_with_a_digit_not_the_captions_sentence():
    # invoice2data AmazonWebServices / oyo: "Invoice" opens sentences too.
    got = read(["Amazon Web Services Invoice", "Invoice from Amazon web services", "Invoice Number: 42183017",
                "Invoice Date: August 3, 2014", "TOTAL AMOUNT DUE ON August 3, 2014 $4.11"], doc="invoice")
    assert got["invoice_number"].value == "42183017"
    got = read(["Invoice No. INV/2023/03/0008", "Invoice Date: 03/20/2023"], doc="invoice")
    assert got["invoice_number"].value == "INV/2023/03/0008"
    # A caption whose row holds no number gives none (the LLM is asked instead).
    assert "invoice_number" not in read(["Invoice payable at the time of check-out", "Thank you", "Visit again",
                                         "Total 1939"], doc="invoice")


def test_french_and_dutch_invoices_number_date_total_and_currency():
    # invoice2data NetpresseInvoice (fr) and coolblue (nl), as read by the OCR.
    fr = read(["NETPRESSE", "Commande prête à l'envoi", "Facture n° 2022089083", "Date: 28/11/2022", "Montant HT",
               "Total HT :", "46,68 €", "TVA 20% :", "9,34 €", "Total TTC :", "56,02 €"], doc="invoice")
    assert fr["invoice_number"].value == "2022089083"
    assert fr["date"].normalized == "2022-11-28"
    assert fr["total"].normalized == {"amount": "56.02", "currency": "EUR"}  # TTC, not HT; "ê" is French, not VND
    nl = read(["FACTUUR.", "Factuurnummer: 992288600", "Klantnummer: 6669263", "Factuurdatum: 29 maart 2014",
               "Subtotaal", "€ 4.904,94", "Totaal", "4.904,94"], doc="invoice")
    assert nl["invoice_number"].value == "992288600"
    assert nl["date"].normalized == "2014-03-29"
    # The amount without a symbol takes the currency the page names (€), with its decimal comma.
    assert nl["total"].normalized == {"amount": "4904.94", "currency": "EUR"}


def test_the_date_payment_is_due_is_not_the_invoice_date():
    got = read(["Facture n°562044387 du 02 Juillet 2015", "Date limite de paiement le 05 Juillet 2015",
                "29.99 € TTC"], doc="invoice")
    assert got["date"].normalized == "2015-07-02"
    got = read(["Invoice date: 01/03/2024", "Due date: 31/03/2024"], doc="invoice")
    assert got["date"].normalized == "2024-03-01"


def test_invoice_seller_and_buyer_are_names_not_captions_titles_or_amounts():
    got = read(["FACTUUR.", "Coolblue B.V", "Weena 664", "3012 CN Rotterdam", "Factuurnummer: 993548900"],
               doc="invoice")
    assert got["seller"].value == "Coolblue B.V"  # the title "Factuur" is not the seller
    got = read(["Sold By : WS Retail Services Pvt. Ltd", "Invoice Number #BLR_WFLD20151000982590"], doc="invoice")
    assert got["seller"].value == "WS Retail Services Pvt. Ltd"
    got = read(["Account number:", "296664039561", "Bill to", "Address", "TOTAL AMOUNT DUE ON August 3, 2014",
                "$4.11"], doc="invoice")
    assert "seller" not in got or got["seller"].value != "Account number:"
    assert "buyer" not in got  # "Address" is a caption, the others a total and an amount


def test_total_inclusive_gst_caption_and_a_misread_ringgit_sign():
    got = read(["BEMED (SP) SDN. BHD.", "Total", "8O-(DERMAPRO OINT) 15G", "SubTotal:", "635.00", "Rounding Adj :",
                "0.00", "lal Inclusive GST:", "635.00"])
    assert got["total"].normalized["amount"] == "635.00"  # "Total" above is a column heading
    got = read(["SHOP SDN BHD", "SUBTOTAL", "RN43.40", "TTL CASH", "RM43.40"])
    assert got["total"].normalized == {"amount": "43.40", "currency": "MYR"}


def test_a_word_of_the_name_boxed_apart_on_its_row_joins_the_name():
    got = _read_lines([line("PERNIAGAAN RIANG", 49, 206, w=510, h=45), line("RIA", 556, 199, w=105, h=55),
                       line("gst:001662431232 1210644T", 158, 250, w=383, h=41),
                       line("NO7,JLN UERO,SHAH ALAM.", 170, 326, w=355, h=47), line("TOTAL", 50, 500, w=80, h=30),
                       line("RM 9.00", 300, 500, w=80, h=30)], width=700, height=700)
    assert got["seller"].value == "PERNIAGAAN RIANG RIA"
    got = _read_lines([line("FY", 60, 203, w=72, h=28), line("EAGLE ENTERPRISE", 132, 201, w=404, h=31),
                       line("002065464-X", 226, 229, w=144, h=26),
                       line("NO. 42, JALAN PBS 14/11", 145, 251, w=299, h=31),
                       line("TOTAL", 50, 500, w=80, h=30), line("RM 9.00", 300, 500, w=80, h=30)],
                      width=700, height=700)
    assert got["seller"].value == "FY EAGLE ENTERPRISE"
    # A mark printed apart in the margin is still no part of it.
    got = _read_lines([line("CỬA HÀNG NĂM OÁNH", 100, 100, w=300, h=30), line("%", 600, 100, w=20, h=30),
                       line("Tổng tiền: 50.000", 100, 300, w=200, h=30)], width=700, height=700)
    assert got["seller"].value == "CỬA HÀNG NĂM OÁNH"


def test_address_opening_with_a_number_glued_to_no():
    got = read(["PASAR RAYA MEGA MAJU", "(SEMENYIH) SDN BHD", "(767840-W)", "NO24,25&26,",
                "JALAN PUSAT PERNIAGAAN BUNGA RAYA 4,", "PUSAT PERNIAGAAN BUNGA RAYA,", "TEL:", "TOTAL", "RM 1.00"])
    assert got["address"].value.startswith("NO24,25&26, JALAN PUSAT")


def test_an_item_row_beside_its_price_ends_the_address():
    got = _read_lines([line("Watson's Personal Care Stores Sdn Bhd", 69, 198, w=400, h=25),
                       line("Company Reg No. :289892V", 151, 227, w=250, h=25),
                       line("USJ Summit, Subang (SS)", 151, 279, w=250, h=25),
                       line("22241", 59, 335, w=60, h=25), line("WS CUT SCISSORS", 139, 335, w=200, h=25),
                       line("18.00", 425, 336, w=60, h=25), line("TOTAL", 60, 420, w=80, h=25),
                       line("18.00", 425, 420, w=60, h=25)], width=600, height=600)
    assert got["address"].value == "USJ Summit, Subang (SS)"


def test_a_misread_vnd_glued_to_the_total():
    # MC-OCR 145014bpeci, a card payment slip: "TỔNG CỘNG:" over "UND402,766".
    got = read(["Vietcombank", "THANH TOÁN", "S0 L0:", "000110", "TÔNG CỘNG:", "UND402,766", "APP: Visa Credit"])
    assert got["total"].normalized == {"amount": "402766", "currency": "VND"}


def test_tax_included_footnote_is_not_the_total_and_due_is_a_total_caption():
    # Patterns of the SROIE train transcripts (issue #11): the total printed after "DUE",
    # the tax it includes in a footnote below it.
    got = read(["KING'S CONFECTIONERY S/B 273500-U (KSB)", "NO.41, JALAN SERI BINTANG 2", "52100 KUALA LUMPUR.",
                "QTY 8 25.15", "ROUNDING ADJ - 0.00", "DUE 25.15", "PAY 25.15", "CHANGE 0.00",
                "(TOTAL INCLUDED GST @ 6% : 1.42)"])
    assert got["total"].normalized["amount"] == "25.15"
    assert got["seller"].value == "KING'S CONFECTIONERY S/B"  # registration number and branch code dropped


def test_a_name_cut_after_an_ampersand_continues_and_a_misread_bhd_is_fixed():
    got = read(["HOME MASTER HARDWARE &", "ELECTRICAL", "NO.113G & 115G, JALAN U13/BG", "40170 SETIA ALAM"])
    assert got["seller"].value == "HOME MASTER HARDWARE & ELECTRICAL"
    assert read(["BOOK TA .K(TAMAN DAYA) SDN BND", "NO.5, JALAN DAYA 1", "81100 JOHOR BAHRU"])[
        "seller"].value == "BOOK TA .K(TAMAN DAYA) SDN BHD"


@pytest.mark.parametrize("read_as,fixed", [
    ("No: G3, BIk G, JIn PJU 1A/3, Ara Damansara", "No: G3, Blk G, Jln PJU 1A/3, Ara Damansara"),
    ("NO. 53, JALAN 8ESAR, 45600", "NO. 53, JALAN BESAR, 45600"),
    ("LOT P.T. 2811, JALAN ANGSA, TANAN BERKELEY", "LOT P.T. 2811, JALAN ANGSA, TAMAN BERKELEY"),
    ("NO.59 JALAN PERMAS 9/5 BANDAR BARU PERMAS JAYA", "NO.59 JALAN PERMAS 9/5 BANDAR BARU PERMAS JAYA"),  # a place
])
def test_malaysian_address_misreadings(read_as, fixed):
    from app.extraction.repairs import fix_malaysian_address

    assert fix_malaysian_address(read_as) == fixed
