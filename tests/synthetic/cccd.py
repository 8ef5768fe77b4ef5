"""Synthetic Vietnamese chip-based citizen ID cards (CCCD), rendered with Pillow.

Cards are generated at test time from a seed and never written into the
repository. The front carries a real QR code (segno) with the CCCD payload
``ID|old ID|full name|ddmmyyyy|sex|address|ddmmyyyy``; the back carries an
ICAO 9303 TD1 machine-readable zone laid out as on real CCCD cards:

    line 1: ``ID`` ``VNM`` | last 9 digits of the 12-digit ID | check digit |
            12-digit ID | ``<<`` | check digit over the 12-digit ID
    line 2: birth YYMMDD | check | sex | expiry YYMMDD | check | ``VNM`` |
            11 fillers | composite check
    line 3: ``SURNAME<<GIVEN<NAMES`` without diacritics

The MRZ check digits are computed here by a small implementation of their own
(ICAO Doc 9303 Part 3 §4.9), independent of :mod:`app.extraction.readers.mrz`,
so that tests of the reader are not circular.

Sizes are pixels; the card is 1000 x 630 (ID-1 aspect ratio 85.6 x 54 mm).
"""

from __future__ import annotations

import io
import random
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
SANS = FONT_DIR / "DejaVuSans.ttf"
SANS_BOLD = FONT_DIR / "DejaVuSans-Bold.ttf"
MONO = FONT_DIR / "DejaVuSansMono.ttf"

CARD_SIZE = (1000, 630)
BACKGROUND = (238, 243, 236)
INK = (25, 25, 35)
RED = (190, 30, 35)

# A few birth-registration province codes (Circular 59/2021/TT-BCA), kept apart
# from app.extraction.readers.idnumber.PROVINCE_CODES on purpose.
_PROVINCES = {
    "001": "Hà Nội", "031": "Hải Phòng", "038": "Thanh Hóa", "040": "Nghệ An", "046": "Thừa Thiên Huế",
    "048": "Đà Nẵng", "052": "Bình Định", "066": "Đắk Lắk", "079": "Hồ Chí Minh", "092": "Cần Thơ",
}
_SURNAMES = ["NGUYỄN", "TRẦN", "LÊ", "PHẠM", "HOÀNG", "HUỲNH", "PHAN", "VŨ", "VÕ", "ĐẶNG", "BÙI", "ĐỖ", "HỒ",
             "NGÔ", "DƯƠNG", "LÝ"]
_MALE_MIDDLE = ["VĂN", "HỮU", "ĐỨC", "MINH", "QUỐC", "XUÂN", "THÀNH", "CÔNG"]
_FEMALE_MIDDLE = ["THỊ", "NGỌC", "THU", "BÍCH", "THANH", "MỸ", "KIM"]
_MALE_GIVEN = ["AN", "BÌNH", "CƯỜNG", "DŨNG", "HÙNG", "KHÁNH", "QUANG", "TUẤN", "VIỆT", "ĐỨC", "HIẾU", "LONG",
               "NAM", "PHÚC", "SƠN", "THẮNG"]
_FEMALE_GIVEN = ["HÀ", "HẠNH", "HƯƠNG", "LAN", "LINH", "NGỌC", "PHƯƠNG", "THẢO", "TRANG", "YẾN", "MAI", "NHUNG",
                 "OANH", "QUỲNH", "THƯ", "VY"]
_STREETS = ["Nguyễn Trãi", "Lê Lợi", "Trần Hưng Đạo", "Hai Bà Trưng", "Lý Thường Kiệt", "Điện Biên Phủ",
            "Phan Đình Phùng", "Hoàng Diệu", "Võ Thị Sáu", "Nguyễn Huệ"]
_WARDS = ["Phường Bến Thành", "Phường Tân Định", "Phường Hàng Bạc", "Phường Vĩnh Tuy", "Phường Thạch Thang",
          "Xã Tân Phú", "Phường Cái Khế", "Thị trấn Đức Hòa"]
_DISTRICTS = ["Quận 1", "Quận Hoàn Kiếm", "Quận Hai Bà Trưng", "Quận Hải Châu", "Huyện Đức Hòa",
              "Quận Ninh Kiều", "Thành phố Huế", "Huyện Thọ Xuân"]
_CITIES = ["TP. Hồ Chí Minh", "Hà Nội", "Đà Nẵng", "Cần Thơ", "Thừa Thiên Huế", "Long An", "Thanh Hóa"]
_ORIGINS = ["Xã Nghĩa Hưng, Huyện Lạng Giang, Bắc Giang", "Phường Đông Vệ, Thành phố Thanh Hóa, Thanh Hóa",
            "Xã Quỳnh Lưu, Huyện Nho Quan, Ninh Bình", "Xã Tân Phú, Huyện Đức Hòa, Long An",
            "Phường Phú Hội, Thành phố Huế, Thừa Thiên Huế", "Xã Điện Minh, Thị xã Điện Bàn, Quảng Nam"]
_MARKS = ["Sẹo chấm C: 2cm trên sau đầu mày trái", "Nốt ruồi C: 1cm dưới trước mép phải",
          "Sẹo chấm C: 1,5cm dưới sau cánh mũi trái", "Nốt ruồi C: 3cm trên sau mép trái"]


@dataclass(frozen=True)
class Person:
    """The holder's data printed on, and encoded in, one synthetic card.

    Attributes:
        id_number: 12 digits, consistent with birth date and sex.
        old_id_number: 9-digit former CMND number, or "" when none.
        full_name: upper case with diacritics (NFC), e.g. ``NGUYỄN VĂN AN``.
        sex: ``M`` or ``F``.
    """

    id_number: str
    old_id_number: str
    full_name: str
    date_of_birth: date
    sex: str
    nationality: str
    place_of_origin: str
    place_of_residence: str
    date_of_issue: date
    date_of_expiry: date
    personal_identification: str

    @property
    def surname(self) -> str:
        return self.full_name.split()[0]

    @property
    def given_names(self) -> str:
        return " ".join(self.full_name.split()[1:])

    @property
    def sex_vi(self) -> str:
        return "Nam" if self.sex == "M" else "Nữ"


def _birthday(born: date, age: int) -> date:
    try:
        return born.replace(year=born.year + age)
    except ValueError:  # 29 February
        return born.replace(year=born.year + age, day=28)


def expiry_for(born: date, issued: date) -> date | None:
    """CCCD validity (Law on Citizen Identification 2014, art. 21): cards are
    renewed at 25, 40 and 60; one issued within two years before a renewal age
    runs to the next one. None: valid for life (issued at 58 or later)."""
    age = issued.year - born.year - ((issued.month, issued.day) < (born.month, born.day))
    for renew_at in (25, 40, 60):
        if age < renew_at - 2:
            return _birthday(born, renew_at)
    return None


def random_person(seed: int) -> Person:
    """A reproducible random holder: names and addresses with diacritics, a
    valid 12-digit ID (province code, century/sex digit, birth year), and
    issue/expiry dates that follow the CCCD renewal ages.
    """
    rng = random.Random(seed)
    while True:
        born = date(1966, 1, 1) + timedelta(days=rng.randrange(0, 40 * 365))
        issued = date(2021, 1, 1) + timedelta(days=rng.randrange(0, 3 * 365))
        age = issued.year - born.year - ((issued.month, issued.day) < (born.month, born.day))
        expires = expiry_for(born, issued)
        if age >= 14 and expires is not None:
            break
    sex = rng.choice("MF")
    century_digit = (born.year // 100 - 19) * 2 + (1 if sex == "F" else 0)
    province = rng.choice(sorted(_PROVINCES))
    id_number = f"{province}{century_digit}{born.year % 100:02d}{rng.randrange(10**6):06d}"
    old_id = f"{rng.randrange(10**8, 10**9)}" if rng.random() < 0.5 else ""
    if sex == "M":
        parts = [rng.choice(_SURNAMES), rng.choice(_MALE_MIDDLE), rng.choice(_MALE_GIVEN)]
    else:
        parts = [rng.choice(_SURNAMES), rng.choice(_FEMALE_MIDDLE), rng.choice(_FEMALE_GIVEN)]
    if rng.random() < 0.3:
        parts.insert(2, rng.choice(_MALE_MIDDLE if sex == "M" else _FEMALE_MIDDLE))
    residence = (f"Số {rng.randrange(1, 300)} {rng.choice(_STREETS)}, {rng.choice(_WARDS)}, "
                 f"{rng.choice(_DISTRICTS)}, {rng.choice(_CITIES)}")
    return Person(
        id_number=id_number,
        old_id_number=old_id,
        full_name=unicodedata.normalize("NFC", " ".join(parts)),
        date_of_birth=born,
        sex=sex,
        nationality="Việt Nam",
        place_of_origin=rng.choice(_ORIGINS),
        place_of_residence=residence,
        date_of_issue=issued,
        date_of_expiry=expires,
        personal_identification=rng.choice(_MARKS),
    )


# ------------------------------------------------------------------ payloads
def qr_payload(person: Person) -> str:
    """``ID|old ID|full name|ddmmyyyy|sex|address|ddmmyyyy`` as on CCCD cards."""
    return "|".join([person.id_number, person.old_id_number, person.full_name,
                     person.date_of_birth.strftime("%d%m%Y"), person.sex_vi, person.place_of_residence,
                     person.date_of_issue.strftime("%d%m%Y")])


_MRZ_VALUES = {**{str(d): d for d in range(10)}, **{chr(ord("A") + i): 10 + i for i in range(26)}, "<": 0}


def mrz_check(field: str) -> str:
    """ICAO 9303 check digit (weights 7, 3, 1 repeating; mod 10)."""
    total = 0
    for i, ch in enumerate(field):
        total += _MRZ_VALUES[ch] * (7, 3, 1)[i % 3]
    return str(total % 10)


def mrz_name(text: str) -> str:
    """Upper-case ASCII for the MRZ: diacritics dropped, ``Đ`` -> ``D``."""
    text = text.replace("Đ", "D").replace("đ", "d")
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).upper()


def mrz_lines(person: Person) -> list[str]:
    """The three 30-character TD1 lines of the card's back."""
    number9 = person.id_number[-9:]
    line1 = "IDVNM" + number9 + mrz_check(number9) + person.id_number + "<<" + mrz_check(person.id_number)
    birth = person.date_of_birth.strftime("%y%m%d")
    expiry = person.date_of_expiry.strftime("%y%m%d")
    line2 = birth + mrz_check(birth) + person.sex + expiry + mrz_check(expiry) + "VNM" + "<" * 11
    composite = line1[5:30] + line2[0:7] + line2[8:15] + line2[18:29]
    line2 += mrz_check(composite)
    name = mrz_name(person.surname) + "<<" + "<".join(mrz_name(person.given_names).split())
    line3 = (name + "<" * 30)[:30]
    assert len(line1) == len(line2) == 30, (line1, line2)
    return [line1, line2, line3]


# ------------------------------------------------------------------ drawing
def _font(path: Path, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(path), size)


def _card() -> tuple[Image.Image, ImageDraw.ImageDraw]:
    image = Image.new("RGB", CARD_SIZE, BACKGROUND)
    draw = ImageDraw.Draw(image)
    # faint guilloche-like waves, well below text contrast
    for y in range(0, CARD_SIZE[1], 14):
        draw.line([(0, y), (CARD_SIZE[0], y + 40)], fill=(228, 236, 228), width=1)
    draw.rounded_rectangle([2, 2, CARD_SIZE[0] - 3, CARD_SIZE[1] - 3], radius=28, outline=(170, 185, 170), width=3)
    return image, draw


def _caption_value(draw, xy, caption: str, value: str, value_font=None, caption_size: int = 19) -> None:
    x, y = xy
    cap_font = _font(SANS, caption_size)
    draw.text((x, y), caption, font=cap_font, fill=INK)
    width = draw.textlength(caption + " ", font=cap_font)
    draw.text((x + width, y - 2), value, font=value_font or _font(SANS_BOLD, 22), fill=INK)


def _wrap(draw, text: str, font, width: int) -> list[str]:
    lines, current = [], ""
    for word in text.split():
        trial = f"{current} {word}".strip()
        if draw.textlength(trial, font=font) <= width or not current:
            current = trial
        else:
            lines.append(current)
            current = word
    return lines + ([current] if current else [])


def render_cccd_front(person: Person) -> Image.Image:
    """The card's front: national header, title, photo box, QR code (segno)
    with the CCCD payload at the top right, and the bilingual printed fields.

    Returns:
        An RGB image of :data:`CARD_SIZE` pixels.
    """
    import segno

    image, draw = _card()
    # emblem
    draw.ellipse([38, 34, 148, 144], fill=(205, 40, 40), outline=(230, 190, 40), width=6)
    draw.regular_polygon((93, 89, 30), 5, fill=(245, 205, 50))
    centre = 470
    for text, font, colour, y in (
        ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", _font(SANS_BOLD, 23), INK, 34),
        ("Độc lập - Tự do - Hạnh phúc", _font(SANS_BOLD, 20), INK, 66),
        ("SOCIALIST REPUBLIC OF VIET NAM", _font(SANS, 15), INK, 94),
        ("Independence - Freedom - Happiness", _font(SANS, 15), INK, 114),
        ("CĂN CƯỚC CÔNG DÂN", _font(SANS_BOLD, 34), RED, 140),
        ("Citizen Identity Card", _font(SANS_BOLD, 19), RED, 182),
    ):
        draw.text((centre, y), text, font=font, fill=colour, anchor="mt")
    # QR code, module size 4 px with a 4-module quiet zone
    qr = segno.make(qr_payload(person), error="m", micro=False)
    buffer = io.BytesIO()
    qr.save(buffer, kind="png", scale=4, border=4, dark="black", light="white")
    buffer.seek(0)
    qr_image = Image.open(buffer).convert("RGB")
    side = qr_image.size[0]
    image.paste(qr_image, (CARD_SIZE[0] - side - 24, 24))
    # photo
    draw.rectangle([40, 230, 230, 480], fill=(205, 215, 225), outline=(150, 160, 170), width=2)
    draw.ellipse([90, 270, 180, 370], fill=(170, 180, 190))
    draw.rounded_rectangle([70, 370, 200, 480], radius=40, fill=(170, 180, 190))
    x = 260
    _caption_value(draw, (x, 228), "Số / No.:", person.id_number, _font(SANS_BOLD, 30))
    draw.text((x, 272), "Họ và tên / Full name:", font=_font(SANS, 19), fill=INK)
    draw.text((x, 296), person.full_name, font=_font(SANS_BOLD, 26), fill=INK)
    _caption_value(draw, (x, 338), "Ngày sinh / Date of birth:", person.date_of_birth.strftime("%d/%m/%Y"))
    _caption_value(draw, (x, 372), "Giới tính / Sex:", person.sex_vi)
    _caption_value(draw, (x + 300, 372), "Quốc tịch / Nationality:", person.nationality)
    _caption_value(draw, (x, 406), "Quê quán / Place of origin:", "")
    draw.text((x, 430), person.place_of_origin, font=_font(SANS_BOLD, 21), fill=INK)
    _caption_value(draw, (x, 466), "Nơi thường trú / Place of residence:", "")
    value_font = _font(SANS_BOLD, 21)
    for i, text in enumerate(_wrap(draw, person.place_of_residence, value_font, CARD_SIZE[0] - x - 40)[:2]):
        draw.text((x, 490 + 26 * i), text, font=value_font, fill=INK)
    draw.text((40, 500), "Có giá trị đến:", font=_font(SANS, 16), fill=INK)
    draw.text((40, 520), "Date of expiry:", font=_font(SANS, 16), fill=INK)
    draw.text((40, 544), person.date_of_expiry.strftime("%d/%m/%Y"), font=_font(SANS_BOLD, 20), fill=INK)
    return image


def draw_mrz(draw: ImageDraw.ImageDraw, lines: list[str], top: int, size: int = 32, pitch: float | None = None,
             chevron: bool = True) -> None:
    """Draw MRZ lines centred on the card, one character per cell.

    DejaVu Sans Mono stands in for OCR-B. Its ``<`` is a small mid-height
    glyph; OCR-B's filler is a large chevron almost the height of a capital,
    so with ``chevron`` the filler is drawn as such a chevron.

    Args:
        draw: drawing context of the card.
        lines: the MRZ lines.
        top: y of the first line's top, pixels.
        size: font size, pixels.
        pitch: character pitch, pixels (None: 1.45 x the font's advance).
        chevron: draw ``<`` as an OCR-B-like chevron.
    """
    font = _font(MONO, size)
    pitch = pitch or font.getlength("M") * 1.45
    x0 = (CARD_SIZE[0] - pitch * 30) / 2
    line_height = int(size * 1.55)
    cap_top, _, _, baseline = font.getbbox("H", anchor="lt")
    cap = baseline - cap_top
    stroke = max(2, round(size * 0.085))
    for row, text in enumerate(lines):
        y = top + row * line_height
        for col, ch in enumerate(text):
            cx = x0 + col * pitch + pitch / 2
            if ch == "<" and chevron:
                half_w, half_h = cap * 0.32, cap * 0.42
                cy = y + cap_top + cap / 2
                draw.line([(cx + half_w, cy - half_h), (cx - half_w, cy), (cx + half_w, cy + half_h)],
                          fill=INK, width=stroke, joint="curve")
            else:
                draw.text((cx, y), ch, font=font, fill=INK, anchor="mt")


def render_cccd_back(person: Person, mrz_size: int = 32, mrz_pitch: float | None = None,
                     chevron: bool = True) -> Image.Image:
    """The card's back: personal identification marks, issue date, issuing
    authority, fingerprint boxes, chip, and the TD1 MRZ at the bottom.

    Args:
        mrz_size: MRZ font size in pixels (DejaVu Sans Mono, OCR-B-like).
        mrz_pitch: character pitch in pixels (None: 1.45 x the font's own
            advance, so that the MRZ spans about 85 % of the card's width as
            on real cards).
        chevron: draw the filler ``<`` as an OCR-B-like chevron (see :func:`draw_mrz`).

    Returns:
        An RGB image of :data:`CARD_SIZE` pixels.
    """
    image, draw = _card()
    cap, val = _font(SANS, 18), _font(SANS_BOLD, 19)
    draw.text((40, 36), "Đặc điểm nhân dạng / Personal identification:", font=cap, fill=INK)
    draw.text((40, 62), person.personal_identification, font=val, fill=INK)
    draw.text((40, 104), "Ngày, tháng, năm / Date, month, year: " + person.date_of_issue.strftime("%d/%m/%Y"),
              font=cap, fill=INK)
    draw.text((40, 140), "CỤC TRƯỞNG CỤC CẢNH SÁT", font=_font(SANS_BOLD, 17), fill=INK)
    draw.text((40, 162), "QUẢN LÝ HÀNH CHÍNH VỀ TRẬT TỰ XÃ HỘI", font=_font(SANS_BOLD, 17), fill=INK)
    draw.text((40, 186), "DIRECTOR GENERAL OF THE POLICE DEPARTMENT", font=_font(SANS, 13), fill=INK)
    draw.text((40, 202), "FOR ADMINISTRATIVE MANAGEMENT OF SOCIAL ORDER", font=_font(SANS, 13), fill=INK)
    draw.line([(80, 270), (120, 240), (150, 275), (190, 235), (230, 262)], fill=(40, 60, 150), width=3)
    draw.text((60, 300), "Trần Minh Khôi", font=_font(SANS_BOLD, 20), fill=INK)
    # chip
    draw.rounded_rectangle([380, 250, 470, 320], radius=10, fill=(212, 175, 90), outline=(150, 120, 60), width=2)
    draw.line([(425, 250), (425, 320)], fill=(150, 120, 60), width=2)
    draw.line([(380, 285), (470, 285)], fill=(150, 120, 60), width=2)
    # fingerprints
    for x, caption in ((620, "Ngón trỏ trái"), (800, "Ngón trỏ phải")):
        draw.rectangle([x, 40, x + 160, 250], outline=(120, 130, 120), width=2)
        for r in range(12, 70, 9):
            draw.arc([x + 80 - r, 140 - r, x + 80 + r, 140 + int(r * 1.3)], 200, 340, fill=(150, 150, 150))
        draw.text((x + 80, 262), caption, font=_font(SANS, 15), fill=INK, anchor="mt")
    draw.text((700, 290), "Left index finger", font=_font(SANS, 14), fill=INK, anchor="mt")
    draw.text((880, 290), "Right index finger", font=_font(SANS, 14), fill=INK, anchor="mt")
    # MRZ
    draw_mrz(draw, mrz_lines(person), top=430, size=mrz_size, pitch=mrz_pitch, chevron=chevron)
    return image


def degrade(image: Image.Image, seed: int, angle: float | None = None, jpeg_quality: int = 70,
            blur_radius: float = 0.8) -> Image.Image:
    """A photographed-looking copy: rotated (default ±3°, the sign from the
    seed), Gaussian-blurred, then JPEG-compressed.

    Args:
        image: a rendered card.
        seed: chooses the rotation's sign when ``angle`` is None.
        angle: degrees counter-clockwise.
        jpeg_quality: JPEG quality 1-95.
        blur_radius: Gaussian blur radius in pixels.
    """
    from PIL import ImageFilter

    if angle is None:
        angle = 3.0 if seed % 2 else -3.0
    out = image.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=(200, 200, 200))
    out = out.filter(ImageFilter.GaussianBlur(blur_radius))
    buffer = io.BytesIO()
    out.save(buffer, format="JPEG", quality=jpeg_quality)
    buffer.seek(0)
    return Image.open(buffer).convert("RGB")
