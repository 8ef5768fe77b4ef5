"""Page geometry: the text direction of a page and its reading order.

Coordinates are pixels, origin top-left, x to the right, y down (as :mod:`app.domain`).
"""

from __future__ import annotations

from typing import Sequence

from app.domain import Box, TextLine


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
    import bisect
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
    wide.sort()  # by centre y, so each window is a slice (bisect), not a scan of the page
    ys = [y for y, _ in wide]
    out = []
    for centre in centres:
        near = sorted(angle for _, angle in wide[bisect.bisect_left(ys, centre - reach):
                                                 bisect.bisect_right(ys, centre + reach)])
        out.append(near[len(near) // 2] if len(near) >= 3 else page)
    return out


def row_positions(lines: Sequence[TextLine]) -> list[tuple[float, float]]:
    """Where each line sits across the text direction, so lines of one printed row share a
    position on a photo taken at a slant: ``(y, height)`` per line, ``y`` the box centre
    carried along the local text direction (:func:`local_text_angles`) to x = 0 and
    ``height`` the box's height across that direction (:func:`_edges`). On a level page
    these are the centre's y and the box height.

    Args:
        lines: lines with boxes ``(4, 2)``, pixels.

    Returns:
        One ``(y, height)`` per line, pixels.
    """
    import math

    out = []
    for line, angle in zip(lines, local_text_angles(lines)):
        cx = sum(x for x, _ in line.box) / 4
        cy = sum(y for _, y in line.box) / 4
        out.append((cy - math.tan(angle) * cx, _edges(line.box)[1]))
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
