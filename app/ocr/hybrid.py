"""Hybrid OCR engine: PP-OCRv6 detection + a Vietnamese line recogniser, fused.

PP-OCRv6's recognition dictionary lacks 88 of the 134 Vietnamese letters with
diacritics (PaddleOCR issue #18254), so RapidOCR drops or replaces them
(``CỘNG`` -> ``CNG``, ``Thời`` -> ``Thi``) while it finds lines and reads base
letters well on photos. This engine:

1. runs RapidOCR's PP-OCRv6 text detector, orientation classifier and
   recogniser (the same models as ``OCR_ENGINE=rapidocr``);
2. reads the same detected lines again with a recogniser that knows every
   Vietnamese letter (``recogniser`` option):

   - ``aster`` (the default): AsterNet (:mod:`app.ocr.aster`, the ``asterocr``
     wheel, MIT) on PP-OCR's own upright line crops, for lines in which PP-OCR
     read at least one letter (amount-only lines keep PP-OCR's reading);
   - ``tesseract``: Tesseract's ``vie`` LSTM model on each line cut out of the
     full-resolution image again (perspective warp of its quadrilateral, so
     slanted lines come out level), turned upright (one orientation vote per
     page), scaled to a fixed height, the paper flattened to white, a white
     border added, read as a single text line (``--psm 7``);
   - ``aster+tesseract``: both, fused in that order;

3. fuses the readings with :func:`fuse`: both are aligned on their
   diacritic-stripped, lower-cased letters; where those agree, PP-OCR's letter
   takes the other reader's marks; where PP-OCR has nothing (or a different
   character) and the other reader read a letter that PP-OCR's dictionary
   cannot produce, that letter is used; everything else stays PP-OCR's.

Confidence is PP-OCR's score scaled by how well the readers agree on the
letters (``0.5 + 0.5 * agreement``), so lines the readers disagree on rank low.
Pages that do not look Vietnamese (:func:`looks_vietnamese`) keep PP-OCR's
reading: the second recogniser would only add marks to English/Malay words.

Tesseract runs as the ``tesseract`` command (``backend=cli``, the default: one
process per worker and photo, reading a list of line images) or in-process
through the optional ``tesserocr`` package (``backend=tesserocr``). Both read
the traineddata of Debian's ``tesseract-ocr-vie`` package (Apache-2.0) from the
standard tessdata folders (:data:`app.ocr.tesseract.TESSDATA_DIRS`).

Measured on the 61 shared MC-OCR photos (``bench/ocr_cer.py``, best-match line
CER / Vietnamese diacritic letters read exactly): PP-OCR alone 17.5% / 24%,
AsterNet alone on PP-OCR's lines 16.0% / 67%, fused with Tesseract 13.3% / 59%,
fused with AsterNet (the default) 12.1% / 68%.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import unicodedata
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Sequence

import numpy as np

from app.classify.language import looks_vietnamese
from app.config import ConfigError, Settings
from app.domain import OcrResult, TextLine
from app.errors import EngineUnavailable, OcrEngineError, PayloadTooLarge
from app.ocr.base import OcrEngine, register_engine
from app.ocr.fusion import PP_OCRV6_MISSING_LETTERS, VIETNAMESE_DIACRITIC_LETTERS, agreement, fuse, fused_confidence
from app.ocr.geometry import (
    box_heights,
    check_geometry,
    detector_budget,
    library_preprocess_size,
    line_image,
    page_turn,
    select_lines,
    sized_detection,
    text_columns,
    turned_reading_order,
)
from app.ocr.header import MERGES, header_region, inside_region, merge_passes
from app.ocr.tesseract import _make_reader, check_tesseract, find_tessdata
from app.requirements import CheckContext, Requirement, register_check

log = logging.getLogger(__name__)

FUSIONS = ("fuse", "aster", "tesseract", "ppocr")
RECOGNISERS = ("aster", "tesseract", "aster+tesseract")
BACKENDS = ("cli", "tesserocr")
NORMALIZE = ("none", "flatten", "otsu")
ORIENTATIONS = ("line", "page")


@dataclass(frozen=True)
class HybridOptions:
    """Tuning of the hybrid engine (defaults are the measured best; see bench/ocr_cer.py).

    Attributes:
        recogniser: the second line recogniser(s): ``aster`` (default, measured
            best), ``tesseract`` or ``aster+tesseract`` (fused in that order).
        fusion: ``fuse`` (default), ``aster`` / ``tesseract`` (that reader's
            reading of the PP-OCR-detected lines, no fusion; it is loaded even
            when ``recogniser`` does not name it) or ``ppocr`` (PP-OCR's
            reading only).
        backend: ``cli`` (the ``tesseract`` command from Debian's package; the
            default) or ``tesserocr`` (in-process, about 0.06 s per photo
            faster; its wheel bundles libtesseract and image libraries,
            JBIG-KIT (GPL-2.0+) among them, into the service process).
        lang: Tesseract languages: ``vie`` (measured best; ``vie+eng`` keeps
            fewer diacritics), ``vie+eng``, ...
        line_height: height in pixels each detected line box is scaled to before
            Tesseract reads it (the box includes the detector's margin, so the
            x-height is roughly a third of it; 32-48 measured best on photos).
        margin: extra context cut around the box, as a fraction of its height
            (0: the detector's box already has a margin; more pulls in
            neighbouring lines and table rules, which Tesseract then reads).
        border: white border added around the line image, in pixels.
        normalize: ``flatten`` (divide by the estimated paper brightness, so the
            background is white), ``otsu`` (binarise), or ``none`` (grey as is).
        orientation: ``page`` (turn every line 180 degrees when most of the
            page's lines are classified upside down) or ``line`` (per line, as
            RapidOCR does).
        keep_pp_marks: see :func:`fuse`.
        min_agreement: see :func:`fuse`.
        workers: Tesseract threads/processes per image (0 = ``OCR_THREADS`` or
            the CPU count, at most 4).
        aster_model: path of another ONNX model with AsterNet's contract (a
            retrained AsterNet from ``tools/train_recogniser.py``, its
            ``vocab.json`` beside it) to use instead of the wheel's; empty: the
            wheel's. For measuring (``bench/ocr_cer.py --set aster_model=...``).
    """

    recogniser: str = "aster"
    fusion: str = "fuse"
    backend: str = "cli"
    lang: str = "vie"
    line_height: int = 40
    margin: float = 0.0
    border: int = 12
    normalize: str = "flatten"
    orientation: str = "page"
    keep_pp_marks: bool = False
    min_agreement: float = 0.5
    workers: int = 0
    aster_model: str = ""

    def __post_init__(self):
        for name, choices in (
            ("recogniser", RECOGNISERS),
            ("fusion", FUSIONS),
            ("backend", BACKENDS),
            ("normalize", NORMALIZE),
            ("orientation", ORIENTATIONS),
        ):
            if getattr(self, name) not in choices:
                raise ValueError(f"{name} must be one of {', '.join(choices)}, got {getattr(self, name)!r}")
        if not 8 <= self.line_height <= 512:
            raise ValueError(f"line_height must be 8..512 pixels, got {self.line_height}")

    @property
    def readers(self) -> tuple[str, ...]:
        """Second recognisers to load, in fusion order."""
        if self.fusion in ("aster", "tesseract"):
            return (self.fusion,)
        if self.fusion == "ppocr":
            return ()
        return tuple(self.recogniser.split("+"))

    @classmethod
    def parse(cls, values: dict[str, str]) -> "HybridOptions":
        """Options from strings (``{"line_height": "80"}``), e.g. from a command line."""
        kinds = {f.name: f.type for f in fields(cls)}
        out = {}
        for key, raw in values.items():
            kind = kinds.get(key)
            if kind is None:
                raise ValueError(f"unknown option {key!r}; known: {', '.join(kinds)}")
            if kind == "bool":
                out[key] = raw.strip().lower() in ("1", "true", "yes", "on")
            elif kind == "int":
                out[key] = int(raw)
            elif kind == "float":
                out[key] = float(raw)
            else:
                out[key] = raw.strip()
        return replace(cls(), **out)


def combine(
    pp: tuple[str, float],
    others: Sequence[tuple[str, float]],
    options: HybridOptions,
    missing: frozenset[str] = PP_OCRV6_MISSING_LETTERS,
) -> tuple[str, float]:
    """One line's text and confidence from PP-OCR's reading and the second recognisers'.

    Args:
        pp: PP-OCR's ``(text, score)``.
        others: ``(text, confidence)`` of each second recogniser, in
            ``options.readers`` order (empty when none ran on this line).
        options: ``fusion``, ``keep_pp_marks``, ``min_agreement``.
        missing: letters PP-OCR's dictionary cannot produce.

    Returns:
        ``fusion=fuse``: PP-OCR's text fused (:func:`fuse`) with each other
        reading in turn (after the first, a later reader only adds marks where
        there are none), confidence :func:`fused_confidence` with the best
        agreement; ``fusion=aster``/``tesseract``: that reading (PP-OCR's when
        it read nothing); ``fusion=ppocr``, no other reading, or a
        machine-readable-zone line (``<<``): PP-OCR's reading unchanged.
    """
    pp_text, pp_score = pp
    others = [(unicodedata.normalize("NFC", " ".join(t.split())), c) for t, c in others]
    if options.fusion == "ppocr" or not others or "<<" in pp_text:
        # Machine-readable zones (ICAO 9303) are upper-case ASCII with check digits:
        # a Vietnamese recogniser's marks can only break them.
        return pp_text, pp_score
    if options.fusion in ("aster", "tesseract"):
        return others[0] if others[0][0] or not pp_text else (pp_text, pp_score)
    text = pp_text
    agrees = []
    for n, (other, _) in enumerate(others):
        if not other:
            continue
        agrees.append(agreement(pp_text, other))
        text = fuse(
            text,
            other,
            missing=missing,
            keep_pp_marks=options.keep_pp_marks or n > 0,
            min_agreement=options.min_agreement,
        )
    return text, (fused_confidence(pp_score, max(agrees)) if agrees else pp_score)


# ---------------------------------------------------------------- line images


# ---------------------------------------------------------------- engine


@register_engine("hybrid")
class HybridOcrEngine(OcrEngine):
    """PP-OCRv6 detection (RapidOCR) + a Vietnamese line recogniser (AsterNet
    and/or Tesseract ``vie``), fused.

    Args:
        settings: ``text_det_conf_threshold`` (DB box score threshold),
            ``text_rec_conf_threshold`` (lines below it in PP-OCR's score are
            dropped, the same line set as ``OCR_ENGINE=rapidocr``),
            ``ocr_threads`` (ONNX Runtime threads, and Tesseract workers when
            ``options.workers`` is 0), ``ocr_recogniser`` (the second
            recogniser when ``options`` is not given), the detection settings
            of :class:`app.ocr.rapid.RapidOcrEngine` (``text_det_*``), and the
            header pass: ``ocr_header_fraction`` (share of the text's height,
            from its top, detected a second time; 0 = no second pass),
            ``ocr_header_scale`` (its resolution, as a multiple of the first
            pass's) and ``ocr_header_merge`` (``replace`` or ``fill``, see
            :func:`app.ocr.header.merge_passes`).
        options: tuning; the defaults are the measured best.

    Raises:
        EngineUnavailable: rapidocr or its models, the ``asterocr`` model files
            (``aster``), or tesseract/tesserocr and the traineddata
            (``tesseract``) are missing; the message says what to install.
        ConfigError: ``ocr_header_merge`` is not ``replace`` or ``fill``.
    """

    name = "hybrid"

    def __init__(self, settings: Settings, options: HybridOptions | None = None):
        self.options = options or HybridOptions(recogniser=settings.ocr_recogniser)
        self._aster = None
        self._reader = None
        if "aster" in self.options.readers:
            from app.ocr.aster import AsterRecognizer

            model_path = Path(self.options.aster_model) if self.options.aster_model else None
            if "aster" in settings.ocr_int8:
                from app.ocr.aster import MODEL_FILE, asset_dir
                from app.ocr.int8 import int8_model

                model_path = int8_model(model_path or asset_dir() / MODEL_FILE, settings.ocr_int8_dir)
            self._aster = AsterRecognizer(threads=settings.ocr_threads, model_path=model_path)
        if "tesseract" in self.options.readers:
            langs = [x for x in self.options.lang.split("+") if x]
            tessdata = find_tessdata(langs)
            workers = self.options.workers or settings.ocr_threads or min(os.cpu_count() or 1, 4)
            self._reader = _make_reader(self.options.backend, tessdata, self.options.lang, workers)

        from app.ocr.rapid import RapidOcrEngine

        self._rapid = RapidOcrEngine(settings)  # checks its package and bundled models
        self._ocr = self._rapid._ocr
        self._lock = threading.Lock()  # RapidOCR's pipeline steps share state
        self._rec_threshold = settings.text_rec_conf_threshold
        self._header_fraction = settings.ocr_header_fraction
        self._text_height = settings.ocr_det_text_height
        self._header_scale = settings.ocr_header_scale
        if settings.ocr_header_merge not in MERGES:
            raise ConfigError(f"OCR_HEADER_MERGE must be one of {', '.join(MERGES)}, got {settings.ocr_header_merge!r}")
        self._header_merge = settings.ocr_header_merge
        self._missing = self._missing_letters()
        log.info("OCR engine hybrid ready: %s; %s", self.options, self._second_description())

    def _missing_letters(self) -> frozenset[str]:
        """Vietnamese letters absent from the loaded PP-OCR recogniser's dictionary."""
        try:
            chars = set(self._ocr._load_rec_model().postprocess_op.character)
        except Exception:  # private layout changed: fall back to the measured set
            return PP_OCRV6_MISSING_LETTERS
        return frozenset(c for c in VIETNAMESE_DIACRITIC_LETTERS if c not in chars)

    def _second_description(self) -> str:
        parts = []
        for name in self.options.readers:
            if name == "aster":
                parts.append(self._aster.describe())
            else:
                parts.append(f"Tesseract {self.options.lang} ({self._reader.describe()})")
        return " + ".join(parts) or "none"

    def describe(self) -> dict:
        out = self._rapid.describe()
        out.update(
            engine=self.name,
            recognition_model=f"{out.get('recognition_model')} + {self._second_description()}",
            fusion=self.options.fusion,
        )
        return out

    # -- stages ----------------------------------------------------------

    def _detect(self, image: np.ndarray, scale: float | None = None):
        """PP-OCR boxes in image pixels ``(N, 4, 2)``, the line crops (cut from the
        image as RapidOCR's preprocess sized it) and the detector's resize factor
        relative to ``image``, within the input budget of :mod:`app.ocr.geometry`
        (raises PayloadTooLarge). ``scale``: the detector's resize factor wanted
        (the header pass), instead of the ``TEXT_DET_LIMIT_SIDE_LEN`` rule.

        With ``OCR_DET_TEXT_HEIGHT`` > 0 and no ``scale``, a probe pass at
        :data:`~app.ocr.geometry.PROBE_FACTOR` of the rule's scale measures the text height first,
        and its boxes stand when the text is tall enough there
        (:func:`app.ocr.geometry.text_height_scale`); otherwise the page is
        detected again at the scale the text needs, at most the rule's."""
        if scale is not None or self._text_height <= 0:
            return self._detect_once(image, scale)
        return sized_detection(lambda s: self._detect_once(image, s), lambda found: (box_heights(found[0]), found[2]),
                               self._ocr, *image.shape[:2], self._rapid.limits,
                               min_side_len=self._rapid.det_limit_side_len, target=self._text_height)

    def _detect_once(self, image: np.ndarray, scale: float | None):
        """One detector pass (see :meth:`_detect`); ``scale`` as ``detector_budget``'s."""
        from rapidocr.main import RapidOCRError
        from rapidocr.utils.process_img import map_boxes_to_original

        height, width = image.shape[:2]
        with detector_budget(self._ocr, height, width, self._rapid.limits,
                             min_side_len=self._rapid.det_limit_side_len, scale=scale) as (_, det_scale):
            resized, record = self._ocr.preprocess_img(image)
            try:
                crops, det = self._ocr.detect_and_crop(resized, record)
            except RapidOCRError:  # nothing detected
                crops, det = [], None
        if not crops:
            return np.zeros((0, 4, 2), np.float32), [], det_scale
        keep = select_lines(crops, self._rapid.limits)
        if not keep:
            return np.zeros((0, 4, 2), np.float32), [], det_scale
        crops = [crops[i] for i in keep]
        det_boxes = np.asarray(det.boxes, dtype=np.float32)[keep]
        boxes = map_boxes_to_original(det_boxes, record, height, width)
        return np.asarray(boxes, dtype=np.float32).reshape(-1, 4, 2), list(crops), det_scale

    def _header_pass(self, image: np.ndarray, boxes: np.ndarray, crops: list, flips: list[bool],
                     page_scale: float):
        """Detect the page's header again at ``OCR_HEADER_SCALE`` times the first
        pass's resolution (``page_scale``: the first pass's detector resize
        factor) and merge the lines (:mod:`app.ocr.header`).

        Returns:
            ``(kept, new_boxes, new_crops, new_flips)``: indices of the first
            pass's lines kept, and the header pass's lines added (``(M, 4, 2)``
            boxes in image pixels, crops, turn-180 flags); or None (the first
            pass's lines stand) when there is no header region, the region is
            refused by the geometry checks, nothing is found in it, or the
            merged lines would exceed ``OCR_MAX_TEXT_COLUMNS`` (the second pass
            never makes a page cost more than the budget, nor refuses a page the
            first pass read).
        """
        from app.errors import UnprocessableImage

        height, width = image.shape[:2]
        turn = page_turn(boxes, bool(flips) and sum(flips) * 2 > len(flips))
        region = header_region(boxes, width, height, turn, fraction=self._header_fraction)
        if region is None:
            return None
        limits = self._rapid.limits
        try:
            check_geometry(region.height, region.width, limits)
        except UnprocessableImage:
            return None
        band = np.ascontiguousarray(image[region.y0:region.y1, region.x0:region.x1])
        pre_h = library_preprocess_size(region.height, region.width)[0]
        try:
            b_boxes, b_crops, _ = self._detect(band, scale=self._header_scale * page_scale * region.height / pre_h)
        except PayloadTooLarge:
            return None
        if not b_crops:
            return None
        b_boxes = b_boxes + np.array([region.x0, region.y0], dtype=np.float32)
        whole = np.flatnonzero(inside_region(b_boxes, region, width, height))
        b_boxes, b_crops = b_boxes[whole], [b_crops[j] for j in whole]
        kept, added = merge_passes(boxes, b_boxes, self._header_merge)
        new_crops = [b_crops[j] for j in added]
        if sum(text_columns(c.shape) for c in [crops[i] for i in kept] + new_crops) > limits.max_text_columns:
            return None
        if self.options.orientation == "line":
            new_flips = self._upside_down(new_crops)
        else:  # the page's vote, as for the first pass's lines
            new_flips = [bool(flips[0]) if flips else False] * len(new_crops)
        return kept, b_boxes[added].reshape(-1, 4, 2), new_crops, new_flips

    def _upside_down(self, crops: list[np.ndarray]) -> list[bool]:
        """Per line: turn it 180 degrees? (orientation classifier, per line or by page vote)."""
        if not crops:
            return []
        _, cls = self._ocr.cls_and_rotate(crops)
        thresh = float(self._ocr.cfg.Cls.cls_thresh)
        per_line = [("180" in label and score > thresh) for label, score in cls.cls_res]
        if self.options.orientation == "line":
            return per_line
        vote = sum((1 if "180" in label else -1) * score for label, score in cls.cls_res)
        return [vote > 0] * len(crops)

    def _pp_read(self, crops: list[np.ndarray]) -> list[tuple[str, float]]:
        if not crops:
            return []
        rec = self._ocr.recognize_txt(crops)
        return [(unicodedata.normalize("NFC", str(t)).strip(), float(s)) for t, s in zip(rec.txts, rec.scores)]

    def _aster_read(self, crops: Sequence[np.ndarray], pp: Sequence[tuple[str, float]]) -> list[tuple[str, float]]:
        """AsterNet's reading of the upright crops in which PP-OCR read a letter (others: empty)."""
        wanted = [i for i, (text, _) in enumerate(pp) if any(ch.isalpha() for ch in text)]
        out: list[tuple[str, float]] = [("", 0.0)] * len(pp)
        for i, got in zip(wanted, self._aster.read([crops[i] for i in wanted])):
            out[i] = got
        return out

    def _second_read(self, pp, upright_crops, tess_images) -> list[list[tuple[str, float]]]:
        """Per second recogniser (in ``options.readers`` order): its readings, one per line."""
        out = []
        for name in self.options.readers:
            if name == "aster":
                out.append(self._aster_read(upright_crops, pp))
            else:
                out.append(self._reader.read(tess_images()))
        return out

    def _combine(self, pp: tuple[str, float], others: Sequence[tuple[str, float]]) -> tuple[str, float]:
        return combine(pp, others, self.options, self._missing)

    # -- public ----------------------------------------------------------

    def recognize(self, image: np.ndarray) -> OcrResult:
        """See :meth:`OcrEngine.recognize`. ``detection_ms`` is PP-OCR's detector
        (with the header pass, ``OCR_HEADER_FRACTION`` > 0, on Vietnamese
        pages: its detection and PP-OCR's reading of the lines it adds);
        ``recognition_ms`` covers orientation, PP-OCR and the second
        recogniser(s) and fusion.

        Raises:
            ImageTooSmall, UnsupportedGeometry: the image's shape is refused
                (:func:`app.ocr.geometry.check_geometry`, 422).
            PayloadTooLarge: more text than ``OCR_MAX_TEXT_COLUMNS`` (413).
            OcrEngineError: an engine failed on an image within the limits.
        """
        import cv2

        height, width = image.shape[:2]
        check_geometry(height, width, self._rapid.limits)
        try:
            t0 = time.perf_counter()
            with self._lock:
                boxes, crops, page_scale = self._detect(image)
                t1 = time.perf_counter()
                flips = self._upside_down(crops)
                pp_crops = [np.ascontiguousarray(np.rot90(c, 2)) if f else c for c, f in zip(crops, flips)]
                pp = self._pp_read(pp_crops)
                vietnamese = looks_vietnamese([text for text, _ in pp])
                header_s = 0.0
                if self._header_fraction > 0 and vietnamese and len(boxes):
                    # Only on Vietnamese pages, where it was measured (docs/measurements.md).
                    th = time.perf_counter()
                    merged = self._header_pass(image, boxes, crops, flips, page_scale)
                    if merged is not None:
                        kept, new_boxes, new_crops, new_flips = merged
                        new_pp_crops = [np.ascontiguousarray(np.rot90(c, 2)) if f else c
                                        for c, f in zip(new_crops, new_flips)]
                        boxes = np.concatenate([boxes[kept], new_boxes]).astype(np.float32).reshape(-1, 4, 2)
                        flips = [flips[i] for i in kept] + new_flips
                        pp_crops = [pp_crops[i] for i in kept] + new_pp_crops
                        pp = [pp[i] for i in kept] + self._pp_read(new_pp_crops)
                    header_s = time.perf_counter() - th
            if self.options.fusion == "ppocr" or not vietnamese:
                # Not a Vietnamese page: a Vietnamese recogniser would only add marks to
                # English/Malay words (measured on SROIE), so keep PP-OCR's reading.
                second: list[list[tuple[str, float]]] = []
            else:
                gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
                second = self._second_read(
                    pp, pp_crops, lambda: [line_image(gray, b, self.options, f) for b, f in zip(boxes, flips)]
                )
            lines = []
            for i, (box, p) in enumerate(zip(boxes, pp)):
                if p[1] < self._rec_threshold:  # same line set as OCR_ENGINE=rapidocr
                    continue
                text, conf = self._combine(p, [r[i] for r in second])
                text = unicodedata.normalize("NFC", text).strip()
                if not text:
                    continue
                quad = tuple((float(x), float(y)) for x, y in box)
                lines.append(TextLine(text=text, confidence=float(conf), box=quad))
            t2 = time.perf_counter()
        except (EngineUnavailable, OcrEngineError, PayloadTooLarge):
            raise
        except Exception as e:
            raise OcrEngineError(f"Hybrid OCR failed: {type(e).__name__}") from e
        turn = page_turn(boxes, bool(flips) and sum(flips) * 2 > len(flips))
        return OcrResult(
            lines=tuple(turned_reading_order(lines, width, height, turn)),
            width=int(width),
            height=int(height),
            detection_ms=(t1 - t0 + header_s) * 1000.0,
            recognition_ms=(t2 - t1 - header_s) * 1000.0,
            engine=self.name,
            orientation=turn,
        )

    def recognize_crops(self, crops: Sequence[np.ndarray]) -> list[tuple[str, float]]:
        """Recognition only: read already cut, upright line images (no detection).

        Args:
            crops: ``(h, w, 3)`` uint8 BGR line images.

        Returns:
            ``(text, confidence)`` per crop, in order.
        """
        import cv2

        crops = [np.ascontiguousarray(c) for c in crops]
        with self._lock:
            pp = self._pp_read(crops)
        if self.options.fusion == "ppocr":
            return pp

        def tess_images():
            images = []
            for c in crops:
                h, w = c.shape[:2]
                quad = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
                images.append(line_image(cv2.cvtColor(c, cv2.COLOR_BGR2GRAY), quad, self.options))
            return images

        second = self._second_read(pp, crops, tess_images)
        return [self._combine(p, [r[i] for r in second]) for i, p in enumerate(pp)]


def check_hybrid(recogniser: str = "aster") -> list[Requirement]:
    """The hybrid engine: RapidOCR's bundled models plus its second recogniser:
    AsterNet's model files in the ``asterocr`` wheel, and/or (``tesseract``) the
    tesseract binary and its ``vie`` traineddata (:func:`app.ocr.tesseract.check_tesseract`)."""
    from app.ocr.rapid import check_rapidocr

    reqs = check_rapidocr()
    if "aster" in recogniser:
        from app.errors import EngineUnavailable
        from app.ocr.aster import INSTALL_HINT, MODEL_FILE, VOCAB_FILE, asset_dir

        try:
            folder = asset_dir()
        except EngineUnavailable:
            folder = None
        for name in (MODEL_FILE, VOCAB_FILE):
            path = folder / name if folder else None
            ok = path is not None and path.is_file()
            reqs.append(Requirement(f"AsterNet {name}", ok, str(path) if ok else "asterocr not installed or file missing",
                                    INSTALL_HINT))
    if "tesseract" in recogniser:
        reqs += check_tesseract()
    return reqs


@register_check("hybrid", "OCR engine hybrid")
def _check(context: CheckContext) -> list[Requirement]:
    return check_hybrid(context.settings.ocr_recogniser)
