"""Regression tests, one per failure found by the fuzzing and the hostile tries of
issue 10 (each was a 500 SYSTEM_ERROR / OCR_ERROR, a misleading 413, or an
oversized echo of the caller's input). Fakes injected; the real OCR engine's
cases are in ``tests/fuzz/test_real_engine.py``."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from app import create_app
from app.api.errors import too_large_message
from app.api.schemas import MAX_CONFIG_CHARS, parse_extract_config
from app.config import Settings
from app.documents import decode_image
from app.errors import ImageTooSmall, InvalidConfig, PayloadTooLarge, UnsupportedGeometry
from app.llm.client import LLMClient
from app.ocr.geometry import (OcrLimits, check_geometry, detector_limit, library_preprocess_size, padded_height,
                              select_lines)
from tests.conftest import FakeOcrEngine, FakeOpenAI, png_bytes


def make_client(engine=None, **settings):
    s = Settings(hard_token="", llm_api_url="http://fake/v1", **settings)
    llm = LLMClient(base_url="http://fake/v1", model="m", client=FakeOpenAI(lambda kind, kw: "NONE"))
    app = create_app(s, ocr_engine=engine or FakeOcrEngine(), llm_client=llm)
    app.testing = True
    return app.test_client()


def post_config(client, config: str):
    return client.post("/extract", data={"image_file": (io.BytesIO(png_bytes()), "a.png"), "config": config},
                       content_type="multipart/form-data")


# ------------------------------------------------------------------ config shapes (were 500 SYSTEM_ERROR)

def test_config_nested_1000_deep_is_400_not_recursion_error():
    client = make_client()
    for config in ("[" * 1000 + "]" * 1000, '{"info": ' + '{"a": ' * 1000 + '"x"' + "}" * 1001):
        r = post_config(client, config)
        assert r.status_code == 400 and r.get_json()["error_code"] == "INVALID_CONFIG", r.get_json()
        assert "nested too deeply" in r.get_json()["message"]


def test_config_integer_of_5000_digits_is_400_not_value_error():
    r = post_config(make_client(), '{"document_type": "receipt", "batch_size": ' + "9" * 5000 + "}")
    body = r.get_json()
    assert r.status_code == 400 and body["error_code"] == "INVALID_CONFIG"
    assert "5000 digits" in body["message"] and "9999" not in body["message"]


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_config_nan_and_infinity_are_400(constant):
    with pytest.raises(InvalidConfig, match=constant):
        parse_extract_config('{"document_type": "receipt", "llm_timeout": %s}' % constant)


def test_config_duplicate_keys_are_400_naming_the_key():
    with pytest.raises(InvalidConfig, match="'info' twice"):
        parse_extract_config('{"info": {"a": "b"}, "info": {"c": "d"}}')
    with pytest.raises(InvalidConfig, match="'a' twice"):
        parse_extract_config('{"info": {"a": "b", "a": "c"}}')


def test_config_10000_unknown_keys_answer_is_small():
    # Was a 548 KB response listing every key.
    config = json.dumps({"document_type": "receipt", **{f"key{i}": i for i in range(10000)}})
    r = post_config(make_client(), config)
    body = r.get_json()
    assert r.status_code == 400 and body["error_code"] == "INVALID_CONFIG"
    assert len(r.data) < 4000 and "and 9990 more" in body["message"]
    assert len(body["details"]["errors"]) == 11


def test_config_huge_key_is_not_echoed_whole():
    r = post_config(make_client(), json.dumps({"info": {"k" * 200_000: "d"}}))
    assert r.status_code == 400 and len(r.data) < 2000
    assert "200002 chars" in r.get_json()["message"]


def test_config_over_own_limit_is_413_naming_it():
    with pytest.raises(PayloadTooLarge, match="config is"):
        parse_extract_config('{"info": {"a": "' + "x" * MAX_CONFIG_CHARS + '"}}')


def test_config_over_form_memory_limit_says_which_limit():
    # Was "Request body is over the limit of 50.0 MB" for a 600 kB config.
    r = post_config(make_client(), '{"info": {"a": "' + "x" * 600_000 + '"}}')
    body = r.get_json()
    assert r.status_code == 413 and body["error_code"] == "PAYLOAD_TOO_LARGE"
    assert "text form field is over 500 kB" in body["message"] and "50.0 MB" not in body["message"]


def test_body_over_limit_still_names_max_request_mb():
    assert "MAX_REQUEST_MB" in too_large_message(60 * 1048576, 50 * 1048576, 500_000, 1000)
    r = make_client(max_request_bytes=1000).post(
        "/ocr", data={"image_file": (io.BytesIO(b"x" * 5000), "a.png")}, content_type="multipart/form-data")
    assert r.status_code == 413 and "MAX_REQUEST_MB" in r.get_json()["message"]


# ------------------------------------------------------------------ multipart edge cases

def test_config_sent_twice_is_400():
    r = make_client().post("/extract", data={"image_file": (io.BytesIO(png_bytes()), "a.png"),
                                             "config": ['{"document_type": "receipt"}', '{"info": {"a": "b"}}']},
                           content_type="multipart/form-data")
    assert r.status_code == 400 and r.get_json()["error_code"] == "INVALID_CONFIG"
    assert "sent 2 times" in r.get_json()["message"]


def test_display_text_box_sent_twice_is_400():
    r = make_client().post("/ocr", data={"image_file": (io.BytesIO(png_bytes()), "a.png"),
                                         "display_text_box": ["true", "false"]}, content_type="multipart/form-data")
    assert r.status_code == 400 and r.get_json()["error_code"] == "INVALID_PARAMETER"


def test_file_part_without_filename_says_it_arrived_as_text():
    body = (b"--b\r\nContent-Disposition: form-data; name=\"image_file\"\r\n\r\n" + png_bytes() + b"\r\n--b--\r\n")
    r = make_client().post("/ocr", data=body, content_type="multipart/form-data; boundary=b")
    assert r.status_code == 400 and r.get_json()["error_code"] == "MISSING_FILE"
    assert "without a filename" in r.get_json()["message"]


def test_wrong_content_type_is_400_saying_multipart():
    r = make_client().post("/ocr", data=b'{"image_file": "x"}', content_type="application/json")
    assert r.status_code == 400 and r.get_json()["error_code"] == "MISSING_FILE"
    assert "multipart/form-data" in r.get_json()["message"]


def test_long_filename_is_clipped_in_results():
    r = make_client().post("/ocr", data={"image_file": (io.BytesIO(png_bytes()), "a" * 5000 + ".png")},
                           content_type="multipart/form-data")
    assert r.status_code == 200 and len(r.get_json()["data"]["results"][0]["filename"]) == 255


def test_bad_display_text_box_value_is_clipped():
    r = make_client().post("/ocr", data={"image_file": (io.BytesIO(png_bytes()), "a.png"),
                                         "display_text_box": "y" * 100_000}, content_type="multipart/form-data")
    assert r.status_code == 400 and len(r.data) < 1000


# ------------------------------------------------------------------ image modes (text kept legible)

def _encoded(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def _decode(data: bytes) -> np.ndarray:
    return decode_image(data, max_bytes=1 << 24, max_pixels=1 << 24)


def test_16bit_grey_png_is_scaled_not_clipped_white():
    arr = np.full((20, 40), 60000, np.uint16)
    arr[5:15, 5:35] = 2000  # dark text on a light 16-bit page
    out = _decode(_encoded(Image.fromarray(arr), "PNG"))
    assert out[10, 10, 0] < 20 and out[0, 0, 0] > 200


def test_transparent_background_becomes_white_paper():
    img = Image.new("RGBA", (40, 20), (0, 0, 0, 0))
    img.paste((0, 0, 0, 255), (5, 5, 35, 15))
    out = _decode(_encoded(img, "PNG"))
    assert out[0, 0].tolist() == [255, 255, 255] and out[10, 10].tolist() == [0, 0, 0]
    pal = _decode(_encoded(Image.new("P", (40, 20), 0), "PNG", transparency=0))
    assert pal[0, 0].tolist() == [255, 255, 255]


@pytest.mark.parametrize("mode,value", [("F", 0.5), ("F", float("nan")), ("I", 70000), ("I;16", 300), ("LA", (9, 0))])
def test_other_modes_decode(mode, value):
    out = _decode(_encoded(Image.new(mode, (30, 20), value), "TIFF" if mode in ("F", "I", "I;16") else "PNG"))
    assert out.shape == (20, 30, 3) and out.dtype == np.uint8


# ------------------------------------------------------------------ geometry (was 20 GB / 500 OCR_ERROR)

@pytest.mark.parametrize("width,height", [(2, 500), (500, 2), (1, 5000), (5000, 1), (3, 3000), (7, 3000), (1, 1)])
def test_tiny_and_one_pixel_images_are_422_too_small(width, height):
    with pytest.raises(ImageTooSmall) as e:
        check_geometry(height, width, OcrLimits())
    assert e.value.http_status == 422 and f"{width}x{height}" in e.value.message


@pytest.mark.parametrize("width,height", [(16, 3000), (3000, 16), (8, 900), (64, 8000)])
def test_extreme_aspect_ratio_is_422_unsupported_geometry(width, height):
    with pytest.raises(UnsupportedGeometry) as e:
        check_geometry(height, width, OcrLimits())
    assert e.value.http_status == 422


@pytest.mark.parametrize("width,height", [(8, 8), (8, 800), (32, 3000), (3000, 32), (600, 12000), (4000, 3000)])
def test_accepted_shapes_pass(width, height):
    check_geometry(height, width, OcrLimits())


@pytest.mark.parametrize("width,height", [(2, 500), (32, 3000), (8, 800), (600, 12000), (4000, 3000), (2000, 2000),
                                          (10000, 8000), (3000, 32)])
def test_detector_input_within_budget(width, height):
    """The 2 x 500 image that reached 20 GB: RapidOCR's rule gives the detector 736 x 172,224."""
    limits = OcrLimits()
    h, w = library_preprocess_size(height, width)
    h = padded_height(h, w)
    kind, side = detector_limit(h, w, limits)
    ratio = side / min(h, w) if kind == "min" else min(1.0, side / max(h, w))
    det_h, det_w = (int(round(int(x * ratio) / 32) * 32) for x in (h, w))  # as DetPreProcess.resize
    # The budget, plus each side's rounding to a multiple of 32 (at most 16 px).
    assert det_h * det_w <= limits.max_det_pixels + 16 * (det_h + det_w)


def test_ordinary_pages_keep_rapidocr_rule():
    # A receipt photo and a phone photo: the detector's own rule (short side 736) unchanged.
    assert detector_limit(1013, 463, OcrLimits()) == ("min", 736)
    assert detector_limit(1504, 1984, OcrLimits()) == ("min", 1504)


def test_select_lines_drops_rules_and_refuses_too_much_text():
    limits = OcrLimits(max_text_columns=10_000)
    crops = [np.zeros((20, 200, 3), np.uint8), np.zeros((2, 1000, 3), np.uint8), np.zeros((30, 60, 3), np.uint8)]
    assert select_lines(crops, limits) == [0, 2]  # the 1:500 sliver is a rule, not text
    with pytest.raises(PayloadTooLarge, match="OCR_MAX_TEXT_COLUMNS"):
        select_lines([np.zeros((10, 2000, 3), np.uint8)] * 2, limits)


def test_geometry_errors_are_per_file_in_a_batch():
    from tests.fuzz.test_fuzz_http import GeometryFake

    client = make_client(engine=GeometryFake())
    r = client.post("/ocr", data={"image_file": [(io.BytesIO(png_bytes(2, 500)), "thin.png"),
                                                 (io.BytesIO(png_bytes()), "ok.png")]},
                    content_type="multipart/form-data")
    body = r.get_json()
    assert r.status_code == 200 and body["data"]["error_count"] == 1
    assert body["data"]["results"][0]["error_code"] == "IMAGE_TOO_SMALL"
    r = client.post("/ocr", data={"image_file": (io.BytesIO(png_bytes(2, 500)), "thin.png")},
                    content_type="multipart/form-data")
    assert r.status_code == 422 and r.get_json()["error_code"] == "IMAGE_TOO_SMALL"


def test_geometry_settings_from_env():
    s = Settings.from_env({"OCR_MIN_SIDE": "4", "OCR_MAX_ASPECT_RATIO": "20", "OCR_MAX_DET_PIXELS": "1000000",
                           "OCR_MAX_TEXT_COLUMNS": "5000"}, dotenv=False)
    assert OcrLimits.from_settings(s) == OcrLimits(4, 20.0, 1_000_000, 5000)


def test_oversized_config_is_not_echoed_in_the_log(caplog):
    # The 548 KB answer for 10,000 unknown keys was also one 548 KB log line.
    config = json.dumps({"document_type": "receipt", **{f"key{i}": i for i in range(10000)}})
    with caplog.at_level("INFO"):
        r = post_config(make_client(), config)
    assert r.status_code == 400
    assert caplog.records and max(len(rec.getMessage()) for rec in caplog.records) < 1000


def test_every_error_code_is_documented():
    from pathlib import Path

    from tests.fuzz.server import documented_codes

    text = (Path(__file__).resolve().parents[2] / "docs" / "errors-and-limits.md").read_text(encoding="utf-8")
    missing = sorted(code for code in documented_codes() if f"`{code}`" not in text)
    assert not missing, f"add to docs/errors-and-limits.md: {missing}"


# ------------------------------------------------------------------ gunicorn's own refusals (were HTML pages)


class _RecordingSocket:
    def __init__(self):
        self.sent = b""

    def sendall(self, data):
        self.sent += data


class _Log:
    def __init__(self):
        self.lines = []

    def info(self, msg, *args):
        self.lines.append(msg % args)


def _answer(sock: _RecordingSocket) -> tuple[int, dict, dict]:
    head, _, body = sock.sent.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split(" ")[1]), headers, json.loads(body)


def test_gunicorn_error_page_is_replaced_by_the_json_shape():
    from gunicorn import util
    from gunicorn.http.errors import LimitRequestHeaders

    from app.serving.worker import _JsonErrorSocket

    real, log = _RecordingSocket(), _Log()
    # What gunicorn's handle_error writes for too many headers, through the wrapped socket.
    util.write(_JsonErrorSocket(real, LimitRequestHeaders("too many headers"), log),
               b"HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: text/html\r\n\r\n<html></html>")
    status, headers, body = _answer(real)
    assert status == 431 and headers["Content-Type"] == "application/json" and headers["Connection"] == "close"
    assert body["error_code"] == "HEADERS_TOO_LARGE" and body["success"] is False
    assert "LimitRequestHeaders" in body["message"] and body["trace_id"] == headers["X-Trace-Id"]
    assert body["trace_id"] in log.lines[0]


def test_an_error_escaping_the_app_is_500_system_error_without_its_text():
    from app.serving.worker import json_error_answer

    sock = _RecordingSocket()
    sock.sendall(json_error_answer(500, RuntimeError("secret document text"))[0])
    status, _, body = _answer(sock)
    assert status == 500 and body["error_code"] == "SYSTEM_ERROR" and "secret" not in body["message"]
