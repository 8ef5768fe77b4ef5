"""Structure checks of the Vietnamese 12-digit personal identification number.

The number printed on the chip-based citizen ID card (CCCD) is the personal
identification number defined by Circular 07/2016/TT-BCA, art. 7, restated by
Circular 59/2021/TT-BCA, art. 12:

* digits 1-3: code of the province (or centrally run city) where the birth
  was registered (:data:`PROVINCE_CODES`, the 63 provinces, 001..096);
* digit 4: century of birth and sex: 0 = 20th century male, 1 = 20th century
  female, 2/3 = 21st century male/female, 4/5 = 22nd, 6/7 = 23rd,
  8/9 = 24th; even = male, odd = female. A "century" is a block of years as
  the circular defines it: 20th = 1900-1999, 21st = 2000-2099, ...;
* digits 5-6: the last two digits of the birth year;
* digits 7-12: a random number.

There is no check digit. A misread digit in positions 1-6 is caught when it
breaks consistency with the province list or with a birth date and sex read
elsewhere (QR, MRZ, printed fields) - except a province code misread as
another valid code. A misread digit in positions 7-12 cannot be caught by
structure at all; the MRZ copy of the number (with its ICAO check digit, see
:mod:`app.extraction.readers.mrz`) catches those.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

PROVINCE_CODES: dict[str, str] = {
    "001": "Hà Nội", "002": "Hà Giang", "004": "Cao Bằng", "006": "Bắc Kạn", "008": "Tuyên Quang",
    "010": "Lào Cai", "011": "Điện Biên", "012": "Lai Châu", "014": "Sơn La", "015": "Yên Bái",
    "017": "Hòa Bình", "019": "Thái Nguyên", "020": "Lạng Sơn", "022": "Quảng Ninh", "024": "Bắc Giang",
    "025": "Phú Thọ", "026": "Vĩnh Phúc", "027": "Bắc Ninh", "030": "Hải Dương", "031": "Hải Phòng",
    "033": "Hưng Yên", "034": "Thái Bình", "035": "Hà Nam", "036": "Nam Định", "037": "Ninh Bình",
    "038": "Thanh Hóa", "040": "Nghệ An", "042": "Hà Tĩnh", "044": "Quảng Bình", "045": "Quảng Trị",
    "046": "Thừa Thiên Huế", "048": "Đà Nẵng", "049": "Quảng Nam", "051": "Quảng Ngãi", "052": "Bình Định",
    "054": "Phú Yên", "056": "Khánh Hòa", "058": "Ninh Thuận", "060": "Bình Thuận", "062": "Kon Tum",
    "064": "Gia Lai", "066": "Đắk Lắk", "067": "Đắk Nông", "068": "Lâm Đồng", "070": "Bình Phước",
    "072": "Tây Ninh", "074": "Bình Dương", "075": "Đồng Nai", "077": "Bà Rịa - Vũng Tàu", "079": "Hồ Chí Minh",
    "080": "Long An", "082": "Tiền Giang", "083": "Bến Tre", "084": "Trà Vinh", "086": "Vĩnh Long",
    "087": "Đồng Tháp", "089": "An Giang", "091": "Kiên Giang", "092": "Cần Thơ", "093": "Hậu Giang",
    "094": "Sóc Trăng", "095": "Bạc Liêu", "096": "Cà Mau",
}

CHECK_NAMES = ("format", "province", "century_sex_digit", "birth_year", "sex_matches", "century_matches")


@dataclass(frozen=True)
class IdCheck:
    """Outcome of each structure check of one ID number (Circular 59/2021/TT-BCA, art. 12).

    Each check is True (passed), False (failed) or None (not evaluated: the
    number is not 12 digits, or no birth date / sex was given to compare with).

    Attributes:
        id_number: the number checked, as given.
        format: exactly 12 ASCII digits.
        province: digits 1-3 are one of the 63 province codes.
        century_sex_digit: digit 4 gives a birth year (with digits 5-6) that
            is not in the future.
        birth_year: digits 5-6 equal the birth year's last two digits.
        sex_matches: digit 4's parity matches the sex (even = male).
        century_matches: digit 4's century matches the birth year's.
        province_name: name of the province of digits 1-3, if known.
        birth_year_from_id: century (digit 4) + digits 5-6, e.g. 1993.
        sex_from_id: ``M`` or ``F`` from digit 4.
    """

    id_number: str
    format: bool
    province: bool | None = None
    century_sex_digit: bool | None = None
    birth_year: bool | None = None
    sex_matches: bool | None = None
    century_matches: bool | None = None
    province_name: str | None = None
    birth_year_from_id: int | None = None
    sex_from_id: str | None = None

    @property
    def valid(self) -> bool:
        """Well-formed and no evaluated check failed."""
        return self.format and all(v is not False for v in (getattr(self, n) for n in CHECK_NAMES))

    def as_dict(self) -> dict[str, bool | None]:
        """Check name -> outcome (for ``Candidate.checks``)."""
        return {name: getattr(self, name) for name in CHECK_NAMES}


def _sex(value: str | None) -> str | None:
    if value is None:
        return None
    folded = value.strip().lower()
    if folded in ("m", "male", "nam"):
        return "M"
    if folded in ("f", "female", "nữ", "nu"):
        return "F"
    return None


def check_id_number(id12: str, date_of_birth: date | None = None, sex: str | None = None, *,
                    today: date | None = None) -> IdCheck:
    """Check a 12-digit personal identification number against its structure
    (Circular 59/2021/TT-BCA art. 12; Circular 07/2016/TT-BCA art. 7) and,
    when given, against the holder's birth date and sex.

    Args:
        id12: the number as read (no spaces).
        date_of_birth: the holder's birth date from another source, or None.
        sex: ``M``/``F`` (``Nam``/``Nữ`` accepted) from another source, or None.
        today: reference date for "not born in the future" (default: today).

    Returns:
        Every check's outcome; :attr:`IdCheck.valid` is their conjunction.
    """
    if len(id12) != 12 or not id12.isascii() or not id12.isdigit():
        return IdCheck(id12, format=False)
    today = today or date.today()
    digit = int(id12[3])
    century_start = 1900 + digit // 2 * 100
    year = century_start + int(id12[4:6])
    id_sex = "M" if digit % 2 == 0 else "F"
    given_sex = _sex(sex)
    return IdCheck(
        id_number=id12,
        format=True,
        province=id12[:3] in PROVINCE_CODES,
        century_sex_digit=year <= today.year,
        birth_year=None if date_of_birth is None else date_of_birth.year % 100 == int(id12[4:6]),
        sex_matches=None if given_sex is None else given_sex == id_sex,
        century_matches=None if date_of_birth is None else date_of_birth.year // 100 * 100 == century_start,
        province_name=PROVINCE_CODES.get(id12[:3]),
        birth_year_from_id=year,
        sex_from_id=id_sex,
    )
