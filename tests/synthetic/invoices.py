"""Synthetic multi-page invoices and purchase orders with known line items and totals.

Rendered at test time from a seed (never committed): a Vietnamese VAT invoice
("HÓA ĐƠN GIÁ TRỊ GIA TĂNG": STT / Tên hàng hóa, dịch vụ / Đơn vị tính / Số lượng
/ Đơn giá / Thành tiền, amounts as ``1.234.567``, the table header repeated on
every page) and an English invoice or purchase order (No. / Description / Qty /
Unit / Unit Price / Amount, amounts as ``1,234.50``, the table running on to the
next page without a repeated header). Some descriptions wrap onto a second line.

Two renderings of each document:

* :func:`render_pdf`: a born-digital PDF (reportlab, DejaVu fonts from Debian's
  ``fonts-dejavu-core``, which cover Vietnamese) with a text layer;
* :func:`render_scanned`: the same pages rasterised (pypdfium2), slightly rotated,
  blurred and noised, saved as an image-only PDF or a multi-page TIFF: no text
  layer, so the pipeline must OCR them.

Sizes: A4 pages, coordinates in PDF points (1/72 inch).
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
SANS = FONT_DIR / "DejaVuSans.ttf"
SANS_BOLD = FONT_DIR / "DejaVuSans-Bold.ttf"

_VI_GOODS = [
    ("Giấy in A4 Double A 80gsm", "Ram", 85_000), ("Bút bi Thiên Long TL-027", "Hộp", 62_000),
    ("Mực in HP 85A chính hãng", "Hộp", 1_450_000), ("Bìa còng Kingstar 7cm", "Cái", 38_000),
    ("Dịch vụ bảo trì máy lạnh văn phòng định kỳ theo hợp đồng quý", "Lần", 2_300_000),
    ("Nước uống đóng chai Lavie 500ml", "Thùng", 96_000), ("Cáp mạng Cat6 AMP", "Cuộn", 2_150_000),
    ("Chuột không dây Logitech M331", "Cái", 390_000), ("Bàn phím cơ Akko 3087", "Cái", 1_290_000),
    ("Màn hình Dell P2422H 24 inch", "Cái", 4_890_000), ("Ổ cứng SSD Samsung 980 1TB", "Cái", 2_450_000),
    ("Dịch vụ vận chuyển và lắp đặt thiết bị tại văn phòng khách hàng", "Gói", 1_500_000),
    ("Băng keo trong 5cm", "Cuộn", 15_000), ("Kẹp giấy Deli 32mm", "Hộp", 12_000),
    ("Sổ tay bìa da A5", "Quyển", 75_000), ("Ghế xoay văn phòng lưới", "Cái", 1_850_000),
    ("Đèn bàn LED Rạng Đông", "Cái", 320_000), ("Bảng trắng từ tính 1,2 x 2,4m", "Cái", 1_650_000),
    ("Phần mềm diệt virus Kaspersky bản quyền 1 năm", "Bộ", 450_000), ("Tủ hồ sơ sắt 4 ngăn", "Cái", 3_200_000),
]
_EN_GOODS = [
    ("Copy paper A4 80gsm", "ream", "4.25"), ("Ballpoint pens, blue", "box", "6.90"),
    ("Toner cartridge HP 85A", "pcs", "68.50"), ("Lever arch file 75mm", "pcs", "3.15"),
    ("Quarterly maintenance of office air conditioning units under contract", "visit", "240.00"),
    ("Bottled water 500ml", "case", "7.80"), ("Network cable Cat6, 305m", "roll", "129.00"),
    ("Wireless mouse M331", "pcs", "17.99"), ("Mechanical keyboard TKL", "pcs", "59.00"),
    ("Monitor 24 inch IPS", "pcs", "189.00"), ("SSD 1TB NVMe", "pcs", "94.50"),
    ("Delivery and installation of equipment at the customer's office", "job", "150.00"),
    ("Packing tape 48mm", "roll", "1.20"), ("Paper clips 32mm", "box", "0.95"),
    ("Notebook A5 hardcover", "pcs", "4.60"), ("Mesh office chair", "pcs", "145.00"),
    ("LED desk lamp", "pcs", "22.40"), ("Magnetic whiteboard 120x240", "pcs", "118.00"),
    ("Antivirus licence, 1 year", "seat", "29.00"), ("Steel filing cabinet, 4 drawers", "pcs", "210.00"),
]


@dataclass(frozen=True)
class Item:
    """One known line item (amounts exact)."""

    description: str
    unit: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal


@dataclass
class SyntheticDocument:
    """A document's known content.

    Attributes:
        layout: ``vi`` (Vietnamese VAT invoice) or ``en`` (English).
        kind: ``invoice`` or ``purchase_order`` (the document type to request).
        number, issued: the document's number and date.
        seller, buyer: party names.
        items: the line items in printed order.
        vat_rate: percent.
        subtotal, tax, total: the printed totals (tax rounded to the currency's unit).
    """

    layout: str
    kind: str
    number: str
    issued: date
    seller: str
    buyer: str
    items: list[Item] = field(default_factory=list)
    vat_rate: int = 10

    @property
    def subtotal(self) -> Decimal:
        return sum((i.amount for i in self.items), Decimal(0))

    @property
    def tax(self) -> Decimal:
        unit = Decimal(1) if self.layout == "vi" else Decimal("0.01")
        return (self.subtotal * self.vat_rate / 100).quantize(unit, rounding=ROUND_HALF_UP)

    @property
    def total(self) -> Decimal:
        return self.subtotal + self.tax


def make_document(seed: int, layout: str, kind: str = "invoice", n_items: int = 28) -> SyntheticDocument:
    """A document with ``n_items`` items (enough for two A4 pages at the default)."""
    rng = random.Random(seed)
    issued = date(2024, 1, 1) + timedelta(days=rng.randrange(365))
    if layout == "vi":
        goods = [_VI_GOODS[i % len(_VI_GOODS)] for i in rng.sample(range(len(_VI_GOODS) * 2), n_items)]
        items = []
        for name, unit, price in goods:
            qty = Decimal(rng.randint(1, 40))
            items.append(Item(name, unit, qty, Decimal(price), qty * price))
        return SyntheticDocument("vi", kind, f"{rng.randrange(1, 99999):07d}", issued,
                                 "CÔNG TY TNHH THƯƠNG MẠI DỊCH VỤ AN PHÁT", "CÔNG TY CỔ PHẦN CÔNG NGHỆ MINH LONG",
                                 items, rng.choice([8, 10]))
    goods = [_EN_GOODS[i % len(_EN_GOODS)] for i in rng.sample(range(len(_EN_GOODS) * 2), n_items)]
    items = []
    for name, unit, price in goods:
        qty = Decimal(rng.randint(1, 25))
        items.append(Item(name, unit, qty, Decimal(price), qty * Decimal(price)))
    prefix = "PO" if kind == "purchase_order" else "INV"
    return SyntheticDocument("en", kind, f"{prefix}-2024-{rng.randrange(1, 9999):04d}", issued,
                             "Northwind Office Supplies Ltd", "Contoso Engineering GmbH", items, rng.choice([10, 20]))


def vi_amount(value: Decimal) -> str:
    """``1234567`` -> ``1.234.567`` (Vietnamese grouping)."""
    return f"{int(value):,}".replace(",", ".")


def en_amount(value: Decimal) -> str:
    """``1234.5`` -> ``1,234.50``."""
    return f"{value:,.2f}"


def _fonts():
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if "DejaVuSans" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("DejaVuSans", str(SANS)))
        pdfmetrics.registerFont(TTFont("DejaVuSans-Bold", str(SANS_BOLD)))


def render_pdf(doc: SyntheticDocument) -> bytes:
    """The document as a born-digital PDF with a text layer (A4, 1-3 pages)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import simpleSplit
    from reportlab.pdfgen import canvas

    _fonts()
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, invariant=1)
    width, height = A4
    vi = doc.layout == "vi"
    fmt = vi_amount if vi else en_amount

    def qty(q: Decimal) -> str:
        return str(int(q))

    if vi:
        cols = [("STT", 40, "c"), ("Tên hàng hóa, dịch vụ", 70, "l"), ("Đơn vị tính", 290, "c"),
                ("Số lượng", 350, "r"), ("Đơn giá", 410, "r"), ("Thành tiền", 490, "r")]
        desc_width = 210
    else:
        cols = [("No.", 40, "c"), ("Description", 70, "l"), ("Qty", 300, "r"), ("Unit", 340, "c"),
                ("Unit Price", 410, "r"), ("Amount", 490, "r")]
        desc_width = 220
    right = {0: 60, 2: 335, 3: 395, 4: 475, 5: 555} if vi else {0: 60, 2: 320, 3: 370, 4: 460, 5: 555}

    def text(x, y, s, size=9, bold=False, align="l"):
        c.setFont("DejaVuSans-Bold" if bold else "DejaVuSans", size)
        if align == "r":
            c.drawRightString(x, y, s)
        elif align == "c":
            c.drawCentredString(x, y, s)
        else:
            c.drawString(x, y, s)

    def header_block():
        if vi:
            text(width / 2, height - 60, "HÓA ĐƠN GIÁ TRỊ GIA TĂNG", 16, True, "c")
            text(width / 2, height - 78, f"Ngày {doc.issued.day:02d} tháng {doc.issued.month:02d} năm "
                                         f"{doc.issued.year}", 9, False, "c")
            text(400, height - 100, "Ký hiệu: 1C24TAP")
            text(400, height - 114, f"Số: {doc.number}")
            text(40, height - 140, f"Đơn vị bán hàng: {doc.seller}")
            text(40, height - 154, "Mã số thuế: 0312345678")
            text(40, height - 168, "Địa chỉ: 123 Nguyễn Văn Linh, Phường Tân Phong, Quận 7, TP. Hồ Chí Minh")
            text(40, height - 190, f"Tên đơn vị: {doc.buyer}")
            text(40, height - 204, "Mã số thuế: 0108765432")
            text(40, height - 218, "Hình thức thanh toán: TM/CK")
        else:
            title = "PURCHASE ORDER" if doc.kind == "purchase_order" else "INVOICE"
            text(40, height - 60, title, 18, True)
            label = "PO Number" if doc.kind == "purchase_order" else "Invoice Number"
            text(360, height - 60, f"{label}: {doc.number}")
            text(360, height - 74, f"Date: {doc.issued.isoformat()}")
            text(40, height - 110, "Supplier:" if doc.kind == "purchase_order" else "Seller:", 9, True)
            text(40, height - 124, doc.seller)
            text(40, height - 138, "12 Harbour Road, Bristol BS1 4DJ, United Kingdom")
            text(320, height - 110, "Buyer:" if doc.kind == "purchase_order" else "Bill to:", 9, True)
            text(320, height - 124, doc.buyer)
            text(320, height - 138, "Industriestrasse 5, 70565 Stuttgart")

    def table_header(y):
        c.line(38, y + 12, 557, y + 12)
        for k, (label, x, align) in enumerate(cols):
            if align == "l":
                text(x, y, label, 9, True)
            elif align == "r":
                text(right[k], y, label, 9, True, "r")
            else:
                text((x + right[k]) / 2 if k else 50, y, label, 9, True, "c")
        c.line(38, y - 5, 557, y - 5)
        return y - 20

    page = 1
    header_block()
    y = table_header(height - 250 if vi else height - 170)
    for n, item in enumerate(doc.items, 1):
        desc_lines = simpleSplit(item.description, "DejaVuSans", 9, desc_width)
        need = 14 * len(desc_lines) + 4
        if y - need < 150:
            text(width / 2, 40, f"Trang {page}" if vi else f"Page {page}", 8, False, "c")
            c.showPage()
            page += 1
            y = height - 60
            if vi:
                text(40, y, f"Số hóa đơn: {doc.number} (tiếp theo)", 8)
                y = table_header(y - 30)
            else:
                text(40, y, f"{doc.number} (continued)", 8)
                y -= 30
        text(50, y, str(n), 9, False, "c")
        for k, dl in enumerate(desc_lines):
            text(70, y - 14 * k, dl)
        if vi:
            text((290 + 335) / 2, y, item.unit, 9, False, "c")
            text(395, y, qty(item.quantity), 9, False, "r")
        else:
            text(320, y, qty(item.quantity), 9, False, "r")
            text(355, y, item.unit, 9, False, "c")
        text(right[4], y, fmt(item.unit_price), 9, False, "r")
        text(right[5], y, fmt(item.amount), 9, False, "r")
        y -= need
    c.line(38, y + 8, 557, y + 8)
    y -= 10
    if vi:
        text(300, y, "Cộng tiền hàng:")
        text(555, y, fmt(doc.subtotal), 9, False, "r")
        text(70, y - 16, f"Thuế suất GTGT: {doc.vat_rate}%")
        text(300, y - 16, "Tiền thuế GTGT:")
        text(555, y - 16, fmt(doc.tax), 9, False, "r")
        text(300, y - 32, "Tổng cộng tiền thanh toán:", 9, True)
        text(555, y - 32, fmt(doc.total), 9, True, "r")
        text(70, y - 56, "Người mua hàng", 9, True)
        text(400, y - 56, "Người bán hàng", 9, True)
    else:
        text(380, y, "Subtotal")
        text(555, y, fmt(doc.subtotal), 9, False, "r")
        text(380, y - 16, f"VAT {doc.vat_rate}%")
        text(555, y - 16, fmt(doc.tax), 9, False, "r")
        text(380, y - 32, "Total", 9, True)
        text(555, y - 32, fmt(doc.total), 9, True, "r")
        text(70, y - 56, "Payment terms: 30 days net")
    text(width / 2, 40, f"Trang {page}" if vi else f"Page {page}", 8, False, "c")
    c.showPage()
    c.save()
    return buf.getvalue()


def render_scanned(doc: SyntheticDocument, dpi: int = 150, fmt: str = "PDF", seed: int = 0) -> bytes:
    """The document as a scan: pages rasterised at ``dpi``, turned by up to 0.6
    degrees, blurred and noised; an image-only PDF (``fmt="PDF"``) or a
    multi-page TIFF (``fmt="TIFF"``)."""
    import numpy as np
    import pypdfium2 as pdfium
    from PIL import Image, ImageFilter

    rng = random.Random(seed)
    pdf = pdfium.PdfDocument(render_pdf(doc))
    pages = []
    try:
        for page in pdf:
            img = page.render(scale=dpi / 72).to_pil().convert("L")
            img = img.rotate(rng.uniform(-0.6, 0.6), resample=Image.BICUBIC, expand=False, fillcolor=255)
            img = img.filter(ImageFilter.GaussianBlur(0.6))
            noise = np.random.default_rng(seed).normal(0, 8, (img.height, img.width))
            img = Image.fromarray(np.clip(np.asarray(img, dtype=np.float32) + noise, 0, 255).astype(np.uint8))
            pages.append(img.convert("RGB"))
    finally:
        pdf.close()
    buf = io.BytesIO()
    if fmt == "TIFF":
        pages[0].save(buf, format="TIFF", save_all=True, append_images=pages[1:], compression="tiff_deflate")
    else:
        pages[0].save(buf, format="PDF", save_all=True, append_images=pages[1:], resolution=dpi)
    return buf.getvalue()
