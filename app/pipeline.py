"""The document pipeline: uploaded bytes -> pages -> OCR or text layer -> fields.

One :class:`DocumentPipeline` is built per app (per gunicorn worker) in
``create_app`` and shared by all requests. Every door (HTTP, jobs, gRPC, CLI)
calls :meth:`DocumentPipeline.process` for one document, or the batch methods
:meth:`~DocumentPipeline.ocr_batch` / :meth:`~DocumentPipeline.extract_batch`,
which isolate per-file failures: an undecodable or oversized file gets its own
error entry and does not fail the others. Failures of the LLM server are not
per-file (every file would fail the same way) and propagate.

A document has pages (a PDF's pages, a TIFF's frames, or one image). Each page
is read from the PDF text layer when it has one (``source: "pdf_text"``), else
rendered and OCR'd (``source: "ocr"``), one page at a time. Fields, line items
and checks are read once per document, in one stage (:meth:`FieldExtractor.extract`),
from all pages' lines, stacked top to bottom (page 2 below
page 1) so no reader pairs a caption on one page with a value on another; boxes
in responses are given in their own page's pixels with the page number.

E-invoice XML (:mod:`app.einvoice`) is read exactly when present: an XML upload gives
its fields and line items with ``source: "xml"`` and no pages; a PDF that embeds one
(Factur-X, ZUGFeRD, XRechnung) is read from its pages as usual and then takes its
fields from the XML, the visual reading compared with it in ``checks.xml_agreement``.
``EINVOICE_XML=off`` (or ``config.einvoice_xml: false``) reads PDFs from their pages only.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from app.classify.language import page_language
from app.config import Settings
from app.documents import DocumentLimits, open_document
from app.domain import DocumentResult, FileFailure, OcrResult, PageText, TextLine
from app.geometry import sort_reading_order
from app.errors import (BadRequest, DeadlineExceeded, InvalidXml, OcrEngineError, PayloadTooLarge, ServiceError,
                        UnsupportedXml)
from app.extraction.currency import document_currency
from app.extraction.extractor import ExtractOptions, FieldExtractor
from app.ocr.base import OcrEngine

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Upload:
    """One uploaded file: the client's file name and its bytes."""

    filename: str
    data: bytes


@dataclass
class BatchResult:
    """Per-file results in upload order, and counts.

    Attributes:
        results: one :class:`~app.domain.DocumentResult` per file read, a
            :class:`~app.domain.FileFailure` per file that failed.
        processed_count: files processed without error.
        error_count: files that failed.
        first_error: the first per-file error (used when every file failed).
    """

    results: list[DocumentResult | FileFailure]
    processed_count: int
    error_count: int
    first_error: ServiceError | None = None

    def to_dicts(self, with_box: bool = False) -> list[dict]:
        """The files' JSON (:meth:`DocumentResult.to_dict`), in upload order."""
        return [r.to_dict(with_box) for r in self.results]


@dataclass
class DocumentRead:
    """All pages of one document and the stacked view extraction works on.

    Attributes:
        pages: the pages in order.
        first_image: page 1 as a ``(H, W, 3)`` BGR array when it was rendered
            for OCR (the QR reader needs pixels), else None.
        stacked: every page's lines in one :class:`OcrResult`, page ``n``'s boxes
            shifted down by the heights of pages ``1..n-1``; ``page`` set on each line;
            its ``orientation`` the pages' when they all lie the same way, else None.
        offsets: page number -> y offset of that page in ``stacked``, pixels.
    """

    pages: list[PageText]
    first_image: np.ndarray | None = None
    stacked: OcrResult = field(init=False)
    offsets: dict[int, float] = field(init=False)

    def __post_init__(self):
        lines: list[TextLine] = []
        self.offsets, y = {}, 0.0
        for page in self.pages:
            self.offsets[page.number] = y
            lines += [dataclasses.replace(ln, box=tuple((px, py + y) for px, py in ln.box)) for ln in page.ocr.lines]
            y += page.height
        width = max((p.width for p in self.pages), default=0)
        turns = {p.ocr.orientation for p in self.pages}
        self.stacked = OcrResult(tuple(lines), width, int(y), sum(p.ocr.detection_ms for p in self.pages),
                                 sum(p.ocr.recognition_ms for p in self.pages),
                                 "+".join(sorted({p.ocr.engine for p in self.pages if p.ocr.engine})),
                                 orientation=turns.pop() if len(turns) == 1 else None)

    @property
    def lines(self) -> list[TextLine]:
        """All lines in page coordinates (each with its ``page``)."""
        return [ln for p in self.pages for ln in p.ocr.lines]

    def page_box(self, indices) -> tuple[int | None, list | None]:
        """The page and axis-aligned box ``[[x, y] x 4]`` (page pixels) around
        stacked lines ``indices``, restricted to the first line's page."""
        if not indices:
            return None, None
        lines = self.stacked.lines
        page = lines[indices[0]].page
        offset = self.offsets.get(page, 0.0)
        pts = [(x, y - offset) for i in indices if lines[i].page == page for x, y in lines[i].box]
        x0, y0 = min(p[0] for p in pts), min(p[1] for p in pts)
        x1, y1 = max(p[0] for p in pts), max(p[1] for p in pts)
        return page, [[round(x0, 1), round(y0, 1)], [round(x1, 1), round(y0, 1)], [round(x1, 1), round(y1, 1)],
                      [round(x0, 1), round(y1, 1)]]


def _needs_pixels(document_type: str | None) -> bool:
    """Whether a document type's readers look at pixels (the CCCD QR code)."""
    from app.extraction.doctypes import DOCUMENT_TYPES

    doc = DOCUMENT_TYPES.get(document_type or "")
    return doc is not None and "qr" in doc.readers


# Per-file errors: the file's own fault or the OCR engine failing on it.
_PER_FILE_ERRORS = (BadRequest, PayloadTooLarge, OcrEngineError)


class DocumentPipeline:
    """Runs OCR (or reads PDF text layers) and extraction over uploads.

    Args:
        settings: size, page and PDF limits.
        ocr_engine: text detection + recognition.
        extractor: field extraction (readers, then the LLM).
    """

    def __init__(self, settings: Settings, ocr_engine: OcrEngine, extractor: FieldExtractor):
        self.settings = settings
        self.ocr_engine = ocr_engine
        self.extractor = extractor
        self.limits = DocumentLimits.from_settings(settings)

    # ------------------------------------------------------------------ reading
    def read_document(self, upload: Upload, render_first: bool = False,
                      deadline: float | None = None, stored: Sequence[PageText] | None = None) -> DocumentRead:
        """Open one upload and read the text of every page.

        Args:
            upload: file name and bytes.
            render_first: keep page 1's pixels even when it is read from its text
                layer (the QR reader of ID cards needs them).
            deadline: ``time.monotonic()`` instant by which the request must end
                (``ExtractOptions.deadline``); checked before each page is OCR'd.
            stored: the pages as an earlier read of this upload gave them (a job's
                ``ocr`` step): used as they are, nothing is decoded, rendered or
                recognised again but page 1's pixels when ``render_first``.

        Raises:
            InvalidImage, InvalidDocument, PdfEncrypted: bad file (400).
            PayloadTooLarge, TooManyPages: over a limit (413).
            OcrEngineError: the engine failed.
            DeadlineExceeded: the deadline passed before a page was OCR'd.
        """
        if stored is not None:
            first_image = None
            if render_first:
                with open_document(upload.data, self.limits) as document:
                    first_image = next(iter(document.pages())).image()
            return DocumentRead(list(stored), first_image)
        pages: list[PageText] = []
        first_image = None
        with open_document(upload.data, self.limits) as document:
            for page in document.pages():
                if page.text_lines is not None:
                    if render_first and page.number == 1:
                        first_image = page.image()
                    lines = tuple(sort_reading_order(page.text_lines))
                    ocr = OcrResult(lines, page.width, page.height, 0.0, 0.0, engine="pdf_text",
                                    orientation="upright")
                    pages.append(PageText(page.number, page.width, page.height, "pdf_text", ocr, page.text_ms))
                    continue
                if deadline is not None and time.monotonic() >= deadline:
                    raise DeadlineExceeded(f"The request's deadline passed before page {page.number} of "
                                           f"{document.page_count} was read")
                image = page.image()
                ocr = self.ocr_engine.recognize(image)
                ocr = dataclasses.replace(ocr, lines=tuple(dataclasses.replace(ln, page=page.number)
                                                           for ln in ocr.lines))
                if page.number == 1:
                    first_image = image
                height, width = image.shape[:2]
                pages.append(PageText(page.number, width, height, "ocr", ocr))
                del image
        return DocumentRead(pages, first_image)

    def read(self, upload: Upload) -> OcrResult:
        """All pages' lines of one upload, stacked (see :class:`DocumentRead`).

        Raises:
            As :meth:`read_document`.
        """
        return self.read_document(upload).stacked

    # --------------------------------------------------------------- one document
    def process(self, upload: Upload, *, info: dict[str, str] | None = None, options: ExtractOptions | None = None,
                document_type: str | None = None, ocr_only: bool = False,
                pages: Sequence[PageText] | None = None) -> DocumentResult:
        """Process one document; the entry point for every door.

        Args:
            upload: file name and bytes.
            info: field key -> description (extraction).
            options: LLM mode, fan-out and timeouts (extraction).
            document_type: a predefined field set (``invoice``, ...).
            ocr_only: read text only (the ``/ocr`` door); no fields.
            pages: the upload's pages as an earlier ``ocr_only`` call returned them
                (``DocumentResult.pages``; a job's extraction step): read from them
                instead of decoding and recognising the file again.

        Returns:
            A :class:`~app.domain.DocumentResult` (its :meth:`~app.domain.DocumentResult.to_dict`
            is the HTTP JSON). ``ocr_only``: kind ``ocr``, the pages and
            ``timings`` ``{detection_ms, recognition_ms, text_layer_ms}``. Otherwise kind
            ``extract``: the type (given or detected) and its classification, the fields
            (each placed on its page, box in that page's pixels), line items and checks for
            invoices, receipts and orders, field errors and warnings, and ``timings``
            ``{ocr_ms (reading every page), detection_ms, recognition_ms, text_layer_ms,
            extraction_ms, <reader>_ms...}``.
            E-invoice XML (:mod:`app.einvoice.response`): fields the XML states have
            ``source: "xml"``, confidence 1.0, no page or box; the line items are the
            XML's; the checks are on the XML's numbers plus ``xml_agreement``; ``einvoice``
            says what was read (``{format, profile, attachment, ...}``). An XML upload has
            no pages and ``timings`` ``{xml_ms, extraction_ms}``.

        Raises:
            InvalidImage, InvalidDocument, PdfEncrypted, PayloadTooLarge,
                TooManyPages, OcrEngineError: this file's fault or the engine's.
            XmlHasNoPages: an XML file for ``ocr_only`` (400).
            XmlForbidden, InvalidXml, UnsupportedXml: an XML upload that is unsafe
                (DTD, entities), malformed, not an e-invoice, or sent while reading XML is off (400).
            LLMUnavailable, LLMTimeout, LLMRejected: the LLM stage failed for
                every field of a document.
        """
        start = time.perf_counter()
        einvoice, warnings, asked_type = None, [], document_type
        if not ocr_only:
            einvoice, warnings = self._einvoice(upload, options)
            if einvoice is not None and einvoice.attachment is None:  # an XML upload: no pages
                return self._xml_result(upload, einvoice, info, document_type, start)
            if einvoice is not None and document_type in (None, "auto") and not info:
                document_type = "invoice"  # the XML says what it is; the visual reading reads its fields
        document = self.read_document(upload, render_first=not ocr_only and _needs_pixels(document_type),
                                      deadline=options.deadline if options is not None else None, stored=pages)
        ocr_ms = (time.perf_counter() - start) * 1000.0
        stacked = document.stacked
        pages = tuple(document.pages)
        read_ms = {"detection_ms": round(stacked.detection_ms, 1), "recognition_ms": round(stacked.recognition_ms, 1),
                   "text_layer_ms": round(sum(p.text_layer_ms for p in pages), 1)}
        if ocr_only:
            return DocumentResult(upload.filename, "ocr", pages, read_ms)

        # The document's language and currency, decided once here for every stage that asks
        # (classification, the readers, line items, checks).
        language = page_language([ln.text for ln in stacked.lines])
        stacked = dataclasses.replace(stacked, language=language,
                                      currency=document_currency(stacked.lines, language) or "")
        extraction = self.extractor.extract(stacked, info, options or ExtractOptions(),
                                            document_type=document_type, image=document.first_image)
        # Fields and line items carry indices into the stacked lines: placed on their own pages.
        fields = {key: r.placed(*document.page_box(r.line_indices)) for key, r in extraction.details.items()}
        items = None if extraction.line_items is None else \
            tuple(item.placed(*document.page_box(item.line_indices)) for item in extraction.line_items)
        result = DocumentResult(
            upload.filename, "extract", pages,
            {"ocr_ms": round(ocr_ms, 1), **read_ms, "extraction_ms": round(extraction.extraction_ms, 1),
             **{f"{k}_ms": v for k, v in extraction.stage_ms.items()}},
            document_type=extraction.document_type, classification=extraction.classification,
            values=dict(extraction.fields), fields=fields,
            line_items=items, checks=extraction.checks,
            field_errors=dict(extraction.errors), warnings=tuple(extraction.warnings) + tuple(warnings))
        if einvoice is not None:
            result = self._apply_einvoice(result, einvoice, asked_type)
        return result

    # ------------------------------------------------------------- e-invoice XML
    def _einvoice(self, upload: Upload, options: ExtractOptions | None):
        """The upload's e-invoice (:func:`app.einvoice.read_einvoice`) when reading XML is on.

        Returns:
            ``(invoice or None, warnings)``: a PDF whose embedded XML cannot be used is
            read from its pages, with a warning saying why.

        Raises:
            UnsupportedXml: an XML upload while reading XML is off (it has nothing else to read).
            XmlForbidden, InvalidXml, UnsupportedXml, PayloadTooLarge: an XML upload that is
                unsafe, malformed, not an e-invoice or too large.
            InvalidDocument, PdfEncrypted: a PDF that cannot be opened.
        """
        from app.documents import sniff
        from app.einvoice import read_einvoice

        enabled = self.settings.einvoice_xml if options is None or options.einvoice_xml is None \
            else options.einvoice_xml
        kind = sniff(upload.data)
        if kind == "xml" and not enabled:
            raise UnsupportedXml("Reading e-invoice XML is off (EINVOICE_XML=off or config.einvoice_xml=false), "
                                 "and an XML file has no pages to read")
        if not enabled or kind not in ("xml", "pdf"):
            return None, []
        if kind == "xml":
            return read_einvoice(upload.data, self.limits.max_bytes), []
        try:
            return read_einvoice(upload.data, self.limits.max_bytes), []
        except (InvalidXml, PayloadTooLarge) as e:
            return None, [f"The PDF's embedded e-invoice XML was not used ({e.code}: {e.message}); the fields "
                          "were read from its pages"]

    def _xml_result(self, upload: Upload, invoice, info: dict[str, str] | None, document_type: str | None,
                    start: float) -> DocumentResult:
        """The result of an XML upload: the e-invoice's fields (the caller's ``info`` keys
        mapped onto the ``invoice`` fields, or the named type's fields), line items and checks;
        no pages (see :meth:`process`)."""
        from app.classify import given, map_info
        from app.einvoice.response import INVOICE, SOURCE, no_visual_agreement, xml_checks, xml_fields, xml_rows
        from app.extraction.doctypes import resolve_fields
        from app.extraction.fields import EMPTY

        parse_ms = (time.perf_counter() - start) * 1000.0
        stated = xml_fields(invoice)
        if document_type in (None, "auto"):
            doc_type, classification = INVOICE, {"type": INVOICE, "confidence": 1.0, "source": SOURCE}
        else:
            doc_type, classification = document_type, given(document_type).to_dict()
        if info and document_type in (None, "auto"):
            details = {key: dataclasses.replace(stated.get(m.field or "", EMPTY), matched_field=m.field, mapped=True)
                       for key, m in map_info(info, INVOICE).items()}
        else:
            details = {spec.key: stated.get(spec.key, EMPTY) for spec in resolve_fields(doc_type, info)[1]}
        checks, items = xml_checks(invoice, stated)
        checks["xml_agreement"] = no_visual_agreement()
        return DocumentResult(
            upload.filename, "extract", (),
            {"xml_ms": round(parse_ms, 1),
             "extraction_ms": round((time.perf_counter() - start) * 1000.0 - parse_ms, 1)},
            document_type=doc_type, classification=classification,
            values={k: r.value for k, r in details.items()}, fields=details,
            line_items=xml_rows(invoice, items), checks=checks, einvoice=invoice.summary())

    def _apply_einvoice(self, result: DocumentResult, invoice, asked_type: str | None) -> DocumentResult:
        """``result`` (a PDF's visual reading) with its embedded e-invoice's fields in place of
        the visually read ones and the comparison recorded (``checks.xml_agreement``); the
        XML's line items and checks replace the visual ones."""
        from app.einvoice.response import INVOICE, SOURCE, merge, xml_checks, xml_fields, xml_rows

        visual_amounts = [row.amount for row in result.line_items or ()]
        merged, agreement = merge(invoice, result.fields, visual_amounts)
        checks, items = xml_checks(invoice, xml_fields(invoice))
        checks["xml_agreement"] = agreement
        changes = {
            "values": {k: (r.value if r.source == SOURCE else result.values.get(k)) for k, r in merged.items()},
            "fields": merged, "line_items": xml_rows(invoice, items), "checks": checks,
            "einvoice": invoice.summary(),
        }
        if asked_type in (None, "auto"):  # detected: the XML says what the document is
            changes["document_type"] = INVOICE
            changes["classification"] = {"type": INVOICE, "confidence": 1.0, "source": SOURCE}
        return dataclasses.replace(result, **changes)

    # ------------------------------------------------------------------ batches
    def ocr_batch(self, uploads: list[Upload]) -> BatchResult:
        """OCR every upload (see :meth:`process` with ``ocr_only``)."""
        return self._batch(uploads, lambda i, u: self.process(u, ocr_only=True))

    def extract_batch(self, uploads: list[Upload], info: dict[str, str] | None, options: ExtractOptions,
                      document_type: str | None = None,
                      pages: Sequence[Sequence[PageText] | None] | None = None) -> BatchResult:
        """OCR then extract the fields of ``document_type`` and/or ``info`` from
        every upload (see :meth:`process`).

        Args:
            pages: per upload, its pages already read (``process(pages=)``) or None.

        Raises:
            LLMUnavailable, LLMTimeout, LLMRejected: the LLM stage failed for
                every field of a document.
        """
        pages = list(pages or ()) + [None] * (len(uploads) - len(pages or ()))
        return self._batch(uploads, lambda i, u: self.process(u, info=info, options=options,
                                                              document_type=document_type, pages=pages[i]))

    @staticmethod
    def _batch(uploads: list[Upload], one: Callable[[int, Upload], DocumentResult]) -> BatchResult:
        results, errors, first_error = [], 0, None
        for i, upload in enumerate(uploads):
            try:
                results.append(one(i, upload))
            except _PER_FILE_ERRORS as e:
                log.info("file %r failed: %s %s", upload.filename, e.code, e.message)
                errors += 1
                first_error = first_error or e
                results.append(FileFailure(upload.filename, e))
        return BatchResult(results, len(uploads) - errors, errors, first_error)
