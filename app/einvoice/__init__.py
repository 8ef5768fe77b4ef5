"""E-invoice XML, read exactly: Factur-X / ZUGFeRD / XRechnung (UN/CEFACT CII), UBL 2.1
Invoice, and the Vietnamese tax authority's e-invoice format (Decree 123/2020/NĐ-CP,
Circular 78/2021/TT-BTC).

:func:`read_einvoice` takes an upload's bytes: an XML file is parsed as an e-invoice;
a PDF is searched for an embedded e-invoice XML (:mod:`app.einvoice.embedded`); any
other file has none. Parsing is safe (:mod:`app.einvoice.xmltree`: no DTD, no entities,
no external references). What the pipeline makes of the result (fields with ``source:
"xml"``, line items, the comparison with the visual reading) is in
:mod:`app.einvoice.response`.
"""

from __future__ import annotations

from app.documents.document import is_xml
from app.einvoice.model import EInvoice, EInvoiceLine
from app.errors import InvalidXml, UnsupportedXml

__all__ = ["EInvoice", "EInvoiceLine", "read_einvoice", "parse_einvoice_xml", "is_xml"]


def parse_einvoice_xml(data: bytes, attachment: str | None = None) -> EInvoice:
    """Parse an e-invoice XML document.

    Args:
        data: the XML bytes.
        attachment: its file name inside a PDF, recorded in the result (None for an upload).

    Returns:
        The invoice read from CII, UBL 2.1 Invoice or Vietnamese ``HDon`` XML.

    Raises:
        XmlForbidden: a DTD, entities or external references (400 ``XML_FORBIDDEN``).
        InvalidXml: not well-formed; an amount or date its format does not allow (400 ``INVALID_XML``).
        UnsupportedXml: well-formed XML of another kind (400 ``UNSUPPORTED_XML``).
    """
    import dataclasses

    from app.einvoice.cii import is_cii, read_cii
    from app.einvoice.ubl import is_ubl, read_ubl
    from app.einvoice.vn import find_hdon, read_vn
    from app.einvoice.xmltree import local, namespace, parse_xml

    root = parse_xml(data)
    if is_cii(root):
        invoice = read_cii(root)
    elif is_ubl(root):
        invoice = read_ubl(root)
    elif (hdon := find_hdon(root)) is not None:
        invoice = read_vn(hdon)
    else:
        ns = namespace(root.tag)
        raise UnsupportedXml(f"The XML's root element {local(root.tag)[:60]!r}"
                             f"{f' (namespace {ns[:100]!r})' if ns else ''} is not an e-invoice this service "
                             "reads: UN/CEFACT CII (Factur-X, ZUGFeRD 2, XRechnung), UBL 2.1 Invoice, or a "
                             "Vietnamese HDon")
    return dataclasses.replace(invoice, attachment=attachment) if attachment else invoice


def read_einvoice(data: bytes, max_bytes: int = 20 * 1024 * 1024) -> EInvoice | None:
    """The e-invoice of an upload: an XML file's, or the one embedded in a PDF.

    Args:
        data: the upload's bytes (XML, PDF or anything else).
        max_bytes: largest file or PDF attachment read, bytes (``MAX_FILE_MB``).

    Returns:
        The invoice; None for a PDF without a supported e-invoice attachment, and for
        files that are neither XML nor PDF.

    Raises:
        PayloadTooLarge: the file or an XML attachment over ``max_bytes`` (413).
        XmlForbidden, InvalidXml, UnsupportedXml: an XML upload that is unsafe, malformed
            or not an e-invoice (400); for a PDF, the error of its first XML attachment
            with a standard's name (``factur-x.xml``, ...) when no attachment could be read
            (the caller decides whether to go on with the pages).
        InvalidDocument, PdfEncrypted: a PDF PDFium cannot open (400).
    """
    from app.documents.document import sniff
    from app.documents.images import check_size

    check_size(data, max_bytes)
    kind = sniff(data)
    if kind == "xml":
        return parse_einvoice_xml(data)
    if kind != "pdf":
        return None
    from app.einvoice.embedded import KNOWN_NAMES, xml_attachments

    first_error: InvalidXml | None = None
    for name, xml in xml_attachments(data, max_bytes):
        try:
            return parse_einvoice_xml(xml, attachment=name)
        except UnsupportedXml:
            continue  # some other XML file travelling with the PDF
        except InvalidXml as e:
            if first_error is None and name.lower() in KNOWN_NAMES:
                first_error = e
    if first_error is not None:
        raise first_error
    return None
