"""Where things are on a page, for the readers: the page turned upright, the lines where a
caption's value may be, and a multi-line value continued down its column.

Boxes are the OCR lines' ``(4, 2)`` quadrilaterals in pixels (:mod:`app.domain`).
"""

from __future__ import annotations

import re

from app.domain import OcrResult, TextLine
from app.domain import box_bottom as _bottom, box_left as _left, box_right as _right, box_top as _top
from app.extraction.lexicon import (DATE_HINT as _DATE_HINT, HEADER_NOISE as _HEADER_NOISE,
                                    PHONE_OR_META as _PHONE_OR_META, TABLE_START as _TABLE_START)
from app.extraction.normalize import normalize_text


def upright(ocr: OcrResult) -> list[TextLine]:
    """The OCR lines with boxes in the coordinates of the page as it reads
    upright (rows horizontal, top first), so layout rules hold on photos taken
    turned 90 or 180 degrees. The turn is the one the OCR engine decided
    (``ocr.orientation``); lines from elsewhere (None) get it guessed from their
    geometry (:func:`guess_orientation`). Only the geometry changes; candidates
    keep the line indices."""
    lines = list(ocr.lines)
    if len(lines) < 4:
        return lines
    width, height = ocr.width or 1, ocr.height or 1
    turn = {
        "upright": None,
        "left": lambda x, y: (height - y, x),  # top at the image's left
        "right": lambda x, y: (y, width - x),
        "180": lambda x, y: (width - x, height - y),
    }[ocr.orientation or guess_orientation(lines)]
    if turn is None:
        return lines
    return [TextLine(ln.text, ln.confidence, tuple(turn(x, y) for x, y in ln.box)) for ln in lines]


def guess_orientation(lines: list[TextLine]) -> str:
    """How a page lies from its lines alone (for lines whose engine did not say, e.g. a
    dataset's transcripts): ``left`` / ``right`` when most lines are taller than wide (the
    side where the first lines in reading order are is the top), ``180`` when the first
    lines are below the last, else ``upright`` (the values of ``OcrResult.orientation``)."""
    def centre(line):
        return sum(x for x, _ in line.box) / len(line.box), sum(y for _, y in line.box) / len(line.box)

    tall = sum(1 for ln in lines if _bottom(ln) - _top(ln) > 1.5 * (_right(ln) - _left(ln)))
    k = max(2, len(lines) // 5)
    head = [centre(ln) for ln in lines[:k]]
    tail = [centre(ln) for ln in lines[-k:]]
    if tall * 2 > len(lines):
        return "left" if sum(x for x, _ in head) < sum(x for x, _ in tail) else "right"
    if sum(y for _, y in head) > sum(y for _, y in tail):
        return "180"
    return "upright"


def next_lines(lines: list[TextLine], index: int, slopes: list[float] | None = None) -> list[int]:
    """Where a caption's value may be: lines to its right on the same visual
    row, nearest first, then the next two lines in reading order (indices).

    Same row: the other line's vertical extent overlaps the caption's by more
    than half the smaller height, with the caption's extent carried along the
    text slope around the caption (``slopes[index]``: dy/dx, from
    :func:`app.domain.local_text_angles`; level when None) to the other line's
    centre, so on a photo taken at a slant the value at the far right of "TOTAL"
    is still on its row (:meth:`RuleReader.read` passes them, measured once per page).
    """
    slope = slopes[index] if slopes else 0.0
    cap = lines[index]
    top, bottom = min(y for _, y in cap.box), max(y for _, y in cap.box)
    centre_x = sum(x for x, _ in cap.box) / 4
    right = _right(cap)
    row = []
    for j, other in enumerate(lines):
        if j == index:
            continue
        o_top, o_bottom = min(y for _, y in other.box), max(y for _, y in other.box)
        shift = slope * (sum(x for x, _ in other.box) / 4 - centre_x)
        overlap = min(bottom + shift, o_bottom) - max(top + shift, o_top)
        if overlap > 0.5 * min(bottom - top, o_bottom - o_top) and _left(other) >= right - 5:
            row.append((_left(other), j))
    out = [j for _, j in sorted(row)]
    for j in (index + 1, index + 2):
        if j < len(lines) and j not in out:
            out.append(j)
    return out


def continue_lines(lines, folded, indices, value, most: int = 2):
    """Extend a multi-line text value (addresses) over up to ``most`` following
    lines of the same column that carry no caption of their own. Lines beside
    the column (a logo word such as "RUNA" left of the address) and short marks
    narrower than a third of the line above (a stamp's "Lep'") are passed over."""
    last = max(indices)
    parts = [value]
    idx = list(indices)
    j = last + 1
    while j < len(lines) and j <= last + 3 and len(idx) - len(indices) < most:
        f, above = folded[j], lines[idx[-1]]
        width = _right(above) - _left(above)
        beside = _right(lines[j]) <= _left(above) or _left(lines[j]) >= _right(above)  # another column
        if beside or (len(re.sub(r"\W", "", f)) <= 4 and _right(lines[j]) - _left(lines[j]) < width / 3):
            j += 1
            continue
        if ":" in lines[j].text or "/" in f[:25] or _PHONE_OR_META.search(f) or _DATE_HINT.search(lines[j].text):
            break
        if _left(lines[j]) > _left(above) + 0.5 * width or _TABLE_START.search(f) or _HEADER_NOISE.match(f):
            break
        parts.append(lines[j].text)
        idx.append(j)
        last = j
        j += 1
    text = normalize_text(" ".join(parts))
    return text, text, tuple(idx)
