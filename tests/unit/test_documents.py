import io

import numpy as np
import pytest
from PIL import Image

from app.documents import decode_image
from app.errors import InvalidImage, PayloadTooLarge
from tests.conftest import png_bytes

LIMITS = {"max_bytes": 10_000_000, "max_pixels": 10_000_000}


def test_png_decodes_to_bgr():
    data = png_bytes(8, 4, color=(255, 0, 0))  # red in RGB
    img = decode_image(data, **LIMITS)
    assert img.shape == (4, 8, 3) and img.dtype == np.uint8
    assert tuple(img[0, 0]) == (0, 0, 255)  # BGR


def test_exif_orientation_is_applied():
    buf = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW on display
    Image.new("RGB", (40, 10), "white").save(buf, format="JPEG", exif=exif)
    assert decode_image(buf.getvalue(), **LIMITS).shape[:2] == (40, 10)


@pytest.mark.parametrize("data", [b"", b"not an image at all", png_bytes()[:40]])
def test_bad_bytes_are_invalid_image(data):
    with pytest.raises(InvalidImage):
        decode_image(data, **LIMITS)


def test_unsupported_format_is_invalid_image():
    buf = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buf, format="PPM")
    with pytest.raises(InvalidImage, match="Unsupported image format"):
        decode_image(buf.getvalue(), **LIMITS)


def test_size_limits():
    data = png_bytes(100, 100)
    with pytest.raises(PayloadTooLarge, match="MAX_FILE_MB"):
        decode_image(data, max_bytes=len(data) - 1, max_pixels=10**9)
    with pytest.raises(PayloadTooLarge, match="MAX_IMAGE_PIXELS"):
        decode_image(data, max_bytes=10**9, max_pixels=9999)
