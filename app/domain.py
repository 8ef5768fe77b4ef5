"""Typed results passed between the stages.

Coordinates are pixels in the decoded image (after EXIF orientation), origin
top-left, x to the right, y down. Times are milliseconds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Sequence

Point = tuple[float, float]
Box = tuple[Point, Point, Point, Point]  # (4, 2): top-left, top-right, bottom-right, bottom-left

#: Code points no document text should carry: UTF-16 surrogates (not encodable in
#: UTF-8, so a JSON encoder, PostgreSQL or protobuf refuses the whole string) and
#: C0/C1 control characters other than tab and line feed (PostgreSQL's ``jsonb``
#: refuses NUL; the rest are invisible).
_INVALID_TEXT = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
REPLACEMENT_CHARACTER = "\ufffd"


def valid_text(text: str) -> str:
    """Make ``text`` valid Unicode that any encoder accepts.

    A UTF-16 surrogate pair (high ``U+D800..DBFF`` then low ``U+DC00..DFFF``, as a
    PDF text layer or a UTF-16 source hands out astral-plane characters such as
    emoji) is joined into its code point (Unicode 15, §3.9 D91); a lone surrogate
    becomes U+FFFD REPLACEMENT CHARACTER; a control character other than tab and
    line feed (C0, DEL, C1) becomes a space. Text without any of these is returned
    as is (one regex scan).

    Args:
        text: any Python string.

    Returns:
        A string that encodes to UTF-8 (``text.encode("utf-8")`` cannot raise).
    """
    if _INVALID_TEXT.search(text) is None:
        return text
    # UTF-16 with surrogatepass re-reads pairs as one code point; lone halves fail to
    # decode and are replaced.
    joined = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return _INVALID_TEXT.sub(" ", joined)


@dataclass(frozen=True)
class TextLine:
    """One recognised text line.

    Attributes:
        text: recognised text (Unicode NFC), made valid by :func:`valid_text`
            when the line is built.
        confidence: recognition confidence in [0, 1].
        box: quadrilateral ``(4, 2)`` in pixels, clockwise from top-left.
        page: 1-based page of a multi-page document the line is on (None: not
            assigned; the engines leave it, the pipeline sets it).
    """

    text: str
    confidence: float
    box: Box
    page: int | None = None

    def __post_init__(self):
        # Every engine, the PDF text layer and stored OCR build lines here: the one
        # place their text is made valid (:func:`valid_text`).
        clean = valid_text(self.text)
        if clean is not self.text:
            object.__setattr__(self, "text", clean)

    def to_dict(self, with_box: bool = True) -> dict:
        out = {"text": self.text, "confidence": round(float(self.confidence), 4)}
        if with_box:
            out["box"] = [[round(float(x), 1), round(float(y), 1)] for x, y in self.box]
        if self.page is not None:
            out["page"] = self.page
        return out


@dataclass(frozen=True)
class OcrResult:
    """Output of an OCR engine for one image.

    Attributes:
        lines: text lines in reading order (top-to-bottom, left-to-right).
        width, height: image size in pixels.
        detection_ms: text detection time.
        recognition_ms: text recognition time (includes orientation classification).
        engine: name of the engine that produced it.
    """

    lines: tuple[TextLine, ...]
    width: int
    height: int
    detection_ms: float
    recognition_ms: float
    engine: str = ""

    @property
    def text(self) -> str:
        """All line texts joined by newlines, in reading order."""
        return "\n".join(line.text for line in self.lines)

    @property
    def total_ms(self) -> float:
        return self.detection_ms + self.recognition_ms


@dataclass(frozen=True)
class FieldError:
    """Why one field has no value (the LLM call for it failed).

    ``retry_after``: seconds the LLM stage expects to stay unavailable (an open
    circuit breaker), passed on as ``Retry-After`` when every field failed; not
    part of :meth:`to_dict`.
    """

    code: str
    message: str
    retry_after: int | None = None

    def to_dict(self) -> dict:
        return {"error_code": self.code, "message": self.message}


@dataclass(frozen=True)
class Extraction:
    """Fields extracted from one document.

    Attributes:
        fields: field key -> value as read, or None when not found.
        extraction_ms: wall time of the LLM stage.
        mode: ``per_field`` or ``schema``.
        errors: field key -> error for fields whose LLM call failed.
        warnings: things the caller should know (e.g. OCR text truncated).
        details: field key -> ``app.extraction.fields.FieldResult`` (value,
            normalized, confidence, source, lines, grounded, checks).
        stage_ms: time of each reader that ran (``qr``, ``mrz``, ``rules``,
            ``captions``), of classification and ``info`` mapping
            (``classify``, ``mapping``) and of the LLM stage (``llm``), in milliseconds.
        document_type: the type whose fields were read (named by the caller or
            detected); None when none applies.
        classification: ``{type, confidence, source}`` (source ``given`` when
            the caller named the type).
    """

    fields: dict[str, str | None]
    extraction_ms: float
    mode: str
    errors: dict[str, FieldError] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    details: dict = field(default_factory=dict)
    stage_ms: dict = field(default_factory=dict)
    document_type: str | None = None
    classification: dict | None = None


def box_top(line: TextLine) -> float:
    """Smallest y of a line's box, pixels."""
    return min(y for _, y in line.box)


def box_bottom(line: TextLine) -> float:
    """Largest y of a line's box, pixels."""
    return max(y for _, y in line.box)


def box_left(line: TextLine) -> float:
    """Smallest x of a line's box, pixels."""
    return min(x for x, _ in line.box)


def box_right(line: TextLine) -> float:
    """Largest x of a line's box, pixels."""
    return max(x for x, _ in line.box)


def same_row(a: TextLine, b: TextLine) -> bool:
    """Whether two lines' boxes share a visual row: their vertical extents overlap by
    more than half the smaller height (axis-aligned; the readers' one same-row test)."""
    down = min(box_bottom(a), box_bottom(b)) - max(box_top(a), box_top(b))
    return down > 0.5 * min(box_bottom(a) - box_top(a), box_bottom(b) - box_top(b))


def _edges(box: Box) -> tuple[tuple[float, float], float]:
    """The text direction of one box and its height across that direction.

    The box's two pairs of opposite edges are compared; the pair closer to the
    x axis runs along the text (whichever corner the engine put first, as
    happens once a turned page's boxes are put in upright coordinates).

    Returns:
        ``((dx, dy), height)``: the summed vector of the two edges along the
        text, pointing right, and the mean length of the two other edges.
    """
    import math

    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = box
    a = ((x1 - x0) + (x2 - x3), (y1 - y0) + (y2 - y3))  # top + bottom edges, as listed
    b = ((x3 - x0) + (x2 - x1), (y3 - y0) + (y2 - y1))  # left + right edges, as listed
    along, across = (a, b) if abs(a[0]) >= abs(b[0]) else (b, a)
    if along[0] < 0:
        along = (-along[0], -along[1])
    return along, math.hypot(*across) / 2


def text_angle(lines: Sequence[TextLine]) -> float:
    """The page's text direction: median slope angle of the wide line boxes.

    Args:
        lines: lines with boxes ``(4, 2)``.

    Returns:
        Radians; positive when lines descend towards the right (image y grows
        downwards), negative when they rise. 0.0 when no box is at least twice
        as wide as tall; boxes slanted beyond 45 degrees are ignored.
    """
    import math

    angles = []
    for line in lines:
        (dx, dy), height = _edges(line.box)
        if math.hypot(dx, dy) / 2 < 2 * max(height, 1.0):
            continue
        angle = math.atan2(dy, dx)
        if abs(angle) < math.pi / 4:
            angles.append(angle)
    if not angles:
        return 0.0
    angles.sort()
    return angles[len(angles) // 2]


def local_text_angles(lines: Sequence[TextLine], rows: float = 3.0) -> list[float]:
    """The text direction around each line: like :func:`text_angle`, over the wide
    boxes whose centres lie within ``rows`` median line heights above or below the
    line's centre. A curled receipt's rows slant differently at its top and bottom,
    and a column of short amounts, whose boxes come out level, can outvote the
    slanted captions on the page-wide median.

    Args:
        lines: lines with boxes ``(4, 2)``.
        rows: half-height of the window, in median line heights.

    Returns:
        One angle per line, radians (sign as :func:`text_angle`); the page's
        angle where fewer than three wide boxes fall in the window.
    """
    import math
    import statistics

    if not lines:
        return []
    centres, heights, wide = [], [], []  # wide: (centre y, angle) of the boxes text_angle counts
    for line in lines:
        (dx, dy), height = _edges(line.box)
        centres.append(sum(y for _, y in line.box) / 4)
        heights.append(height)
        angle = math.atan2(dy, dx)
        if math.hypot(dx, dy) / 2 >= 2 * max(height, 1.0) and abs(angle) < math.pi / 4:
            wide.append((centres[-1], angle))
    everywhere = sorted(angle for _, angle in wide)
    page = everywhere[len(everywhere) // 2] if everywhere else 0.0  # = text_angle(lines)
    reach = rows * statistics.median(heights)
    out = []
    for centre in centres:
        near = sorted(angle for y, angle in wide if abs(y - centre) <= reach)
        out.append(near[len(near) // 2] if len(near) >= 3 else page)
    return out


def sort_reading_order(lines: Sequence[TextLine]) -> list[TextLine]:
    """Sort lines top-to-bottom, then left-to-right within a visual row.

    The page's skew (:func:`text_angle`) is removed first, and each line's
    vertical extent is its box's own height around its centre, so the lines
    of a photo taken at a slant do not run into each other's rows. A line joins a
    row when its vertical extent overlaps the row's mean extent (the average
    top and bottom of the row's lines, so a row cannot creep downwards line by
    line) by more than half of the smaller of the two heights; rows are
    ordered by their mean centre y.

    Args:
        lines: lines with boxes in any order.

    Returns:
        A new list in reading order.
    """
    import math

    angle = text_angle(lines)
    cos, sin = math.cos(angle), math.sin(angle)

    def level(line: TextLine) -> tuple[float, float, float]:
        """(left x, top y, bottom y) with the skew removed (rotation by -angle); the
        vertical extent is the box's own height around its centre, so a line
        slanted more than the page does not grow taller."""
        xs = [x * cos + y * sin for x, y in line.box]
        ys = [-x * sin + y * cos for x, y in line.box]
        centre = sum(ys) / 4
        height = min(_edges(line.box)[1], max(ys) - min(ys))
        return min(xs), centre - height / 2, centre + height / 2

    geometry = {id(line): level(line) for line in lines}

    def extent(line: TextLine) -> tuple[float, float]:
        return geometry[id(line)][1:]

    def band(row: list[TextLine]) -> tuple[float, float]:
        return (sum(extent(x)[0] for x in row) / len(row), sum(extent(x)[1] for x in row) / len(row))

    rows: list[list[TextLine]] = []
    for line in sorted(lines, key=lambda ln: sum(extent(ln)) / 2):
        top, bottom = extent(line)
        height = max(bottom - top, 1.0)
        placed = False
        for row in reversed(rows[-3:]):
            r_top, r_bottom = band(row)
            overlap = min(bottom, r_bottom) - max(top, r_top)
            if overlap > 0.5 * min(height, max(r_bottom - r_top, 1.0)):
                row.append(line)
                placed = True
                break
        if not placed:
            rows.append([line])
    ordered: list[TextLine] = []
    for row in sorted(rows, key=lambda r: sum(sum(extent(x)) / 2 for x in r) / len(r)):
        ordered.extend(sorted(row, key=lambda ln: geometry[id(ln)][0]))
    return ordered


# --------------------------------------------------------------------------- fields
SOURCES = ("qr", "mrz", "rule", "llm")


@dataclass(frozen=True)
class Candidate:
    """A value for one field proposed by one reader (QR, MRZ, rule or LLM).

    Attributes:
        key: field key (e.g. ``id_number``, ``date_of_birth``, ``total``).
        value: the value as printed / encoded (None: the reader found nothing).
        normalized: canonical form: ISO 8601 ``YYYY-MM-DD`` for dates,
            ``{"amount": "60.30", "currency": "MYR"}`` for amounts, NFC text
            otherwise (see :mod:`app.extraction.normalize`).
        confidence: the reader's confidence in [0, 1].
        source: one of :data:`SOURCES`.
        line_indices: indices into ``OcrResult.lines`` the value was read from
            (empty for QR, whose payload is not OCR text).
        checks: named validations and their outcome (e.g. ``{"check_digit": True}``).
    """

    key: str
    value: str | None
    normalized: object
    confidence: float
    source: str
    line_indices: tuple[int, ...] = ()
    checks: dict = field(default_factory=dict)
