"""What one image may cost the OCR engine: geometry checks and a fixed budget.

RapidOCR 3.10 sizes its inputs by rules that look at one side at a time
(``rapidocr/utils/process_img.py`` and ``rapidocr/ch_ppocr_det/utils.py``):

1. *preprocess*: the long side is brought down to ``Global.max_side_len``
   (2000 px), then the short side up to ``Global.min_side_len`` (30 px) —
   the second step overrides the first, so a 2 x 500 image becomes 32 x 7488;
2. *vertical padding*: an image wider than 8 x its height, or not over 30 px
   high, is padded top and bottom with black up to ``2 * max(w / 8, 30)``;
3. *detector resize* (``Det.limit_type: min``, ``limit_side_len: 736``): the
   short side is brought **up** to 736 px, whatever that does to the long side.

Step 3 on a thin image is what took a worker past 20 GB: 32 x 7488 becomes
736 x 172,224 (127 megapixels of float32 input and DB feature maps). And a
side that rounds to 0 px (1 x 5000) makes RapidOCR raise ``ResizeImgError``.

This module decides the detector's input by **both** sides, in three rules:

* :func:`check_geometry` refuses what cannot hold legible text before any
  work is done: a side under ``min_side`` pixels (``IMAGE_TOO_SMALL``, 422) or
  a long side over ``max_aspect_ratio`` times the short one
  (``UNSUPPORTED_GEOMETRY``, 422). We refuse rather than pad or tile because
  a caller who sends a 2-pixel-high strip or a 1:200 sliver has sent the
  wrong file (a scanner's edge, a mis-cropped line, an icon); padding would
  answer "no text" with a 200, which hides the mistake, and tiling would only
  spend time on it. Real inputs sit far inside the limits: pages and cards
  are within 1:3, long receipts within about 1:20, and one text line cut from
  a page within about 1:90 (150 characters about 0.6 of their height wide).
* :func:`detector_limit` keeps RapidOCR's own rule wherever its detector
  input is within ``max_det_pixels`` (so results on ordinary pages do not
  change) and otherwise lowers the scale until the input fits: the detector
  never sees more than ``max_det_pixels`` pixels (plus the rounding of each
  side to a multiple of 32).
* :func:`select_lines` bounds recognition: a detected box more than
  ``max_line_aspect`` times as long as it is high is a rule or a border, not
  a line of text, and is not read; and when the lines left would make the
  recogniser read more than ``max_text_columns`` columns (each line resized
  to 48 px high: ``48 * w / h`` columns, at least 320), the image is refused
  with 413 ``PAYLOAD_TOO_LARGE`` rather than read for minutes.

With these three, memory is bounded by the detector's ``max_det_pixels`` and
one recognition batch of 6 lines at most ``48 * max_line_aspect`` columns
wide, and time by ``max_det_pixels`` plus ``max_text_columns``; the measured
worst cases are in ``docs/errors-and-limits.md`` (``bench/worst_case.py``).
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np

from app.domain import TextLine
from app.errors import ImageTooSmall, PayloadTooLarge, UnsupportedGeometry
from app.geometry import sort_reading_order

# RapidOCR 3.10 defaults (rapidocr/config.yaml) that the rules below reproduce.
LIB_MAX_SIDE_LEN = 2000  # Global.max_side_len
LIB_MIN_SIDE_LEN = 30  # Global.min_side_len
LIB_PAD_RATIO = 8  # Global.width_height_ratio
LIB_MIN_HEIGHT = 30  # Global.min_height
LIB_DET_LIMIT = 736  # Det.limit_side_len with Det.limit_type "min"
REC_HEIGHT = 48  # Rec.rec_img_shape [3, 48, 320]
REC_MIN_WIDTH = 320


@dataclass(frozen=True)
class OcrLimits:
    """The per-image budget of the OCR stage.

    Attributes:
        min_side: smallest accepted side, pixels (``OCR_MIN_SIDE``).
        max_aspect_ratio: largest accepted long side / short side
            (``OCR_MAX_ASPECT_RATIO``).
        max_det_pixels: most pixels the text detector is given
            (``OCR_MAX_DET_PIXELS``; 2048 x 2048 by default, which every
            page RapidOCR's own rule sizes at most 2000 x 2000 stays under).
        max_text_columns: most columns the line recogniser reads per image,
            lines resized to 48 px high (``OCR_MAX_TEXT_COLUMNS``).
        max_line_aspect: detected boxes longer than this many times their
            height are not read (rules, borders).
    """

    min_side: int = 8
    max_aspect_ratio: float = 100.0
    max_det_pixels: int = 2048 * 2048
    max_text_columns: int = 160_000
    max_line_aspect: float = 256.0

    @classmethod
    def from_settings(cls, settings) -> "OcrLimits":
        """Limits from :class:`app.config.Settings` (``ocr_min_side``, ...)."""
        return cls(
            min_side=settings.ocr_min_side,
            max_aspect_ratio=settings.ocr_max_aspect_ratio,
            max_det_pixels=settings.ocr_max_det_pixels,
            max_text_columns=settings.ocr_max_text_columns,
        )


def check_geometry(height: int, width: int, limits: OcrLimits) -> None:
    """Refuse an image whose shape cannot hold legible text.

    Args:
        height: image height, pixels.
        width: image width, pixels.
        limits: the budget.

    Raises:
        ImageTooSmall: a side is under ``limits.min_side`` pixels (422).
        UnsupportedGeometry: long side / short side over
            ``limits.max_aspect_ratio`` (422).
    """
    short, long = min(height, width), max(height, width)
    if short < limits.min_side:
        raise ImageTooSmall(
            f"Image is {width}x{height} pixels; each side must be at least {limits.min_side} px "
            f"to hold legible text (OCR_MIN_SIDE)"
        )
    if long > limits.max_aspect_ratio * short:
        raise UnsupportedGeometry(
            f"Image is {width}x{height} pixels, an aspect ratio of 1:{long / short:.0f}; the limit is "
            f"1:{limits.max_aspect_ratio:g} (OCR_MAX_ASPECT_RATIO): crop it to the document or split it"
        )


def library_preprocess_size(height: int, width: int) -> tuple[int, int]:
    """``(h, w)`` that RapidOCR's preprocess step gives an image (rule 1 above)."""
    h, w = height, width
    if max(h, w) > LIB_MAX_SIDE_LEN:
        ratio = LIB_MAX_SIDE_LEN / max(h, w)
        h, w = _round32(h * ratio), _round32(w * ratio)
    if min(h, w) < LIB_MIN_SIDE_LEN:
        ratio = LIB_MIN_SIDE_LEN / min(h, w)
        h, w = _round32(h * ratio), _round32(w * ratio)
    return h, w


def _round32(x: float) -> int:
    return int(round(int(x) / 32) * 32)


def padded_height(height: int, width: int) -> int:
    """Height after RapidOCR's vertical padding (rule 2 above)."""
    if height <= LIB_MIN_HEIGHT or width / height > LIB_PAD_RATIO:
        pad = int(abs(max(int(width / LIB_PAD_RATIO), LIB_MIN_HEIGHT) * 2 - height) / 2)
        return height + 2 * pad
    return height


def detector_limit(height: int, width: int, limits: OcrLimits, *, min_side_len: int = LIB_DET_LIMIT,
                   scale: float | None = None) -> tuple[str, int]:
    """The detector's ``(limit_type, limit_side_len)`` for an image the
    detector receives at ``height`` x ``width`` (after preprocess and padding).

    RapidOCR's rule (``min``, ``min_side_len``: the short side brought up to
    736 px by default, ``TEXT_DET_LIMIT_SIDE_LEN``) is kept when its result
    fits ``limits.max_det_pixels``; otherwise the scale is lowered to
    ``sqrt(max_det_pixels / (h * w))``: as ``min`` with a smaller short side
    when that still enlarges the image, else as ``max`` with a smaller long
    side.

    Args:
        height, width: the image as the detector receives it, pixels.
        limits: the budget (``max_det_pixels`` caps the result whatever the
            other arguments ask).
        min_side_len: RapidOCR's ``Det.limit_side_len`` for ``limit_type``
            ``min``, pixels.
        scale: when given, the wanted resize factor itself (the header
            pass, :mod:`app.ocr.header`, asks for a multiple of the page's),
            instead of RapidOCR's rule; still capped by the budget.

    Returns:
        ``("min", n)``: short side brought up to ``n`` px (never down);
        ``("max", n)``: long side brought down to ``n`` px.
    """
    short, long = min(height, width), max(height, width)
    wanted = scale if scale is not None else max(1.0, min_side_len / short)
    ratio = min(wanted, math.sqrt(limits.max_det_pixels / (height * width)))
    if ratio >= 1.0:
        return "min", max(short, int(short * ratio))
    return "max", max(32, int(long * ratio))


def detector_scale(height: int, width: int, limit: tuple[str, int]) -> float:
    """The resize factor a ``(limit_type, limit_side_len)`` from
    :func:`detector_limit` gives a ``height`` x ``width`` image (before the
    rounding of each side to a multiple of 32)."""
    kind, side = limit
    if kind == "min":
        return max(1.0, side / min(height, width))
    return min(1.0, side / max(height, width))


@contextlib.contextmanager
def detector_budget(ocr, height: int, width: int, limits: OcrLimits, *, min_side_len: int = LIB_DET_LIMIT,
                    scale: float | None = None) -> Iterator[tuple[tuple[str, int], float]]:
    """Within the block, RapidOCR's text detector sizes its input by
    :func:`detector_limit` for an ``height`` x ``width`` page.

    Args:
        ocr: a ``rapidocr.RapidOCR`` instance; the caller must hold the lock
            that serialises calls to it (the limit is an attribute of its
            shared detector, restored on exit).
        height, width: the page as given to ``ocr.preprocess_img``.
        limits: the budget.
        min_side_len, scale: see :func:`detector_limit`.

    Yields:
        ``(limit, factor)``: the ``(limit_type, limit_side_len)`` in force, and
        the detector's resize factor relative to the ``height`` x ``width`` page
        (RapidOCR's preprocess, then :func:`detector_scale`; before the rounding
        of each side to a multiple of 32).
    """
    det = ocr._load_det_model()
    pre_h, w = library_preprocess_size(height, width)
    h = padded_height(pre_h, w) if ocr.cfg.Global.use_vertical_padding else pre_h
    limit = detector_limit(h, w, limits, min_side_len=min_side_len, scale=scale)
    saved = det.limit_type, det.limit_side_len
    det.limit_type, det.limit_side_len = limit
    try:
        yield limit, (pre_h / max(1, height)) * detector_scale(h, w, limit)
    finally:
        det.limit_type, det.limit_side_len = saved


#: The probe pass of :func:`sized_detection` runs at this share of the detector rule's scale
#: (a quarter of its pixels).
PROBE_FACTOR = 0.5


def rule_scale(ocr, height: int, width: int, limits: OcrLimits, *, min_side_len: int = LIB_DET_LIMIT) -> float:
    """The detector's resize factor relative to a ``height`` x ``width`` image under
    RapidOCR's rule and the budget (what :func:`detector_budget` with ``scale=None``
    yields), without running anything."""
    pre_h, w = library_preprocess_size(height, width)
    h = padded_height(pre_h, w) if ocr.cfg.Global.use_vertical_padding else pre_h
    return (pre_h / max(1, height)) * detector_scale(h, w, detector_limit(h, w, limits, min_side_len=min_side_len))


def image_to_budget_scale(height: int, width: int, image_scale: float) -> float:
    """The ``scale`` argument of :func:`detector_budget` that resizes a ``height`` x
    ``width`` image by ``image_scale`` (``detector_budget`` scales RapidOCR's
    preprocessed image, whose long side is at most 2000 px)."""
    pre_h, _ = library_preprocess_size(height, width)
    return image_scale * height / max(1, pre_h)


def box_heights(boxes: np.ndarray) -> np.ndarray:
    """Heights of ``(N, 4, 2)`` quadrilaterals (corners clockwise from the top left):
    the mean length of the left and right sides, in the boxes' own pixels; ``(N,)``."""
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4, 2)
    if not len(boxes):
        return np.zeros(0, np.float32)
    return (np.linalg.norm(boxes[:, 3] - boxes[:, 0], axis=1) + np.linalg.norm(boxes[:, 2] - boxes[:, 1], axis=1)) / 2


def text_height_scale(heights: np.ndarray, probe_scale: float, full_scale: float, target: float) -> float | None:
    """Decide the detector's scale for a page from the text heights a probe pass found.

    DB text detection (Liao et al., "Real-time Scene Text Detection with Differentiable
    Binarization", AAAI 2020) finds a line once it is some pixels high; past that, more
    resolution only costs time (the detector's cost is linear in its input's pixels).
    RapidOCR's rule sizes the input by the page's short side alone, so a receipt photo
    whose lines are 35 px high at the detector is read at four times the pixels a
    17 px line needs.

    Args:
        heights: box heights found by the probe pass, in image pixels (:func:`box_heights`).
        probe_scale: the probe pass's resize factor relative to the image.
        full_scale: the factor of RapidOCR's rule (:func:`rule_scale`), never exceeded.
        target: the median box height, in detector pixels, that is enough
            (``OCR_DET_TEXT_HEIGHT``; boxes include DB's unclip margin).

    Returns:
        None when the probe's boxes stand (their median height at the detector is at
        least ``target``); otherwise the factor to detect again at: the one that
        brings the median up to ``target``, at most ``full_scale`` (and
        ``full_scale`` itself when the probe found nothing).
    """
    if not len(heights):
        return full_scale
    at_probe = float(np.median(heights)) * probe_scale
    if at_probe >= target:
        return None
    return min(full_scale, probe_scale * target / max(at_probe, 1e-3))


def sized_detection(detect, heights, ocr, height: int, width: int, limits: OcrLimits, *, min_side_len: int,
                    target: float):
    """Detection with the input sized by the page's text height (``OCR_DET_TEXT_HEIGHT``),
    for any engine on RapidOCR's detector: a probe pass at :data:`PROBE_FACTOR` of the
    rule's scale, kept when its text is tall enough (:func:`text_height_scale`), else one
    more pass at the scale the text needs (the rule's itself when that is at least it).

    Args:
        detect: ``detect(scale) -> result``, one pass; ``scale`` as :func:`detector_budget`'s
            (None: the rule).
        heights: ``heights(result) -> (box heights in image pixels, the pass's resize
            factor relative to the image)``.
        ocr, height, width, limits, min_side_len: as :func:`rule_scale`.
        target: the median box height wanted at the detector, in pixels.

    Returns:
        The result of the pass that stands.
    """
    full = rule_scale(ocr, height, width, limits, min_side_len=min_side_len)
    probe = detect(image_to_budget_scale(height, width, full * PROBE_FACTOR))
    again = text_height_scale(*heights(probe), full, target)
    if again is None:
        return probe
    return detect(None if again >= full else image_to_budget_scale(height, width, again))


def text_columns(crop_shape: Sequence[int]) -> float:
    """Columns the recogniser reads for one line crop of ``(h, w, ...)`` pixels."""
    h, w = max(1, int(crop_shape[0])), int(crop_shape[1])
    return REC_HEIGHT * max(w / h, REC_MIN_WIDTH / REC_HEIGHT)


def select_lines(crops: Sequence[np.ndarray], limits: OcrLimits) -> list[int]:
    """Indices of the line crops to recognise, within the budget.

    Args:
        crops: upright line crops ``(h, w, 3)`` as RapidOCR cuts them (a box
            at least 1.5 x taller than wide is already turned 90 degrees).
        limits: the budget.

    Returns:
        Indices, in order, of the crops no longer than
        ``limits.max_line_aspect`` times their height.

    Raises:
        PayloadTooLarge: the kept lines need more than
            ``limits.max_text_columns`` recogniser columns (413).
    """
    keep = [i for i, c in enumerate(crops)
            if c.shape[0] > 0 and c.shape[1] > 0 and c.shape[1] <= limits.max_line_aspect * c.shape[0]]
    columns = sum(text_columns(crops[i].shape) for i in keep)
    if columns > limits.max_text_columns:
        raise PayloadTooLarge(
            f"The image holds more text than one request may read: {len(keep)} lines, "
            f"{columns:,.0f} recogniser columns; the limit is {limits.max_text_columns:,} "
            f"(OCR_MAX_TEXT_COLUMNS): send the page in parts"
        )
    return keep


# --------------------------------------------------------------- turned pages and line crops
def page_turn(boxes: np.ndarray, upside_down: bool) -> str:
    """How the page lies in the image, from its line boxes and the orientation vote.

    Args:
        boxes: ``(N, 4, 2)`` line boxes in page pixels.
        upside_down: the lines, cut as RapidOCR cuts them (tall boxes turned 90
            degrees counter-clockwise), were classified upside down.

    Returns:
        ``upright``, ``180``, ``left`` (page turned 90 degrees counter-clockwise:
        its top is at the image's left) or ``right`` (top at the right).
    """
    if len(boxes) == 0:
        return "upright"
    widths = np.linalg.norm(boxes[:, 1] - boxes[:, 0], axis=1)
    heights = np.linalg.norm(boxes[:, 3] - boxes[:, 0], axis=1)
    if np.count_nonzero(heights >= 1.5 * widths) * 2 > len(boxes):
        return "left" if upside_down else "right"
    return "180" if upside_down else "upright"


def turned_reading_order(lines: list[TextLine], width: int, height: int, turn: str = "upright") -> list[TextLine]:
    """Reading order of the page as it reads upright (see :func:`page_turn`);
    the boxes stay in image pixels."""
    to_upright = {
        "upright": None,
        "180": lambda x, y: (width - x, height - y),
        "left": lambda x, y: (height - y, x),
        "right": lambda x, y: (y, width - x),
    }[turn]
    if to_upright is None:
        return sort_reading_order(lines)
    turned = [TextLine(ln.text, ln.confidence, tuple(to_upright(x, y) for x, y in ln.box)) for ln in lines]
    back = {id(t): ln for ln, t in zip(lines, turned)}
    return [back[id(t)] for t in sort_reading_order(turned)]


def line_image(gray: np.ndarray, quad: np.ndarray, options, upside_down: bool = False) -> np.ndarray:
    """Cut one detected line out of the page for Tesseract.

    Args:
        gray: ``(H, W)`` uint8 page.
        quad: ``(4, 2)`` box in page pixels, clockwise from the text's top-left.
        options: an :class:`app.ocr.hybrid.HybridOptions` (its ``line_height``, ``margin``, ``border``, ``normalize``).
        upside_down: turn the result 180 degrees.

    Returns:
        ``(h, w)`` uint8 image: the line level and upright, its box
        ``line_height`` pixels high, dark text on white with a white border.
    """
    import cv2

    quad = np.asarray(quad, dtype=np.float32).reshape(4, 2)
    box_w = max(np.linalg.norm(quad[1] - quad[0]), np.linalg.norm(quad[2] - quad[3]), 1.0)
    box_h = max(np.linalg.norm(quad[3] - quad[0]), np.linalg.norm(quad[2] - quad[1]), 1.0)
    tall = box_h >= 1.5 * box_w  # RapidOCR's rule: such a crop is turned 90 degrees
    scale = options.line_height / (box_w if tall else box_h)
    m = options.margin * (box_w if tall else box_h) * scale
    out_w, out_h = box_w * scale, box_h * scale
    dst = np.array([[m, m], [m + out_w, m], [m + out_w, m + out_h], [m, m + out_h]], dtype=np.float32)
    size = (int(round(out_w + 2 * m)), int(round(out_h + 2 * m)))
    matrix = cv2.getPerspectiveTransform(quad, dst)
    flags = cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA
    img = cv2.warpPerspective(gray, matrix, size, flags=flags, borderMode=cv2.BORDER_REPLICATE)
    if tall:
        img = np.rot90(img)
    if upside_down:
        img = np.rot90(img, 2)
    img = np.ascontiguousarray(img)
    if options.normalize == "flatten":
        # Paper brightness: a large closing (max filter) removes the dark strokes.
        k = max(3, int(options.line_height * 0.6) | 1)
        background = cv2.morphologyEx(img, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
        img = cv2.divide(img, background, scale=255)
        lo = np.percentile(img, 1)
        if lo < 250:
            img = np.clip((img.astype(np.float32) - lo) * (255.0 / (255.0 - lo)), 0, 255).astype(np.uint8)
    elif options.normalize == "otsu":
        _, img = cv2.threshold(img, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    if options.border:
        b = options.border
        img = cv2.copyMakeBorder(img, b, b, b, b, cv2.BORDER_CONSTANT, value=255)
    return img
