"""The detector's input sized by the page's text height (OCR_DET_TEXT_HEIGHT, app/ocr/geometry.py)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from app.config import Settings
from app.ocr.geometry import (PROBE_FACTOR, OcrLimits, box_heights, detector_budget, image_to_budget_scale,
                              rule_scale, text_height_scale)


def _ocr(padding: bool = True):
    det = SimpleNamespace(limit_type="min", limit_side_len=736)
    return SimpleNamespace(cfg=SimpleNamespace(Global=SimpleNamespace(use_vertical_padding=padding)),
                           _load_det_model=lambda: det)


def test_box_heights_of_quadrilaterals():
    upright = [[0, 0], [100, 0], [100, 20], [0, 20]]
    slanted = [[0, 0], [100, 10], [100, 40], [0, 30]]  # both sides 30 px
    assert box_heights(np.array([upright, slanted])).tolist() == pytest.approx([20.0, 30.0])
    assert box_heights(np.zeros((0, 4, 2))).shape == (0,)


def test_tall_text_keeps_the_probe():
    # Median 40 px in the image, probe at 0.5: 20 px at the detector, target 16.
    assert text_height_scale(np.array([38.0, 40.0, 60.0]), 0.5, 1.0, 16) is None


def test_small_text_is_detected_again_at_the_scale_it_needs():
    # 20 px in the image, probe 0.5: 10 px there; 16 wanted -> factor 0.8.
    assert text_height_scale(np.array([20.0, 20.0]), 0.5, 1.0, 16) == pytest.approx(0.8)


def test_never_past_the_rule_and_nothing_found_means_the_rule():
    assert text_height_scale(np.array([4.0]), 0.8, 1.6, 24) == pytest.approx(1.6)
    assert text_height_scale(np.zeros(0), 0.8, 1.6, 24) == pytest.approx(1.6)


def test_rule_scale_matches_the_budget_of_the_rule():
    ocr = _ocr()
    for h, w in [(1013, 463), (1706, 838), (2481, 993), (1024, 768)]:
        with detector_budget(ocr, h, w, OcrLimits()) as (_, factor):
            assert rule_scale(ocr, h, w, OcrLimits()) == pytest.approx(factor)


@pytest.mark.parametrize("h,w", [(1013, 463), (2481, 993), (1024, 768)])
def test_image_scale_converts_to_the_budgets_scale(h, w):
    ocr = _ocr()
    wanted = rule_scale(ocr, h, w, OcrLimits()) * PROBE_FACTOR
    with detector_budget(ocr, h, w, OcrLimits(), scale=image_to_budget_scale(h, w, wanted)) as (_, factor):
        assert factor == pytest.approx(wanted, rel=0.01)


def test_setting_parsed_and_bounded():
    assert Settings.from_env({}).ocr_det_text_height == 0
    assert Settings.from_env({"OCR_DET_TEXT_HEIGHT": "16"}).ocr_det_text_height == 16
    with pytest.raises(Exception, match="OCR_DET_TEXT_HEIGHT"):
        Settings.from_env({"OCR_DET_TEXT_HEIGHT": "-1"})
