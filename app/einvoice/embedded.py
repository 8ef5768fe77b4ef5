"""XML files embedded in a PDF (Factur-X, ZUGFeRD, XRechnung in a PDF/A-3 container).

PDF/A-3 (ISO 19005-3) lets a PDF carry files; Factur-X 1.0 / ZUGFeRD 2.x put the
invoice XML in the document's ``EmbeddedFiles`` name tree (ISO 32000-1 §7.11.4) as
``factur-x.xml`` (ZUGFeRD 2.0: ``zugferd-invoice.xml``; ZUGFeRD 1.0:
``ZUGFeRD-invoice.xml``; XRechnung in a PDF: ``xrechnung.xml``). The attachments are
read with PDFium through ``pypdfium2`` (the library that already reads the pages;
``FPDFDoc_GetAttachmentCount``, ``FPDFAttachment_GetName``, ``FPDFAttachment_GetFile``),
so no second PDF parser reads the caller's bytes.
"""

from __future__ import annotations

import ctypes

from app.documents.pdf import PDFIUM_LOCK, open_pdf
from app.errors import PayloadTooLarge

#: Attachment names of the standards, tried first (case-insensitive).
KNOWN_NAMES = ("factur-x.xml", "zugferd-invoice.xml", "xrechnung.xml")
#: Most attachments looked at in one PDF (a PDF may carry thousands).
MAX_ATTACHMENTS = 64


def xml_attachments(data: bytes, max_bytes: int) -> list[tuple[str, bytes]]:
    """The PDF's attachments whose names end in ``.xml``, the standards' names first.

    Args:
        data: the PDF's bytes.
        max_bytes: largest attachment read, bytes (``MAX_FILE_MB``): a larger one
            (say a compressed stream that inflates to gigabytes) is refused before it
            is copied out.

    Returns:
        ``[(name, xml bytes)]``; empty when the PDF has no XML attachment.

    Raises:
        InvalidDocument, PdfEncrypted: the PDF cannot be opened (400).
        PayloadTooLarge: an XML attachment over ``max_bytes`` (413).
    """
    import pypdfium2.raw as pdfium_c

    pdf = open_pdf(data)
    found: list[tuple[str, bytes]] = []
    try:
        with PDFIUM_LOCK:
            count = min(pdf.count_attachments(), MAX_ATTACHMENTS)
            for index in range(count):
                attachment = pdf.get_attachment(index)
                try:
                    name = attachment.get_name()
                except Exception:  # noqa: BLE001 - pypdfium2 raises PdfiumError for a nameless entry
                    continue
                if not name.lower().endswith(".xml"):
                    continue
                size = ctypes.c_ulong()
                if not pdfium_c.FPDFAttachment_GetFile(attachment.raw, None, 0, ctypes.byref(size)):
                    continue  # no data stream
                if size.value > max_bytes:
                    raise PayloadTooLarge(f"The PDF's attachment {name[:80]!r} is {size.value:,} bytes; the limit "
                                          f"is {max_bytes:,} (MAX_FILE_MB)")
                buffer = (ctypes.c_char * size.value)()
                written = ctypes.c_ulong()
                if pdfium_c.FPDFAttachment_GetFile(attachment.raw, buffer, size.value, ctypes.byref(written)):
                    found.append((name, bytes(buffer)[: written.value]))
    finally:
        with PDFIUM_LOCK:
            pdf.close()
    found.sort(key=lambda item: item[0].lower() not in KNOWN_NAMES)
    return found
