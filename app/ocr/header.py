"""A second text-detection pass over the header of a page, at a higher resolution.

The seller's name and address are printed at the top of a receipt, often in
small or thin type that PP-OCRv6's detector, run once over the whole page at
``TEXT_DET_LIMIT_SIDE_LEN``, misses or splits differently from the printed
line. The hybrid engine (:mod:`app.ocr.hybrid`) can detect the top of the page
again, enlarged ``OCR_HEADER_SCALE`` times relative to the first pass, and
merge the lines of both passes. This module holds the pure geometry of that
pass (tested in ``tests/unit/test_ocr_header.py``); the engine runs the
detector.

Boxes are ``(N, 4, 2)`` float arrays of quadrilaterals in page pixels, as the
engines return them. "Overlap" between two boxes compares their axis-aligned
bounding rectangles: intersection area over the smaller rectangle's area, so a
box lying inside a bigger one overlaps it fully whatever their sizes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: How the lines of the two passes are merged (see :func:`merge_passes`).
MERGES = ("replace", "fill")


@dataclass(frozen=True)
class Region:
    """A rectangle of the page in pixels: ``x0 <= x < x1``, ``y0 <= y < y1`` (integers)."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0


# (x, y) in image pixels -> the same point with the page upright, per page turn
# (app.ocr.geometry.page_turn), and back; W, H: the image's width and height.
_TO_UPRIGHT = {
    "upright": lambda x, y, W, H: (x, y),
    "180": lambda x, y, W, H: (W - x, H - y),
    "left": lambda x, y, W, H: (H - y, x),  # the page's top is at the image's left
    "right": lambda x, y, W, H: (y, W - x),  # the page's top is at the image's right
}
_FROM_UPRIGHT = {
    "upright": lambda u, v, W, H: (u, v),
    "180": lambda u, v, W, H: (W - u, H - v),
    "left": lambda u, v, W, H: (v, H - u),
    "right": lambda u, v, W, H: (W - v, u),
}


def to_upright(points: np.ndarray, width: int, height: int, turn: str) -> np.ndarray:
    """Points ``(..., 2)`` of the image in the frame of the page read upright.

    Args:
        points: ``(..., 2)`` x, y in image pixels.
        width, height: the image's size, pixels.
        turn: ``upright``, ``180``, ``left`` or ``right`` (:func:`app.ocr.geometry.page_turn`).

    Returns:
        Same shape; x, y in the upright page's frame (its size is
        ``height`` x ``width`` for ``left``/``right``).

    Raises:
        KeyError: unknown ``turn``.
    """
    pts = np.asarray(points, dtype=np.float64)
    u, v = _TO_UPRIGHT[turn](pts[..., 0], pts[..., 1], width, height)
    return np.stack([u, v], axis=-1)


def from_upright(points: np.ndarray, width: int, height: int, turn: str) -> np.ndarray:
    """The inverse of :func:`to_upright` (same arguments; ``width``, ``height`` of the image)."""
    pts = np.asarray(points, dtype=np.float64)
    x, y = _FROM_UPRIGHT[turn](pts[..., 0], pts[..., 1], width, height)
    return np.stack([x, y], axis=-1)


def header_region(boxes: np.ndarray, width: int, height: int, turn: str = "upright", *,
                  fraction: float = 0.3, margin_lines: float = 3.0) -> Region | None:
    """The part of the image that holds the top of the page's text.

    With the page upright, the text's extent is the bounding rectangle of the
    first pass's line boxes; the header is its top ``fraction`` (of the
    extent's height), grown by ``margin_lines`` median line heights on the
    left, right and top (lines above the first one found are what the second
    pass looks for) and one line height at the bottom, clipped to the image;
    then turned back into image pixels.

    Args:
        boxes: ``(N, 4, 2)`` first-pass line boxes, image pixels.
        width, height: the image's size, pixels.
        turn: how the page lies in the image (:func:`app.ocr.geometry.page_turn`).
        fraction: share of the text's height taken, in (0, 1].
        margin_lines: the margin, in median line heights.

    Returns:
        The region in image pixels, or None when there are no boxes or the
        region is under 8 pixels on a side.

    Raises:
        ValueError: ``fraction`` outside (0, 1].
    """
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4, 2)
    if len(boxes) == 0:
        return None
    up = to_upright(boxes, width, height, turn)
    up_w, up_h = (height, width) if turn in ("left", "right") else (width, height)
    line_h = float(np.median(up[:, :, 1].max(axis=1) - up[:, :, 1].min(axis=1)))
    left, top = up[:, :, 0].min(), up[:, :, 1].min()
    right, bottom = up[:, :, 0].max(), up[:, :, 1].max()
    pad = margin_lines * line_h
    u0, u1 = max(0.0, left - pad), min(float(up_w), right + pad)
    v0 = max(0.0, top - pad)
    v1 = min(float(up_h), top + fraction * (bottom - top) + line_h)
    corners = from_upright(np.array([[u0, v0], [u1, v1]]), width, height, turn)
    x0, x1 = sorted(corners[:, 0])
    y0, y1 = sorted(corners[:, 1])
    region = Region(int(max(0, np.floor(x0))), int(max(0, np.floor(y0))),
                    int(min(width, np.ceil(x1))), int(min(height, np.ceil(y1))))
    if region.width < 8 or region.height < 8:
        return None
    return region


def rects(boxes: np.ndarray) -> np.ndarray:
    """Axis-aligned bounding rectangles ``(N, 4)`` ``[x0, y0, x1, y1]`` of ``(N, 4, 2)`` boxes."""
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4, 2)
    return np.concatenate([b.min(axis=1), b.max(axis=1)], axis=1)


def intersections(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Intersection areas of the boxes' bounding rectangles and their own areas.

    Args:
        a, b: ``(N, 4, 2)`` and ``(M, 4, 2)`` boxes, same pixel frame.

    Returns:
        ``(inter (N, M), area_a (N,), area_b (M,))`` in square pixels.
    """
    ra, rb = rects(a), rects(b)
    area_a = (ra[:, 2] - ra[:, 0]) * (ra[:, 3] - ra[:, 1])
    area_b = (rb[:, 2] - rb[:, 0]) * (rb[:, 3] - rb[:, 1])
    if len(ra) == 0 or len(rb) == 0:
        return np.zeros((len(ra), len(rb))), area_a, area_b
    ix = np.clip(np.minimum(ra[:, None, 2], rb[None, :, 2]) - np.maximum(ra[:, None, 0], rb[None, :, 0]), 0, None)
    iy = np.clip(np.minimum(ra[:, None, 3], rb[None, :, 3]) - np.maximum(ra[:, None, 1], rb[None, :, 1]), 0, None)
    return ix * iy, area_a, area_b


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)


def overlap_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``(len(a), len(b))``: intersection of the boxes' bounding rectangles over
    the smaller rectangle's area, in [0, 1] (0 where a rectangle has no area).

    Args:
        a, b: ``(N, 4, 2)`` and ``(M, 4, 2)`` boxes, same pixel frame.
    """
    inter, area_a, area_b = intersections(a, b)
    return _ratio(inter, np.minimum(area_a[:, None], area_b[None, :]))


def inside_region(boxes: np.ndarray, region: Region, width: int, height: int, tolerance: float = 2.0) -> np.ndarray:
    """``(N,)`` bool: the box does not touch an edge of ``region`` that is not
    also an edge of the image (a box that touches one was cut by the region,
    so it holds part of a line).

    Args:
        boxes: ``(N, 4, 2)`` boxes, image pixels.
        region: the region the boxes were detected in.
        width, height: the image's size, pixels.
        tolerance: how near an edge counts as touching it, pixels.
    """
    r = rects(boxes)
    ok = np.ones(len(r), dtype=bool)
    if region.x0 > 0:
        ok &= r[:, 0] > region.x0 + tolerance
    if region.y0 > 0:
        ok &= r[:, 1] > region.y0 + tolerance
    if region.x1 < width:
        ok &= r[:, 2] < region.x1 - tolerance
    if region.y1 < height:
        ok &= r[:, 3] < region.y1 - tolerance
    return ok


def merge_passes(first: np.ndarray, second: np.ndarray, merge: str = "fill",
                 min_overlap: float = 0.5) -> tuple[list[int], list[int]]:
    """Which lines of each pass to keep.

    Args:
        first: ``(N, 4, 2)`` the whole page's boxes.
        second: ``(M, 4, 2)`` the header pass's boxes (already without the
            boxes cut by the region's edges, :func:`inside_region`), same frame.
        merge: ``replace``: a first-pass box is dropped when the second pass's
            boxes cover ``min_overlap`` or more of it (summed intersections
            over its area: the higher resolution decides how the header's
            lines are cut), and a second-pass box is added unless the kept
            first-pass boxes cover ``min_overlap`` of it (a fragment of a line
            that stays); ``fill``: the first pass is kept whole and a
            second-pass box is added only when it overlaps no first-pass box
            by ``min_overlap`` (:func:`overlap_matrix`: lines the first pass
            did not find at all).
        min_overlap: the threshold, in (0, 1].

    Returns:
        ``(first indices kept, second indices kept)``, each ascending.

    Raises:
        ValueError: unknown ``merge``.
    """
    if merge not in MERGES:
        raise ValueError(f"merge must be one of {', '.join(MERGES)}, got {merge!r}")
    n, m = len(np.asarray(first).reshape(-1, 4, 2)), len(np.asarray(second).reshape(-1, 4, 2))
    if m == 0:
        return list(range(n)), []
    if n == 0:
        return [], list(range(m))
    if merge == "fill":
        hit = overlap_matrix(first, second) >= min_overlap
        return list(range(n)), [j for j in range(m) if not hit[:, j].any()]
    inter, area_first, area_second = intersections(first, second)
    replaced = _ratio(inter.sum(axis=1), area_first) >= min_overlap
    kept = [i for i in range(n) if not replaced[i]]
    covered = _ratio(inter[kept].sum(axis=0), area_second) >= min_overlap
    return kept, [j for j in range(m) if not covered[j]]
