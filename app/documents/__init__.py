"""Uploaded bytes -> pages: type sniffing, image decoding, PDF pages (raster + text layer), limits."""

from app.documents.document import Document, DocumentLimits, DocumentPage, open_document, sniff
from app.documents.images import SUPPORTED_FORMATS, check_size, decode_image

__all__ = ["Document", "DocumentLimits", "DocumentPage", "open_document", "sniff", "SUPPORTED_FORMATS",
           "check_size", "decode_image"]
