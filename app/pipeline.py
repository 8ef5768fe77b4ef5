"""The document pipeline: uploaded bytes -> image -> OCR -> fields.

One :class:`DocumentPipeline` is built per app (per gunicorn worker) in
``create_app`` and shared by all requests. It processes a batch of uploads and
isolates per-file failures: an undecodable or oversized file gets its own error
entry and does not fail the others. Failures of the LLM server are not
per-file (every file would fail the same way) and propagate.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Callable

from app.config import Settings
from app.documents import decode_image
from app.domain import OcrResult
from app.errors import BadRequest, OcrEngineError, PayloadTooLarge, ServiceError
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
        results: one dict per file; failed files carry ``success: false``,
            ``error_code`` and ``message``.
        processed_count: files processed without error.
        error_count: files that failed.
        first_error: the first per-file error (used when every file failed).
    """

    results: list[dict]
    processed_count: int
    error_count: int
    first_error: ServiceError | None = None


# Per-file errors: the file's own fault or the OCR engine failing on it.
_PER_FILE_ERRORS = (BadRequest, PayloadTooLarge, OcrEngineError)


class DocumentPipeline:
    """Runs OCR and extraction over uploads.

    Args:
        settings: size limits.
        ocr_engine: text detection + recognition.
        extractor: LLM field extraction.
    """

    def __init__(self, settings: Settings, ocr_engine: OcrEngine, extractor: FieldExtractor):
        self.settings = settings
        self.ocr_engine = ocr_engine
        self.extractor = extractor

    def read(self, upload: Upload) -> OcrResult:
        """Decode one upload and run OCR on it.

        Raises:
            InvalidImage, PayloadTooLarge: bad file.
            OcrEngineError: the engine failed.
        """
        return self.ocr_engine.recognize(self.decode(upload))

    def decode(self, upload: Upload):
        """Decode one upload to a ``(H, W, 3)`` BGR array (raises InvalidImage / PayloadTooLarge)."""
        return decode_image(upload.data, max_bytes=self.settings.max_file_bytes,
                            max_pixels=self.settings.max_image_pixels)

    def ocr_batch(self, uploads: list[Upload], with_box: bool = True) -> BatchResult:
        """OCR every upload. Result per file: ``filename``, ``ocr_data``
        (``text``, ``confidence``, ``box`` when ``with_box``) and
        ``processing_time`` (``detection_ms``, ``recognition_ms``)."""

        def one(upload: Upload) -> dict:
            ocr = self.read(upload)
            return {
                "filename": upload.filename,
                "success": True,
                "ocr_data": [line.to_dict(with_box) for line in ocr.lines],
                "processing_time": {
                    "detection_ms": round(ocr.detection_ms, 1),
                    "recognition_ms": round(ocr.recognition_ms, 1),
                },
            }

        return self._batch(uploads, one)

    def extract_batch(self, uploads: list[Upload], info: dict[str, str] | None, options: ExtractOptions,
                      with_box: bool = False, document_type: str | None = None) -> BatchResult:
        """OCR then extract the fields of ``document_type`` and/or ``info``.

        Result per file: ``filename``, ``extracted_fields`` (key -> value or
        None, the plain map existing clients read), ``fields`` (key ->
        ``{value, normalized, confidence, source, grounded, box, checks?}``),
        ``ocr_data`` when ``with_box``, ``processing_time`` (``ocr_ms`` = decode +
        detection + recognition, ``decode_ms``, ``detection_ms``, ``recognition_ms``,
        ``extraction_ms``, one ``<reader>_ms`` per reader that ran, ``llm_ms``), and ``field_errors`` / ``warnings`` when any.

        Raises:
            LLMUnavailable, LLMTimeout, LLMRejected: the LLM stage failed for
                every field of a document.
        """

        def one(upload: Upload) -> dict:
            start = time.perf_counter()
            image = self.decode(upload)
            decode_ms = (time.perf_counter() - start) * 1000.0
            ocr = self.ocr_engine.recognize(image)
            ocr_ms = (time.perf_counter() - start) * 1000.0
            extraction = self.extractor.extract(ocr, info, options, document_type=document_type, image=image)
            result = {
                "filename": upload.filename,
                "success": True,
                "extracted_fields": extraction.fields,
                "fields": {k: r.to_dict(ocr) for k, r in extraction.details.items()},
                "processing_time": {"ocr_ms": round(ocr_ms, 1), "decode_ms": round(decode_ms, 1),
                                    "detection_ms": round(ocr.detection_ms, 1),
                                    "recognition_ms": round(ocr.recognition_ms, 1),
                                    "extraction_ms": round(extraction.extraction_ms, 1),
                                    **{f"{k}_ms": v for k, v in extraction.stage_ms.items()}},
            }
            if with_box:
                result["ocr_data"] = [line.to_dict(True) for line in ocr.lines]
            if extraction.errors:
                result["field_errors"] = {k: e.to_dict() for k, e in extraction.errors.items()}
            if extraction.warnings:
                result["warnings"] = list(extraction.warnings)
            return result

        return self._batch(uploads, one)

    @staticmethod
    def _batch(uploads: list[Upload], one: Callable[[Upload], dict]) -> BatchResult:
        results, errors, first_error = [], 0, None
        for upload in uploads:
            try:
                results.append(one(upload))
            except _PER_FILE_ERRORS as e:
                log.info("file %r failed: %s %s", upload.filename, e.code, e.message)
                errors += 1
                first_error = first_error or e
                results.append({"filename": upload.filename, "success": False, **e.to_dict()})
        return BatchResult(results, len(uploads) - errors, errors, first_error)
