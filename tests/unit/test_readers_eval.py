"""Pure helpers of bench/readers_eval.py (transcripts as OCR results, split, address scoring)."""

import importlib.util
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def re_bench():
    path = Path(__file__).parents[2] / "bench" / "readers_eval.py"
    spec = importlib.util.spec_from_file_location("readers_eval", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_transcript_segments_become_lines_in_reading_order(re_bench):
    row = {"words": ["TOTAL", "SHOP SDN BHD", "12.00", " "], "image_size": {"width": 300, "height": 200},
           "bboxes": [[10, 100, 60, 120], [10, 10, 200, 30], [200, 101, 250, 121], [0, 0, 1, 1]]}
    ocr = re_bench.transcript_ocr(row)
    assert [ln.text for ln in ocr.lines] == ["SHOP SDN BHD", "TOTAL", "12.00"]
    assert ocr.lines[0].box == ((10, 10), (200, 10), (200, 30), (10, 30)) and ocr.width == 300


def test_halves_are_fixed_and_both_used(re_bench):
    halves = {re_bench.half_of(f"X{i:011d}") for i in range(20)}
    assert halves == {"tune", "report"} and re_bench.half_of("X1") == re_bench.half_of("X1")


def test_address_scored_on_the_words_the_comma_cut_segments_show(re_bench):
    from app.domain import OcrResult
    from tests.conftest import line

    doc = {"ocr": OcrResult((line("NO.2&4", 0, 0), line("TAMAN DESA HARMONI.", 0, 30),
                             line("81100 JOHOR BAHRU", 0, 60)), 100, 100, 0, 0)}
    row = {"label_raw": "NO.2&4, JALAN KUBU 3/9, TAMAN DESA HARMONI. 81100 JOHOR BAHRU",
           "prediction_raw": "NO.2&4 TAMAN DESA HARMONI. 81100 JOHOR BAHRU"}
    got = re_bench.visible_address_row(doc, row)
    assert got["match"] and got["scored_on"] == "visible words"
