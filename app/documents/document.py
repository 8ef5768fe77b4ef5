"""Uploaded bytes -> a document of pages.

The kind of file is sniffed from its bytes, never from its name: PDF
(``%PDF-`` header, ISO 32000-1 §7.5.2), XML (an e-invoice, read by :mod:`app.einvoice`: it has
no pages), HEIC/HEIF (ISO/IEC 23008-12 ``ftyp`` box
with a HEIF brand), otherwise an image Pillow opens (a multi-frame TIFF gives one
page per frame). Limits are checked before any page is decoded: file size, page
count (``MAX_PAGES``; a 2,000-page PDF is refused after reading its page tree),
pixels per page (``MAX_IMAGE_PIXELS``; a PDF page at ``PDF_DPI``, checked before it
is rendered: a page read from its text layer is not rendered and not held to it).

Pages are produced lazily, one at a time, so a long document never holds more
than one page's pixels: :meth:`Document.pages` yields :class:`DocumentPage`
objects whose image is rendered only when :meth:`DocumentPage.image` is called
(a PDF page read from its text layer is never rasterised).
"""

from __future__ import annotations

import io
import time
import warnings
from dataclasses import dataclass, field
from typing import Callable, Iterator

import numpy as np
from PIL import Image, ImageOps

from app.documents.images import SUPPORTED_FORMATS, check_size, to_rgb
from app.documents.pdf import PDFIUM_LOCK, open_pdf, page_pixels, render_page, text_lines, time_ms
from app.domain import TextLine
from app.errors import InvalidDocument, InvalidImage, PayloadTooLarge, TooManyPages, XmlHasNoPages

#: ``ftyp`` major/compatible brands of HEIF still images (ISO/IEC 23008-12 Annex B).
HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}
#: Multi-frame image formats whose frames are pages (an animated GIF's frames are not).
PAGED_FORMATS = ("TIFF",)


@dataclass(frozen=True)
class DocumentLimits:
    """What a document may be, and how PDF pages are read.

    Attributes:
        max_bytes: largest file in bytes (``MAX_FILE_MB``).
        max_pixels: largest page in width x height pixels (``MAX_IMAGE_PIXELS``).
        max_pages: most pages per document (``MAX_PAGES``).
        pdf_dpi: raster resolution of PDF pages, dots per inch (``PDF_DPI``).
        pdf_text_min_chars: letters/digits a PDF page's text layer needs to be read
            instead of OCR'd (``PDF_TEXT_MIN_CHARS``).
        heic_enabled: accept HEIC/HEIF (``HEIC_ENABLED``).
    """

    max_bytes: int = 20 * 1024 * 1024
    max_pixels: int = 80_000_000
    max_pages: int = 50
    pdf_dpi: int = 200
    pdf_text_min_chars: int = 16
    heic_enabled: bool = True

    @classmethod
    def from_settings(cls, settings) -> "DocumentLimits":
        """The limits of :class:`app.config.Settings`."""
        return cls(settings.max_file_bytes, settings.max_image_pixels, settings.max_pages, settings.pdf_dpi,
                   settings.pdf_text_min_chars, settings.heic_enabled)


@dataclass
class DocumentPage:
    """One page of a document.

    Attributes:
        number: 1-based page number.
        width, height: page size in pixels (for a PDF page: at the raster DPI).
        text_lines: the lines of a PDF page's text layer when it is usable
            (boxes in pixels, page set), else None: the page needs OCR.
        text_ms: time spent reading the text layer, milliseconds.
    """

    number: int
    width: int
    height: int
    text_lines: tuple[TextLine, ...] | None = None
    text_ms: float = 0.0
    _render: Callable[[], np.ndarray] | None = field(default=None, repr=False)

    @property
    def source(self) -> str:
        """``pdf_text`` when the text layer is used, ``ocr`` otherwise."""
        return "pdf_text" if self.text_lines is not None else "ocr"

    def image(self) -> np.ndarray:
        """The page as a ``(H, W, 3)`` uint8 BGR array (rendered or decoded on each call).

        Raises:
            InvalidDocument, InvalidImage: the page cannot be decoded.
        """
        assert self._render is not None
        return self._render()


class Document:
    """A sniffed, limit-checked upload; iterate :meth:`pages` once, then :meth:`close`.

    Attributes:
        kind: ``pdf``, ``heif`` or ``image`` (``format`` names the image format).
        format: ``PDF``, ``HEIF`` or Pillow's format name (``JPEG``, ``TIFF``, ...).
        page_count: number of pages (1 for a single image).
    """

    def __init__(self, kind: str, fmt: str, page_count: int, pages: Callable[[], Iterator[DocumentPage]],
                 close: Callable[[], None] = lambda: None):
        self.kind, self.format, self.page_count = kind, fmt, page_count
        self._pages, self._close = pages, close

    def pages(self) -> Iterator[DocumentPage]:
        """Pages in order, produced one at a time; a PDF page can be rendered
        (:meth:`DocumentPage.image`) until the next page is asked for."""
        return self._pages()

    def close(self) -> None:
        self._close()

    def __enter__(self) -> "Document":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def is_xml(data: bytes) -> bool:
    """Whether the bytes look like an XML document (the name is never used): after an
    optional byte-order mark and whitespace, ``<?xml`` or a start tag ``<Name``; HTML
    (``<html``, ``<!DOCTYPE html``) is not taken for XML."""
    head = data[:256]
    if head[:2] in _UTF16_BOMS:
        try:
            head = head.decode("utf-16").encode("utf-8", "replace")
        except UnicodeDecodeError:
            return False
    head = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    lower = head[:14].lower()
    if lower.startswith(b"<html") or lower.startswith(b"<!doctype html"):
        return False
    return head.startswith(b"<?xml") or (len(head) > 1 and head[:1] == b"<" and (head[1:2].isalpha()
                                                                                or head[1:2] in (b"_", b"!")))


def sniff(data: bytes) -> str:
    """``pdf``, ``xml``, ``heif`` or ``image`` from the file's first bytes (the name is never
    used; ``xml``: :func:`is_xml`)."""
    if b"%PDF-" in data[:1024]:
        return "pdf"
    if is_xml(data):
        return "xml"
    if len(data) >= 12 and data[4:8] == b"ftyp":
        size = int.from_bytes(data[:4], "big")
        brands = [data[8:12]] + [data[i:i + 4] for i in range(16, min(size, 64), 4)]
        if any(b in HEIF_BRANDS for b in brands):
            return "heif"
    return "image"


def open_document(data: bytes, limits: DocumentLimits) -> Document:
    """Sniff and open an upload, checking every limit that needs no decoding.

    Args:
        data: the file's bytes.
        limits: size, page and pixel limits and PDF reading options.

    Returns:
        The document; its pages are decoded as they are iterated.

    Raises:
        InvalidImage: empty, not an image or PDF, an unsupported format, or HEIC
            while ``heic_enabled`` is false.
        XmlHasNoPages: an XML file (an e-invoice has no pages; the pipeline reads
            its fields with :mod:`app.einvoice` before asking for pages).
        InvalidDocument: a PDF PDFium cannot parse, or with no pages.
        PdfEncrypted: a PDF that needs a password.
        TooManyPages: more pages than ``max_pages`` (413; nothing is rendered).
        PayloadTooLarge: the file or a page's pixel count is over its limit (413).
    """
    check_size(data, limits.max_bytes)
    kind = sniff(data)
    if kind == "pdf":
        return _open_pdf(data, limits)
    if kind == "xml":
        raise XmlHasNoPages()
    if kind == "heif":
        if not limits.heic_enabled:
            raise InvalidImage("HEIC/HEIF images are disabled on this server (HEIC_ENABLED=false)")
        _register_heif()
    return _open_image(data, limits, kind)


def _check_pages(count: int, limits: DocumentLimits) -> None:
    if count > limits.max_pages:
        raise TooManyPages(f"The document has {count} pages; the limit is {limits.max_pages} (MAX_PAGES)",
                           details={"pages": count, "max_pages": limits.max_pages})


def _check_pixels(number: int, width: int, height: int, limits: DocumentLimits, what: str) -> None:
    if width * height > limits.max_pixels:
        raise PayloadTooLarge(f"Page {number} is {width}x{height} pixels{what}; the limit is {limits.max_pixels} "
                              "(MAX_IMAGE_PIXELS)", details={"page": number})


def _open_pdf(data: bytes, limits: DocumentLimits) -> Document:
    pdf = open_pdf(data)

    def close() -> None:
        with PDFIUM_LOCK:
            pdf.close()

    try:
        with PDFIUM_LOCK:
            count = len(pdf)
        if count == 0:
            raise InvalidDocument("The PDF has no pages")
        _check_pages(count, limits)
    except BaseException:
        close()
        raise

    def pages() -> Iterator[DocumentPage]:
        for index in range(count):
            with PDFIUM_LOCK:
                page = pdf[index]
            width, height = page_pixels(page, limits.pdf_dpi)
            start = time.perf_counter()
            lines, letters = text_lines(page, limits.pdf_dpi)
            usable = letters >= max(limits.pdf_text_min_chars, 1)
            lines = tuple(TextLine(ln.text, ln.confidence, ln.box, index + 1) for ln in lines) if usable else None
            yield DocumentPage(index + 1, width, height, lines, time_ms(start),
                               lambda page=page, n=index + 1, w=width, h=height: _render(page, n, w, h, limits))
            with PDFIUM_LOCK:  # the caller is done with this page (it asked for the next)
                page.close()

    return Document("pdf", "PDF", count, pages, close)


def _render(page, number: int, width: int, height: int, limits: DocumentLimits) -> np.ndarray:
    """Rasterise a PDF page once its pixel count is known to be within the limit (a page
    read from its text layer is never rendered, so only pages to OCR are held to it)."""
    _check_pixels(number, width, height, limits, f" at {limits.pdf_dpi} dpi (PDF_DPI)")
    return render_page(page, limits.pdf_dpi)


_HEIF_REGISTERED = False


def _register_heif() -> None:
    """Register the HEIF decoder with Pillow (once; imported only when a HEIC file arrives)."""
    global _HEIF_REGISTERED
    if not _HEIF_REGISTERED:
        try:
            from pi_heif import register_heif_opener
        except ImportError as e:  # pragma: no cover - pi-heif is in requirements.txt
            raise InvalidImage("HEIC/HEIF support is not installed on this server (pip install pi-heif)") from e
        register_heif_opener()
        _HEIF_REGISTERED = True


def _open_image(data: bytes, limits: DocumentLimits, kind: str) -> Document:
    formats = SUPPORTED_FORMATS + ("HEIF",)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as e:
        raise PayloadTooLarge("Image has too many pixels (MAX_IMAGE_PIXELS)") from e
    except Exception as e:  # any decoder failure on the caller's bytes is the file's, not ours
        raise InvalidImage("The file is not a decodable image or PDF "
                           "(JPEG, PNG, WEBP, BMP, TIFF, GIF, HEIC, PDF)") from e
    fmt = img.format or ""
    if fmt not in formats:
        img.close()
        raise InvalidImage(f"Unsupported image format {fmt}; send one of {', '.join(formats)} or PDF")
    try:
        # Counting a TIFF's frames walks its IFD chain: a corrupt later IFD fails here.
        count = getattr(img, "n_frames", 1) if fmt in PAGED_FORMATS else 1
    except Exception as e:  # the file's fault, as above
        img.close()
        raise InvalidImage(f"The pages of the {fmt} file cannot be counted (a corrupt frame directory)") from e
    try:
        _check_pages(count, limits)
    except TooManyPages:
        img.close()
        raise

    def decode(index: int) -> np.ndarray:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                img.seek(index)
                img.load()
                rgb = to_rgb(ImageOps.exif_transpose(img))
        except (Image.DecompressionBombWarning, Image.DecompressionBombError, MemoryError) as e:
            raise PayloadTooLarge("Image has too many pixels (MAX_IMAGE_PIXELS)") from e
        except Exception as e:  # any decoder failure on the caller's bytes is the file's, not ours
            raise InvalidImage(f"Page {index + 1} of the {fmt} file cannot be decoded") from e
        return np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8)[:, :, ::-1])

    def pages() -> Iterator[DocumentPage]:
        for index in range(count):
            try:
                img.seek(index)
            except Exception as e:  # a truncated or corrupt frame
                raise InvalidImage(f"Page {index + 1} of the {fmt} file cannot be read") from e
            width, height = img.size
            _check_pixels(index + 1, width, height, limits, "")
            image = decode(index)
            height, width = image.shape[:2]  # after EXIF orientation
            yield DocumentPage(index + 1, width, height, None, 0.0, lambda image=image: image)

    return Document(kind, fmt, count, pages, img.close)
