"""Seeded synthetic line images in receipt and ID-card styles (Pillow + OpenCV).

A line is drawn with Pillow at 3 times its final size (black on white), turned
into a thermal-printer look when the style says so (dots that fade and break
up), bent and turned at that size (slight rotation, perspective, a crumpled
paper's smooth displacement), then reduced to its final size with area
averaging, so a 6-px x-height line is as blurry as one photographed at that
size. Then, at the final size: ink and paper grey levels, uneven light, paper
tint, Gaussian blur, sensor noise and JPEG compression.

The crop is what the detector hands the recogniser: the line with a margin of
0.1-0.7 x-heights above and below and some context left and right, sometimes
with parts of the neighbouring lines inside it.

Everything random comes from the ``numpy.random.Generator`` passed in, so one
seed gives the same images on every machine with the same fonts and library
versions. Sizes are pixels.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SUPERSAMPLE = 3
X_HEIGHT_RANGE = (6.0, 14.0)


@dataclass(frozen=True)
class Style:
    """How one line looks (all sizes in final-image pixels).

    Attributes:
        x_height: height of a lower-case ``x`` (6-14 px: receipt photos).
        thermal: thermal-printer look (dotted, fading strokes).
        ink, paper: grey levels of the strokes and of the paper (0-255).
        tint: per-channel (B, G, R) factors of the paper colour (white balance, paper).
        ink_tint: per-channel (B, G, R) factors of the ink: 1 is black/grey, a
            high blue factor is the blue or violet ink of ribbon printers.
        blur: Gaussian blur sigma (0: none).
        jpeg: JPEG quality (0: not compressed).
        rotation: degrees, counter-clockwise.
        perspective: corner displacement as a fraction of the line height.
        light: strength of the uneven light (0: even).
        crumple: amplitude of the crumpled paper's displacement.
        noise: sensor noise sigma in grey levels.
        pad_y: margin above and below, in x-heights.
        pad_x: margin left and right, in x-heights.
        neighbours: draw parts of the lines above and below into the crop.
    """

    x_height: float
    thermal: bool
    ink: int
    paper: int
    tint: tuple[float, float, float]
    ink_tint: tuple[float, float, float]
    blur: float
    jpeg: int
    rotation: float
    perspective: float
    light: float
    crumple: float
    noise: float
    pad_y: float
    pad_x: float
    neighbours: bool


def sample_style(rng: np.random.Generator, card: bool = False) -> Style:
    """A random receipt style (or, with ``card``, an ID-card one: no thermal print, tinted paper)."""
    thermal = (not card) and rng.random() < 0.55
    ink = int(rng.integers(70, 150)) if thermal and rng.random() < 0.5 else int(rng.integers(0, 70))
    paper = int(rng.integers(175, 256))
    if card:
        tint = tuple(float(x) for x in rng.uniform(0.85, 1.0, 3))
    else:
        warm = rng.uniform(0.0, 0.08)
        tint = (float(1.0 - warm), float(1.0 - warm / 2), 1.0)
    if rng.random() < 0.2:  # blue / violet ink: the strokes stay brighter in the blue channel (B, G, R order)
        ink_tint = (float(rng.uniform(2.0, 3.5)), float(rng.uniform(1.0, 1.6)), float(rng.uniform(1.0, 2.2)))
    else:
        ink_tint = (1.0, 1.0, 1.0)
    if rng.random() < 0.25:  # a bluish white balance of the whole photo
        tint = (1.0, float(tint[1] * rng.uniform(0.9, 1.0)), float(tint[2] * rng.uniform(0.8, 0.95)))
    return Style(
        x_height=float(rng.uniform(*X_HEIGHT_RANGE)),
        thermal=thermal,
        ink=ink,
        paper=max(paper, ink + 60),
        tint=tint,  # type: ignore[arg-type]
        ink_tint=ink_tint,
        blur=float(rng.choice([0.0, rng.uniform(0.3, 1.2)], p=[0.35, 0.65])),
        jpeg=int(rng.choice([0, rng.integers(30, 95)], p=[0.3, 0.7])),
        rotation=float(rng.normal(0.0, 0.8)),
        perspective=float(rng.uniform(0.0, 0.12)),
        light=float(rng.uniform(0.0, 0.45)),
        crumple=float(rng.choice([0.0, rng.uniform(0.2, 1.0)], p=[0.5, 0.5])),
        noise=float(rng.uniform(0.0, 10.0)),
        pad_y=float(rng.uniform(0.1, 0.7)),
        pad_x=float(rng.uniform(0.2, 1.5)),
        neighbours=bool(rng.random() < 0.15),
    )


@functools.lru_cache(maxsize=64)
def x_height_ratio(font_path: str) -> float:
    """x-height of the font as a fraction of its size (measured on a drawn ``x``)."""
    from PIL import ImageFont

    font = ImageFont.truetype(font_path, 200)
    left, top, right, bottom = font.getbbox("x")
    return max(bottom - top, 1) / 200.0


@functools.lru_cache(maxsize=256)
def _font(font_path: str, size: int):
    from PIL import ImageFont

    return ImageFont.truetype(font_path, size)


def _draw(text: str, font_path: str, size: int, neighbours: tuple[str, str] | None, pad: tuple[int, int]) -> np.ndarray:
    """Black text on white at the supersampled size, cut ``pad`` (x, y) pixels around the line's ink."""
    from PIL import Image, ImageDraw

    font = _font(font_path, size)
    left, top, right, bottom = font.getbbox(text)
    ascent, descent = font.getmetrics()
    pad_x, pad_y = pad
    width = right - left + 2 * pad_x
    # The line box: from the font's ascent to its descent, plus the margins.
    height = ascent + descent + 2 * pad_y
    img = Image.new("L", (max(width, 4), max(height, 4)), 255)
    draw = ImageDraw.Draw(img)
    draw.text((pad_x - left, pad_y), text, font=font, fill=0)
    if neighbours:
        spacing = int((ascent + descent) * 1.15)
        draw.text((pad_x - left, pad_y - spacing), neighbours[0], font=font, fill=0)
        draw.text((pad_x - left, pad_y + spacing), neighbours[1], font=font, fill=0)
    return np.asarray(img, dtype=np.float32) / 255.0  # 1 = paper


def _thermal(ink: np.ndarray, rng: np.random.Generator, dot: int) -> np.ndarray:
    """Thermal print: strokes made of dots, fading in bands along the line. ``ink``: 1 = paper."""
    import cv2

    h, w = ink.shape
    strokes = (ink < 0.5).astype(np.float32)
    # Print head dots: a grid of soft round dots, slightly irregular.
    yy, xx = np.mgrid[0:h, 0:w]
    grid = (np.cos(2 * np.pi * xx / dot) * np.cos(2 * np.pi * yy / dot) + 1.0) / 2.0
    strokes *= np.clip(0.55 + 0.6 * grid + rng.normal(0, 0.15, (h, w)), 0, 1)
    # Fading: a smooth random profile along the line (head wear, low ribbon heat).
    bands = cv2.resize(rng.uniform(0.6, 1.0, (1, max(2, w // 40))).astype(np.float32), (w, 1), interpolation=cv2.INTER_CUBIC)
    strokes *= np.clip(bands, 0.3, 1.0)
    return 1.0 - np.clip(strokes, 0, 1)


def _warp(img: np.ndarray, style: Style, rng: np.random.Generator, scale: float) -> np.ndarray:
    """Rotation, perspective and crumpled-paper displacement, paper (1.0) filled in at the borders."""
    import cv2

    h, w = img.shape
    d = style.perspective * h
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = src + rng.uniform(-d, d, (4, 2)).astype(np.float32)
    matrix = cv2.getPerspectiveTransform(src, dst)
    rot = cv2.getRotationMatrix2D((w / 2, h / 2), style.rotation, 1.0)
    matrix = np.vstack([rot, [0, 0, 1]]).astype(np.float64) @ matrix
    img = cv2.warpPerspective(img, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=1.0)
    if style.crumple > 0:
        amp = style.crumple * scale
        k = max(3, int(h * 0.8) | 1)
        fx = cv2.GaussianBlur(rng.normal(0, 1, (h, w)).astype(np.float32), (k, k), 0)
        fy = cv2.GaussianBlur(rng.normal(0, 1, (h, w)).astype(np.float32), (k, k), 0)
        fx *= amp / (np.abs(fx).max() + 1e-6)
        fy *= amp / (np.abs(fy).max() + 1e-6)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        img = cv2.remap(img, xx + fx, yy + fy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=1.0)
    return img


def render_line(text: str, font_path: Path | str, style: Style, rng: np.random.Generator,
                neighbours: tuple[str, str] | None = None) -> np.ndarray:
    """Draw one line as a photographed, detector-cropped receipt or card line.

    Args:
        text: the line (any characters the font covers).
        font_path: a TrueType/OpenType file.
        style: :func:`sample_style`.
        rng: the only source of randomness.
        neighbours: texts of the lines above and below, drawn when ``style.neighbours``.

    Returns:
        ``(h, w, 3)`` uint8 BGR image (OpenCV order), ``h`` about
        ``x_height * (2.3 + 2 * pad_y)`` pixels.

    Raises:
        OSError: the font cannot be read.
    """
    import cv2

    s = SUPERSAMPLE
    size = max(6, int(round(style.x_height * s / x_height_ratio(str(font_path)))))
    pad = (int(style.pad_x * style.x_height * s), int(style.pad_y * style.x_height * s))
    img = _draw(text, str(font_path), size, neighbours if style.neighbours else None, pad)
    if style.thermal:
        img = _thermal(img, rng, dot=max(2, int(round(style.x_height * s / 7))))
    img = _warp(img, style, rng, scale=s)
    h, w = img.shape
    img = cv2.resize(img, (max(4, w // s), max(4, h // s)), interpolation=cv2.INTER_AREA)
    h, w = img.shape
    # Ink and paper colours, uneven light (a tilted plane plus a soft spot).
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    plane = (np.cos(angle) * xx / max(w, 1) + np.sin(angle) * yy / max(h, 1))
    cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(0.3, 1.5) * max(w, h)
    spot = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r))
    light = 1.0 - style.light * (0.6 * (plane - plane.min()) / (np.ptp(plane) + 1e-6) + 0.4 * (1 - spot))
    channels = []
    for paper_t, ink_t in zip(style.tint, style.ink_tint):
        paper, ink = style.paper * paper_t, min(style.ink * ink_t + 40 * (ink_t - 1), style.paper * paper_t - 40)
        channels.append((ink + (paper - ink) * img) * light)
    bgr = np.stack(channels, axis=2)
    if style.blur > 0:
        bgr = cv2.GaussianBlur(bgr, (0, 0), style.blur)
    if style.noise > 0:
        bgr = bgr + rng.normal(0, style.noise, bgr.shape)
    out = np.clip(bgr, 0, 255).astype(np.uint8)
    if style.jpeg:
        ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, int(style.jpeg)])
        if ok:
            out = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    return out
