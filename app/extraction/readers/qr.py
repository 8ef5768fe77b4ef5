"""QR code on the front of the Vietnamese chip-based citizen ID card (CCCD).

The payload is UTF-8 text with ``|`` between the fields::

    ID (12 digits)|old ID (9 or 12 digits, may be empty)|full name|
    date of birth ddmmyyyy|sex (Nam/Nữ)|place of residence|issue date ddmmyyyy

Some cards omit the old-ID field altogether (6 fields). Decoding uses
zxing-cpp (Apache-2.0), imported only when a QR code is read.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

import numpy as np

from app.domain import Candidate
from app.errors import EngineUnavailable, InvalidImage

SOURCE = "qr"
CONFIDENCE = 0.99
_DIGITS = re.compile(r"^\d+$")


def _date(text: str, what: str) -> str:
    if not re.fullmatch(r"\d{8}", text):
        raise ValueError(f"{what} {text!r} is not ddmmyyyy")
    try:
        return date(int(text[4:]), int(text[2:4]), int(text[:2])).isoformat()
    except ValueError as e:
        raise ValueError(f"{what} {text!r} is not a calendar date") from e


def _sex(text: str) -> str:
    folded = "".join(c for c in unicodedata.normalize("NFD", text.strip().lower()) if not unicodedata.combining(c))
    if folded in ("nam", "male", "m"):
        return "M"
    if folded in ("nu", "female", "f"):
        return "F"
    raise ValueError(f"sex {text!r} is not Nam/Nữ")


def _split(text: str) -> dict[str, str]:
    """The payload's fields as encoded (NFC, stripped), by key."""
    fields = [unicodedata.normalize("NFC", f).strip() for f in text.strip().split("|")]
    while len(fields) > 7 and not fields[-1]:  # trailing separators
        fields.pop()
    if len(fields) == 6:
        fields.insert(1, "")
    if len(fields) != 7:
        raise ValueError(f"CCCD QR payload has {len(fields)} '|'-separated fields; expected 6 or 7")
    keys = ("id_number", "old_id_number", "full_name", "date_of_birth", "sex", "place_of_residence",
            "date_of_issue")
    return dict(zip(keys, fields))


def parse_cccd_qr_payload(text: str) -> dict[str, str | None]:
    """Parse and validate a CCCD QR payload.

    Args:
        text: the decoded QR text.

    Returns:
        ``id_number`` (12 digits), ``old_id_number`` (None when empty),
        ``full_name`` and ``place_of_residence`` (NFC, whitespace collapsed),
        ``date_of_birth`` and ``date_of_issue`` (ISO ``YYYY-MM-DD``),
        ``sex`` (``M``/``F``).

    Raises:
        ValueError: wrong number of fields, an ID that is not 12 digits, an
            old ID that is not 9 or 12 digits, an empty name, an invalid date
            or an unknown sex.
    """
    raw = _split(text)
    if not (_DIGITS.match(raw["id_number"]) and len(raw["id_number"]) == 12):
        raise ValueError(f"ID {raw['id_number']!r} is not 12 digits")
    old = raw["old_id_number"]
    if old and not (_DIGITS.match(old) and len(old) in (9, 12)):
        raise ValueError(f"old ID {old!r} is not 9 or 12 digits")
    name = " ".join(raw["full_name"].split())
    if not name:
        raise ValueError("empty full name")
    return {
        "id_number": raw["id_number"],
        "old_id_number": old or None,
        "full_name": name,
        "date_of_birth": _date(raw["date_of_birth"], "date of birth"),
        "sex": _sex(raw["sex"]),
        "place_of_residence": " ".join(raw["place_of_residence"].split()) or None,
        "date_of_issue": _date(raw["date_of_issue"], "issue date"),
    }


def _variants(image: np.ndarray):
    """The image as given, then (cheapest first) a 2x upscaled grayscale
    version (small QR modules), an Otsu-thresholded and an
    adaptive-thresholded one (uneven light, low contrast)."""
    import cv2

    yield image
    gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    if max(gray.shape) <= 2000:
        gray = cv2.resize(gray, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
        yield gray
    yield cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)[1]
    yield cv2.adaptiveThreshold(cv2.GaussianBlur(gray, (3, 3), 0), 255, cv2.ADAPTIVE_THRESH_MEAN_C,
                                cv2.THRESH_BINARY, 51, 10)


def _text(barcode) -> str:
    try:
        return bytes(barcode.bytes).decode("utf-8")
    except UnicodeDecodeError:
        return barcode.text


def _texts_per_variant(image_bgr: np.ndarray):
    """For each image variant in turn, the texts of the QR codes found in it."""
    if not isinstance(image_bgr, np.ndarray) or image_bgr.dtype != np.uint8 or image_bgr.ndim not in (2, 3):
        raise InvalidImage("QR decoding needs an (H, W) or (H, W, 3) uint8 image")
    if image_bgr.ndim == 3:
        image_bgr = np.ascontiguousarray(image_bgr[:, :, :3])
    try:
        import zxingcpp
    except ImportError as e:
        raise EngineUnavailable("QR decoding needs the 'zxing-cpp' package: pip install zxing-cpp==3.1.1") from e
    for variant in _variants(image_bgr):
        found = zxingcpp.read_barcodes(np.ascontiguousarray(variant), formats=zxingcpp.BarcodeFormat.QRCode)
        yield [_text(b) for b in found if b.valid]


def read_qr_texts(image_bgr: np.ndarray, max_variants: int | None = None) -> list[str]:
    """Texts of the QR codes found, from the first image variant that has any.

    Args:
        image_bgr: ``(H, W, 3)`` BGR or ``(H, W)`` grayscale uint8 array.
        max_variants: try at most this many variants (:func:`_variants`;
            1: the image as given, the cheapest look); None: all.

    Returns:
        Decoded texts (UTF-8), empty when no variant shows a QR code.

    Raises:
        InvalidImage: not a uint8 image array.
        EngineUnavailable: zxing-cpp is not installed.
    """
    for n, texts in enumerate(_texts_per_variant(image_bgr), 1):
        if texts:
            return texts
        if max_variants is not None and n >= max_variants:
            break
    return []


def decode_cccd_qr(image_bgr: np.ndarray | None, payload: str | None = None) -> list[Candidate]:
    """Field candidates from the CCCD QR code in an image.

    Args:
        image_bgr: ``(H, W, 3)`` BGR (or ``(H, W)`` grayscale) uint8 image of
            the card's front (may be None when ``payload`` is given).
        payload: the QR code's text when it was already decoded (by the document
            classifier, :class:`app.classify.doctype.Classification`); the image is then
            not decoded again.

    Returns:
        Candidates with source ``qr`` and confidence 0.99 for ``id_number``
        (``checks``: the ID structure checks against the QR's own birth date
        and sex), ``old_id_number`` (only when present), ``full_name``,
        ``date_of_birth``, ``sex``, ``place_of_residence``, ``date_of_issue``;
        ``value`` as encoded, ``normalized`` as :func:`parse_cccd_qr_payload`
        gives it. Image variants (:func:`_variants`) are tried in turn until
        a QR code with a valid CCCD payload is found; empty when none is.

    Raises:
        InvalidImage: not a uint8 image array.
        EngineUnavailable: zxing-cpp is not installed.
    """
    from app.extraction.readers.idnumber import check_id_number

    texts = [payload] if payload is not None else (t for texts in _texts_per_variant(image_bgr) for t in texts)
    for text in texts:
        try:
            parsed = parse_cccd_qr_payload(text)
        except ValueError:
            continue  # another QR code, or a damaged payload: try the next one / variant
        raw = _split(text)
        id_checks = check_id_number(parsed["id_number"], date.fromisoformat(parsed["date_of_birth"]),
                                    parsed["sex"]).as_dict()
        out = []
        for key, normalized in parsed.items():
            if normalized is None:
                continue
            checks = id_checks if key == "id_number" else {}
            out.append(Candidate(key, raw[key], normalized, CONFIDENCE, SOURCE, (), checks))
        return out
    return []
