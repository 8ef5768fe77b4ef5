"""CCCD QR payload parsing, and QR decoding of generated codes (zxing-cpp)."""

import io
import unicodedata

import numpy as np
import pytest
from PIL import Image

from app.errors import InvalidImage
from app.extraction.readers.qr import decode_cccd_qr, parse_cccd_qr_payload

FULL = "079185012345|025123456|TRẦN THỊ BÍCH NGỌC|30071985|Nữ|Số 12 Nguyễn Trãi, Phường Bến Thành, Quận 1, TP. Hồ Chí Minh|12082021"
EXPECTED = {
    "id_number": "079185012345",
    "old_id_number": "025123456",
    "full_name": "TRẦN THỊ BÍCH NGỌC",
    "date_of_birth": "1985-07-30",
    "sex": "F",
    "place_of_residence": "Số 12 Nguyễn Trãi, Phường Bến Thành, Quận 1, TP. Hồ Chí Minh",
    "date_of_issue": "2021-08-12",
}


def test_seven_fields():
    assert parse_cccd_qr_payload(FULL) == EXPECTED


def test_empty_old_id():
    fields = FULL.split("|")
    fields[1] = ""
    assert parse_cccd_qr_payload("|".join(fields)) == {**EXPECTED, "old_id_number": None}


def test_six_fields_without_the_old_id():
    fields = FULL.split("|")
    del fields[1]
    assert parse_cccd_qr_payload("|".join(fields)) == {**EXPECTED, "old_id_number": None}


def test_trailing_separator_and_whitespace_are_tolerated():
    assert parse_cccd_qr_payload(FULL + "|\n") == EXPECTED


def test_male_and_decomposed_text_is_nfc():
    fields = FULL.split("|")
    fields[2], fields[4] = unicodedata.normalize("NFD", "NGUYỄN  VĂN AN"), "Nam"
    parsed = parse_cccd_qr_payload("|".join(fields))
    assert parsed["full_name"] == "NGUYỄN VĂN AN" and unicodedata.is_normalized("NFC", parsed["full_name"])
    assert parsed["sex"] == "M"


def test_twelve_digit_old_id_is_accepted():
    fields = FULL.split("|")
    fields[1] = "001093047064"
    assert parse_cccd_qr_payload("|".join(fields))["old_id_number"] == "001093047064"


@pytest.mark.parametrize("change", [
    lambda f: f[:5],                                   # too few fields
    lambda f: f + ["extra", "more"],                   # too many fields
    lambda f: [f[0][:11]] + f[1:],                     # ID not 12 digits
    lambda f: ["07918501234A"] + f[1:],                # ID with a letter
    lambda f: f[:1] + ["12345"] + f[2:],               # old ID neither 9 nor 12 digits
    lambda f: f[:2] + [" "] + f[3:],                   # empty name
    lambda f: f[:3] + ["31021985"] + f[4:],            # 31 February
    lambda f: f[:3] + ["30/07/1985"] + f[4:],          # not ddmmyyyy
    lambda f: f[:4] + ["Khác"] + f[5:],                # unknown sex
    lambda f: f[:6] + ["2021-08-12"],                  # issue date not ddmmyyyy
])
def test_malformed_payloads_raise_value_error(change):
    with pytest.raises(ValueError):
        parse_cccd_qr_payload("|".join(change(FULL.split("|"))))


# ------------------------------------------------------------------ decoding (zxing-cpp)
def _qr_image(text: str, scale: int = 4) -> np.ndarray:
    segno = pytest.importorskip("segno")
    pytest.importorskip("zxingcpp")
    buffer = io.BytesIO()
    segno.make(text, error="m", micro=False).save(buffer, kind="png", scale=scale, border=4)
    buffer.seek(0)
    canvas = Image.new("RGB", (600, 400), (236, 242, 238))
    canvas.paste(Image.open(buffer).convert("RGB"), (300, 40))
    return np.asarray(canvas)[:, :, ::-1].copy()


def test_decode_cccd_qr_gives_candidates():
    cands = {c.key: c for c in decode_cccd_qr(_qr_image(FULL))}
    assert {k: c.normalized for k, c in cands.items()} == EXPECTED
    assert all(c.source == "qr" and c.confidence == 0.99 and c.line_indices == () for c in cands.values())
    assert cands["date_of_birth"].value == "30071985" and cands["sex"].value == "Nữ"
    assert cands["id_number"].checks == {"format": True, "province": True, "century_sex_digit": True,
                                         "birth_year": True, "sex_matches": True, "century_matches": True}


def test_decode_omits_an_empty_old_id():
    fields = FULL.split("|")
    fields[1] = ""
    keys = {c.key for c in decode_cccd_qr(_qr_image("|".join(fields)))}
    assert "old_id_number" not in keys and "id_number" in keys


def test_decode_grayscale_input():
    gray = _qr_image(FULL)[:, :, 1].copy()
    assert len(decode_cccd_qr(gray)) == 7


def test_a_qr_code_that_is_not_a_cccd_payload_gives_nothing():
    assert decode_cccd_qr(_qr_image("https://example.com/not-an-id-card")) == []


def test_an_image_without_a_qr_code_gives_nothing():
    pytest.importorskip("zxingcpp")
    assert decode_cccd_qr(np.full((200, 300, 3), 240, np.uint8)) == []


@pytest.mark.parametrize("bad", [np.zeros((10, 10), np.float32), np.zeros((2, 2, 2, 2), np.uint8), b"png"])
def test_invalid_image_arrays_are_rejected(bad):
    with pytest.raises(InvalidImage):
        decode_cccd_qr(bad)


def test_a_small_blurred_qr_code_is_read_from_the_upscaled_variant():
    segno = pytest.importorskip("segno")
    pytest.importorskip("zxingcpp")
    from PIL import ImageFilter

    from app.extraction.readers.qr import _texts_per_variant

    buffer = io.BytesIO()
    segno.make(FULL, error="m", micro=False).save(buffer, kind="png", scale=2, border=4)
    buffer.seek(0)
    image = np.asarray(Image.open(buffer).convert("L").filter(ImageFilter.GaussianBlur(1.0))).copy()
    as_is, upscaled, *_ = _texts_per_variant(image)
    assert as_is == [] and upscaled  # measured: zxing-cpp 3.1.1 misses it as is
    assert len(decode_cccd_qr(image)) == 7
