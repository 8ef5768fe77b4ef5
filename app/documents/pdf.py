"""PDF pages with PDFium (``pypdfium2``): page count, rasterisation and the text layer.

A born-digital page carries its text: each character's code point and box are
read from PDFium's text page and grouped into text lines (runs of characters on
one baseline without a column-sized gap), with boxes converted to pixels of the
page rendered at the raster DPI, so they are interchangeable with OCR lines.
A page without usable text (a scan, an image-only page) is rasterised for OCR.

Sources: PDFium public API (``fpdf_text.h``: ``FPDFText_GetUnicode``,
``FPDFText_GetLooseCharBox``, ``FPDFText_IsGenerated``; ``fpdfview.h``:
``FPDF_PageToDevice``, ``FPDF_GetLastError``); PDF 32000-1:2008 §7.6 (encryption).
"""

from __future__ import annotations

import ctypes
import threading
import time
import unicodedata
from dataclasses import dataclass

import numpy as np

from app.domain import TextLine
from app.errors import InvalidDocument, PdfEncrypted

_FPDF_ERR_PASSWORD = 4  # fpdfview.h
#: PDFium is not thread-safe (pypdfium2 docs: no concurrent calls, even on different
#: documents): every call into it in this process holds this lock. Threads of one
#: gunicorn worker take turns per page operation, not per document.
PDFIUM_LOCK = threading.RLock()
_REPLACEMENT = 0xFFFD


@dataclass(frozen=True)
class _Char:
    text: str
    x0: float
    y0: float
    x1: float
    y1: float
    generated: bool


def open_pdf(data: bytes):
    """Open a PDF held in memory.

    Args:
        data: the file's bytes.

    Returns:
        A ``pypdfium2.PdfDocument`` (the caller closes it, holding :data:`PDFIUM_LOCK`).

    Raises:
        PdfEncrypted: the PDF needs a user password.
        InvalidDocument: PDFium cannot parse it.
    """
    import pypdfium2 as pdfium

    try:
        with PDFIUM_LOCK:
            return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as e:
        if getattr(e, "err_code", None) == _FPDF_ERR_PASSWORD:
            raise PdfEncrypted() from e
        raise InvalidDocument(f"The PDF cannot be read: {e}") from e


def page_pixels(page, dpi: int) -> tuple[int, int]:
    """Size ``(width, height)`` in pixels of ``page`` rendered at ``dpi`` (rotation applied)."""
    with PDFIUM_LOCK:
        width, height = page.get_size()  # PDF points (1/72 inch), after /Rotate
    scale = dpi / 72.0
    return max(1, round(width * scale)), max(1, round(height * scale))


def render_page(page, dpi: int) -> np.ndarray:
    """Rasterise one page.

    Returns:
        ``(H, W, 3)`` uint8 BGR array at ``dpi`` on a white background.

    Raises:
        InvalidDocument: PDFium fails to render it.
    """
    import pypdfium2 as pdfium

    try:
        with PDFIUM_LOCK:
            bitmap = page.render(scale=dpi / 72.0)
            array = bitmap.to_numpy().copy()
            bitmap.close()
    except pdfium.PdfiumError as e:
        raise InvalidDocument(f"A PDF page cannot be rendered: {e}") from e
    if bitmap.mode == "RGB":
        array = array[:, :, ::-1]
    elif bitmap.mode in ("BGRA", "BGRX"):
        array = array[:, :, :3]
    return np.ascontiguousarray(array)


def text_lines(page, dpi: int) -> tuple[tuple[TextLine, ...], int]:
    """The page's text layer as text lines.

    Characters follow PDFium's text order; a line ends at a line break PDFium
    reports, where the next character leaves the line's band (its vertical centre
    moves by more than half the line height), goes back left, or sits more than
    1.2 line heights to the right of the line's last character (a table column;
    word spaces are about a quarter of the height).

    Args:
        page: a ``pypdfium2.PdfPage``.
        dpi: raster resolution the boxes are given at.

    Returns:
        ``(lines, letters)``: lines (confidence 1.0, axis-aligned boxes ``(4, 2)``
        in pixels of the page rendered at ``dpi``, unsorted), and the count of
        letters and digits in the layer (0 for a scan), used to decide whether
        the layer is usable.
    """
    width, height = page_pixels(page, dpi)
    with PDFIUM_LOCK:
        return _text_lines(page, width, height)


def _text_lines(page, width: int, height: int) -> tuple[tuple[TextLine, ...], int]:
    import pypdfium2.raw as pdfium_c

    textpage = page.get_textpage()
    try:
        count = textpage.count_chars()
        chars: list[_Char] = []
        letters = 0
        px, py = ctypes.c_int(), ctypes.c_int()

        def device(x: float, y: float) -> tuple[int, int]:
            pdfium_c.FPDF_PageToDevice(page.raw, 0, 0, width, height, 0, x, y, ctypes.byref(px), ctypes.byref(py))
            return px.value, py.value

        skip = False
        for i in range(count):
            if skip:  # the low half of a surrogate pair joined below
                skip = False
                continue
            code = pdfium_c.FPDFText_GetUnicode(textpage.raw, i)
            if 0xD800 <= code <= 0xDBFF and i + 1 < count:
                # PDFium hands out UTF-16 code units: an astral-plane character (an
                # emoji) is a high then a low surrogate, one glyph with the box of
                # the first (a lone half is replaced later, by TextLine).
                low = pdfium_c.FPDFText_GetUnicode(textpage.raw, i + 1)
                if 0xDC00 <= low <= 0xDFFF:
                    code, skip = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00), True
            ch = chr(code) if 0 < code < 0x110000 else ""
            if ch in ("\r", "\n", ""):
                chars.append(_Char("\n", 0, 0, 0, 0, True))
                continue
            generated = bool(pdfium_c.FPDFText_IsGenerated(textpage.raw, i))
            if ch.isspace():
                chars.append(_Char(" ", 0, 0, 0, 0, generated))
                continue
            rect = pdfium_c.FS_RECTF()
            if not pdfium_c.FPDFText_GetLooseCharBox(textpage.raw, i, ctypes.byref(rect)):
                continue
            (ax, ay), (bx, by) = device(rect.left, rect.top), device(rect.right, rect.bottom)
            if ch.isalnum():
                letters += 1
            elif code == _REPLACEMENT or 0xE000 <= code <= 0xF8FF:
                letters -= 1  # unmapped glyphs: a layer of them is not text
            chars.append(_Char(ch, min(ax, bx), min(ay, by), max(ax, bx), max(ay, by), generated))
    finally:
        textpage.close()
    return tuple(_group(chars)), max(letters, 0)


def _group(chars: list[_Char]) -> list[TextLine]:
    lines: list[TextLine] = []
    run: list[_Char] = []
    pending_space = False

    def flush():
        nonlocal run
        if run:
            text = unicodedata.normalize("NFC", "".join(c.text for c in run)).strip()
            boxed = [c for c in run if c.text != " "]
            if text and boxed:
                x0, y0 = min(c.x0 for c in boxed), min(c.y0 for c in boxed)
                x1, y1 = max(c.x1 for c in boxed), max(c.y1 for c in boxed)
                lines.append(TextLine(text, 1.0, ((x0, y0), (x1, y0), (x1, y1), (x0, y1))))
        run = []

    for ch in chars:
        if ch.text == "\n":
            flush()
            pending_space = False
            continue
        if ch.text == " ":
            pending_space = bool(run)
            continue
        if run:
            last = next(c for c in reversed(run) if c.text != " ")
            top = min(c.y0 for c in run if c.text != " ")
            bottom = max(c.y1 for c in run if c.text != " ")
            h = max(bottom - top, 1.0)
            centre, own = (top + bottom) / 2, (ch.y0 + ch.y1) / 2
            gap = ch.x0 - last.x1
            if abs(own - centre) > 0.5 * h or gap > 1.2 * h or ch.x1 < last.x0:
                flush()
            elif pending_space or gap > 0.2 * h:
                run.append(_Char(" ", 0, 0, 0, 0, True))
        pending_space = False
        run.append(ch)
    flush()
    return lines


def time_ms(start: float) -> float:
    """Milliseconds since ``start`` (``time.perf_counter()``)."""
    return (time.perf_counter() - start) * 1000.0
