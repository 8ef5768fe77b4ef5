"""Typed results passed between the stages.

Coordinates are pixels in the decoded image (after EXIF orientation), origin
top-left, x to the right, y down. Times are milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

Point = tuple[float, float]
Box = tuple[Point, Point, Point, Point]  # (4, 2): top-left, top-right, bottom-right, bottom-left


@dataclass(frozen=True)
class TextLine:
    """One recognised text line.

    Attributes:
        text: recognised text (Unicode NFC).
        confidence: recognition confidence in [0, 1].
        box: quadrilateral ``(4, 2)`` in pixels, clockwise from top-left.
    """

    text: str
    confidence: float
    box: Box

    def to_dict(self, with_box: bool = True) -> dict:
        out = {"text": self.text, "confidence": round(float(self.confidence), 4)}
        if with_box:
            out["box"] = [[round(float(x), 1), round(float(y), 1)] for x, y in self.box]
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
    """Why one field has no value (the LLM call for it failed)."""

    code: str
    message: str

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
        stage_ms: time of each reader that ran (``qr``, ``mrz``, ``rules``)
            and of the LLM stage (``llm``), in milliseconds.
    """

    fields: dict[str, str | None]
    extraction_ms: float
    mode: str
    errors: dict[str, FieldError] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    details: dict = field(default_factory=dict)
    stage_ms: dict = field(default_factory=dict)


def sort_reading_order(lines: Sequence[TextLine]) -> list[TextLine]:
    """Sort lines top-to-bottom, then left-to-right within a visual row.

    Two lines share a row when their vertical extents overlap by more than half
    of the shorter line's height; rows are ordered by their mean centre y.

    Args:
        lines: lines with boxes in any order.

    Returns:
        A new list in reading order.
    """

    def extent(line: TextLine) -> tuple[float, float]:
        ys = [p[1] for p in line.box]
        return min(ys), max(ys)

    rows: list[list[TextLine]] = []
    for line in sorted(lines, key=lambda ln: sum(extent(ln)) / 2):
        top, bottom = extent(line)
        height = max(bottom - top, 1.0)
        placed = False
        for row in reversed(rows[-3:]):
            r_top = min(extent(x)[0] for x in row)
            r_bottom = max(extent(x)[1] for x in row)
            r_height = min(max(extent(x)[1] - extent(x)[0], 1.0) for x in row)
            overlap = min(bottom, r_bottom) - max(top, r_top)
            if overlap > 0.5 * min(height, r_height):
                row.append(line)
                placed = True
                break
        if not placed:
            rows.append([line])
    ordered: list[TextLine] = []
    for row in sorted(rows, key=lambda r: sum(sum(extent(x)) / 2 for x in r) / len(r)):
        ordered.extend(sorted(row, key=lambda ln: min(p[0] for p in ln.box)))
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
