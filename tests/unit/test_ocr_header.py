"""Geometry of the header detection pass (app/ocr/header.py): region, overlap, merge."""

import numpy as np
import pytest

from app.ocr.header import (Region, from_upright, header_region, inside_region, merge_passes, overlap_matrix,
                            to_upright)


def quad(x0, y0, x1, y1):
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]


# A receipt upright in a 600 x 1000 photo: 9 lines 20 px high, from y = 200 to y = 820, x 100..500.
PAGE = np.array([quad(100, 200 + 75 * i, 500, 220 + 75 * i) for i in range(9)], dtype=np.float32)
W, H = 600, 1000


@pytest.mark.parametrize("turn", ["upright", "180", "left", "right"])
def test_upright_frame_round_trips(turn):
    pts = np.array([[0, 0], [600, 0], [13.5, 977.25], [600, 1000]])
    assert np.allclose(from_upright(to_upright(pts, W, H, turn), W, H, turn), pts)


def test_page_top_is_where_the_turn_says():
    # "left": the page's top is at the image's left edge, so that edge maps to upright y = 0.
    assert np.allclose(to_upright(np.array([[0, 500]]), W, H, "left"), [[500, 0]])
    assert np.allclose(to_upright(np.array([[600, 500]]), W, H, "right"), [[500, 0]])
    assert np.allclose(to_upright(np.array([[300, 1000]]), W, H, "180"), [[300, 0]])


def test_header_region_is_the_top_of_the_text_with_margins():
    region = header_region(PAGE, W, H, fraction=0.3, margin_lines=3.0)
    # text from y 200 to 820 (620 px): top 30 % = 186 px, plus one line (20 px) below, 3 lines (60 px) around.
    assert region == Region(40, 140, 560, 406)


@pytest.mark.parametrize("turn", ["180", "left", "right"])
def test_header_region_follows_the_page_turn(turn):
    # The same page lying turned in the image: the region is the upright one, turned the same way.
    img_w, img_h = (H, W) if turn in ("left", "right") else (W, H)
    turned = from_upright(PAGE.astype(np.float64), img_w, img_h, turn)
    region = header_region(turned, img_w, img_h, turn, fraction=0.3)
    corners = from_upright(np.array([[40, 140], [560, 406]], float), img_w, img_h, turn)
    assert (region.x0, region.x1) == tuple(sorted(corners[:, 0].astype(int)))
    assert (region.y0, region.y1) == tuple(sorted(corners[:, 1].astype(int)))


def test_header_region_is_clipped_to_the_image_and_none_without_lines():
    region = header_region(np.array([quad(0, 0, 600, 20)], np.float32), W, H, fraction=1.0)
    assert region == Region(0, 0, 600, 40)
    assert header_region(np.zeros((0, 4, 2), np.float32), W, H) is None
    with pytest.raises(ValueError, match="fraction"):
        header_region(PAGE, W, H, fraction=0.0)


def test_overlap_is_over_the_smaller_box():
    a = np.array([quad(0, 0, 100, 20)], np.float32)
    b = np.array([quad(10, 5, 40, 15), quad(50, 0, 150, 20), quad(200, 0, 300, 20), quad(5, 5, 5, 15)], np.float32)
    assert np.allclose(overlap_matrix(a, b), [[1.0, 0.5, 0.0, 0.0]])  # inside, half, apart, no area
    assert overlap_matrix(a, np.zeros((0, 4, 2))).shape == (1, 0)


def test_boxes_cut_by_the_region_edge_are_not_whole():
    region = Region(40, 140, 560, 406)
    boxes = np.array([quad(100, 200, 500, 220),  # well inside
                      quad(100, 390, 500, 405),  # touches the bottom edge, inside the image: cut
                      quad(41, 200, 300, 220)], np.float32)  # within 2 px of the left edge: cut
    assert inside_region(boxes, region, W, H).tolist() == [True, False, False]
    # Edges that are the image's own edges do not cut anything.
    full = Region(0, 0, 600, 300)
    assert inside_region(np.array([quad(0, 0, 600, 20)], np.float32), full, W, 300).tolist() == [True]


def test_replace_lets_the_header_pass_decide_how_lines_are_cut():
    first = np.array([quad(100, 200, 500, 220),    # one box over two printed lines' words
                      quad(100, 300, 500, 320),    # a line both passes found
                      quad(100, 700, 500, 720)], np.float32)  # below the header
    second = np.array([quad(100, 200, 290, 220), quad(310, 200, 500, 220),
                       quad(102, 301, 498, 321), quad(100, 150, 400, 170)], np.float32)  # the last one is new
    assert merge_passes(first, second, "replace") == ([2], [0, 1, 2, 3])
    assert merge_passes(first, second, "fill") == ([0, 1, 2], [3])


def test_replace_keeps_a_line_of_which_the_header_pass_found_a_fragment():
    first = np.array([quad(100, 200, 500, 220)], np.float32)
    second = np.array([quad(480, 202, 498, 218),   # a stray mark inside the line: 5 % of it
                       quad(100, 230, 500, 250)], np.float32)  # a new line below it
    assert merge_passes(first, second, "replace") == ([0], [1])


def test_merge_with_an_empty_pass_and_unknown_policy():
    boxes = np.array([quad(0, 0, 10, 10)], np.float32)
    empty = np.zeros((0, 4, 2), np.float32)
    assert merge_passes(boxes, empty) == ([0], [])
    assert merge_passes(empty, boxes, "fill") == ([], [0])
    with pytest.raises(ValueError, match="merge"):
        merge_passes(boxes, boxes, "union")


def test_detector_limit_takes_the_side_length_setting_and_a_scale_within_the_budget():
    from app.ocr.geometry import OcrLimits, detector_limit, detector_scale

    limits = OcrLimits()
    assert detector_limit(1013, 463, limits, min_side_len=960) == ("min", 960)
    # The header pass asks for 2.56 x a 576 x 400 band: 1474 x 1024, under the 2048 x 2048 budget.
    limit = detector_limit(400, 576, limits, scale=2.56)
    assert limit == ("min", 1024) and detector_scale(400, 576, limit) == pytest.approx(2.56)
    # Asked for 4 x a 1000 x 1600 page: capped by OCR_MAX_DET_PIXELS, never past it.
    kind, side = detector_limit(1000, 1600, limits, scale=4.0)
    ratio = detector_scale(1000, 1600, (kind, side))
    assert 1000 * ratio * 1600 * ratio <= limits.max_det_pixels * 1.001


def test_header_settings_are_read_and_checked():
    from app.config import ConfigError, Settings

    s = Settings.from_env({"OCR_HEADER_FRACTION": "0.3", "OCR_HEADER_SCALE": "1.5", "OCR_HEADER_MERGE": "Fill",
                           "TEXT_DET_UNCLIP_RATIO": "1.4", "TEXT_DET_THRESH": "0.2",
                           "TEXT_DET_LIMIT_SIDE_LEN": "960"}, dotenv=False)
    assert (s.ocr_header_fraction, s.ocr_header_scale, s.ocr_header_merge) == (0.3, 1.5, "fill")
    assert (s.text_det_unclip_ratio, s.text_det_thresh, s.text_det_limit_side_len) == (1.4, 0.2, 960)
    for name, bad in (("OCR_HEADER_MERGE", "union"), ("OCR_HEADER_SCALE", "8"), ("OCR_HEADER_FRACTION", "1.5"),
                      ("TEXT_DET_LIMIT_SIDE_LEN", "10")):
        with pytest.raises(ConfigError, match=name):
            Settings.from_env({name: bad}, dotenv=False)
