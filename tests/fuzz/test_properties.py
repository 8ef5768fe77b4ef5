"""Property-based tests (hypothesis) of the input parsers and the OCR budget.

Derandomised (``derandomize=True``: the examples come from the test's own
name), so a run is reproducible; example counts keep the file under ~20 s.
"""

from __future__ import annotations

import io
import json
import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from app.api.schemas import parse_bool_param, parse_extract_config
from app.documents import decode_image
from app.einvoice import parse_einvoice_xml, read_einvoice
from app.errors import InvalidImage, PayloadTooLarge, ServiceError, UnprocessableImage
from app.ocr.geometry import (OcrLimits, check_geometry, detector_limit, library_preprocess_size, padded_height,
                              select_lines)

FAST = settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=20), children, max_size=5),
    max_leaves=30,
)
config_keys = st.sampled_from(["info", "document_type", "mode", "parallel", "batch_size", "llm_timeout",
                               "display_text_box", "x"])


def _assert_4xx(error: ServiceError) -> None:
    assert 400 <= error.http_status < 500 and error.message and len(error.message) < 5000


@FAST
@given(st.dictionaries(config_keys, json_values, max_size=6))
def test_any_config_object_is_accepted_or_4xx(data):
    try:
        parse_extract_config(json.dumps(data, allow_nan=True))
    except ServiceError as e:
        _assert_4xx(e)


@FAST
@given(st.text(max_size=300))
def test_any_config_text_is_accepted_or_4xx(raw):
    try:
        parse_extract_config(raw)
    except ServiceError as e:
        _assert_4xx(e)


@FAST
@given(st.text(max_size=50))
def test_any_bool_param_is_bool_or_4xx(raw):
    try:
        assert parse_bool_param("display_text_box", raw, True) in (True, False)
    except ServiceError as e:
        _assert_4xx(e)


def _png(width: int, height: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (250, 250, 250)).save(buf, format="PNG")
    return buf.getvalue()


SEED_IMAGES = [_png(24, 16)]
for _fmt in ("JPEG", "GIF", "BMP", "TIFF", "WEBP"):
    _buf = io.BytesIO()
    Image.new("RGB", (24, 16), (250, 250, 250)).convert("P" if _fmt == "GIF" else "RGB").save(_buf, format=_fmt)
    SEED_IMAGES.append(_buf.getvalue())


@FAST
@given(st.sampled_from(SEED_IMAGES), st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=12),
       st.integers(0, 10_000))
def test_mutated_images_decode_or_4xx(seed, edits, cut):
    data = bytearray(seed)
    for pos, value in edits:
        data[pos % len(data)] = value
    data = bytes(data[: max(0, len(data) - cut % (len(data) + 1))])
    try:
        image = decode_image(data, max_bytes=1 << 20, max_pixels=1 << 20)
        assert image.ndim == 3 and image.shape[2] == 3 and image.dtype == np.uint8
    except (InvalidImage, PayloadTooLarge) as e:
        _assert_4xx(e)


@FAST
@given(st.integers(1, 200_000), st.integers(1, 200_000))
def test_every_accepted_shape_fits_the_detector_budget(height, width):
    limits = OcrLimits()
    try:
        check_geometry(height, width, limits)
    except UnprocessableImage as e:
        assert e.http_status == 422
        assert min(height, width) < limits.min_side or max(height, width) > limits.max_aspect_ratio * min(height, width)
        return
    h, w = library_preprocess_size(height, width)
    assert h > 0 and w > 0  # RapidOCR's ResizeImgError came from a side that rounded to 0
    h = padded_height(h, w)
    kind, side = detector_limit(h, w, limits)
    ratio = side / min(h, w) if kind == "min" else min(1.0, side / max(h, w))
    det_h, det_w = (int(round(int(x * ratio) / 32) * 32) for x in (h, w))
    assert det_h >= 32 and det_w >= 32
    assert det_h * det_w <= limits.max_det_pixels + 16 * (det_h + det_w)


@FAST
@given(st.lists(st.tuples(st.integers(1, 400), st.integers(1, 20_000)), max_size=60), st.integers(320, 200_000))
def test_selected_lines_fit_the_recognition_budget(shapes, budget):
    limits = OcrLimits(max_text_columns=budget)
    crops = [np.empty((h, w, 3), np.uint8) for h, w in shapes]
    try:
        keep = select_lines(crops, limits)
    except PayloadTooLarge as e:
        _assert_4xx(e)
        return
    assert all(crops[i].shape[1] <= limits.max_line_aspect * crops[i].shape[0] for i in keep)
    assert sum(48 * max(crops[i].shape[1] / crops[i].shape[0], 320 / 48) for i in keep) <= budget + 1e-6
    assert not math.isnan(budget)


_XML_SEEDS = [
    b'<?xml version="1.0"?><HDon><DLHDon><TTChung><SHDon>7</SHDon><NLap>2024-02-29</NLap></TTChung><NDHDon>'
    b"<NBan><Ten>A</Ten></NBan><DSHHDVu><HHDVu><TChat>1</TChat><SLuong>2</SLuong><DGia>5</DGia><ThTien>10</ThTien>"
    b"</HHDVu></DSHHDVu><TToan><TgTCThue>10</TgTCThue><TgTThue>1</TgTThue><TgTTTBSo>11</TgTTTBSo></TToan>"
    b"</NDHDon></DLHDon></HDon>",
    b'<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100" '
    b'xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100">'
    b"<rsm:ExchangedDocument><ram:ID>X1</ram:ID></rsm:ExchangedDocument><rsm:SupplyChainTradeTransaction>"
    b"<ram:ApplicableHeaderTradeSettlement><ram:SpecifiedTradeSettlementHeaderMonetarySummation>"
    b"<ram:GrandTotalAmount>12.50</ram:GrandTotalAmount></ram:SpecifiedTradeSettlementHeaderMonetarySummation>"
    b"</ram:ApplicableHeaderTradeSettlement></rsm:SupplyChainTradeTransaction></rsm:CrossIndustryInvoice>",
]


@FAST
@given(st.sampled_from(_XML_SEEDS), st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=8),
       st.integers(0, 10_000))
def test_mutated_einvoice_xml_parses_or_4xx(seed, edits, cut):
    data = bytearray(seed)
    for pos, value in edits:
        data[pos % len(data)] = value
    data = bytes(data[: max(0, len(data) - cut % (len(data) + 1))])
    try:
        parse_einvoice_xml(data)
    except ServiceError as e:
        _assert_4xx(e)


@FAST
@given(st.text(max_size=200))
def test_any_text_in_an_einvoice_element_parses_or_4xx(value):
    from xml.sax.saxutils import escape

    xml = (f"<HDon><DLHDon><TTChung><NLap>{escape(value)}</NLap></TTChung><NDHDon><TToan><TgTCThue>{escape(value)}"
           f"</TgTCThue></TToan></NDHDon></DLHDon></HDon>").encode("utf-8", "surrogatepass")
    try:
        read_einvoice(xml)
    except ServiceError as e:
        _assert_4xx(e)
