"""Default OCR engine: RapidOCR (PP-OCR models on ONNX Runtime).

The rapidocr wheel ships PP-OCRv6 small text detection and recognition models
and the PP-OCR mobile v2.0 orientation classifier (Apache-2.0, see the wheel's
MODEL_LICENSES.md). The engine points RapidOCR at those files explicitly and
refuses to start if they are missing, so it never downloads anything.
"""

from __future__ import annotations

import logging
import threading
import time
import unicodedata
from pathlib import Path

import numpy as np

from app.config import Settings
from app.domain import OcrResult, TextLine
from app.geometry import sort_reading_order
from app.errors import EngineUnavailable, OcrEngineError, PayloadTooLarge
from app.ocr.base import OcrEngine, register_engine
from app.ocr.geometry import (
    OcrLimits,
    box_heights,
    check_geometry,
    detector_budget,
    library_preprocess_size,
    select_lines,
    sized_detection,
)
from app.requirements import CheckContext, Requirement, module_dir, package_requirement, register_check

log = logging.getLogger(__name__)

DET_MODEL = "PP-OCRv6_det_small.onnx"
REC_MODEL = "PP-OCRv6_rec_small.onnx"
CLS_MODEL = "ch_ppocr_mobile_v2.0_cls_mobile.onnx"


def bundled_model_paths() -> dict[str, Path]:
    """Paths of the ONNX models inside the installed rapidocr wheel.

    Raises:
        EngineUnavailable: rapidocr is not installed.
    """
    try:
        import rapidocr
    except ImportError as e:
        raise EngineUnavailable(
            "OCR_ENGINE=rapidocr needs the 'rapidocr' and 'onnxruntime' packages: pip install -r requirements.txt"
        ) from e
    models = Path(rapidocr.__file__).resolve().parent / "models"
    return {"det": models / DET_MODEL, "rec": models / REC_MODEL, "cls": models / CLS_MODEL}


@register_engine("rapidocr")
class RapidOcrEngine(OcrEngine):
    """PP-OCRv6 text detection + recognition through RapidOCR 3.x.

    Args:
        settings: uses ``text_det_conf_threshold`` (DB box score threshold,
            RapidOCR's ``Det.box_thresh``), ``text_det_thresh`` (DB pixel
            threshold, ``Det.thresh``), ``text_det_unclip_ratio`` (how far
            each detected box is grown, ``Det.unclip_ratio``),
            ``text_det_limit_side_len`` (the detector's input short side,
            pixels, within the budget of :mod:`app.ocr.geometry`),
            ``text_rec_conf_threshold`` (lines below it are dropped) and
            ``ocr_threads`` (ONNX Runtime intra-op threads, 0 = library default).

    Raises:
        EngineUnavailable: package or bundled model files missing.
    """

    name = "rapidocr"

    def __init__(self, settings: Settings):
        paths = bundled_model_paths()
        missing = [str(p) for p in paths.values() if not p.is_file()]
        if missing:
            raise EngineUnavailable(
                "RapidOCR model files missing from the installed wheel: "
                + ", ".join(missing)
                + ". Reinstall with: pip install --force-reinstall rapidocr==3.10.0"
            )
        if settings.ocr_int8 & {"det", "rec"}:
            from app.ocr.int8 import int8_model

            paths = dict(paths)
            for kind in ("det", "rec"):
                if kind in settings.ocr_int8:
                    paths[kind] = int8_model(paths[kind], settings.ocr_int8_dir)
        from rapidocr import RapidOCR

        threads = settings.ocr_threads or -1
        params = {
            "Global.log_level": "warning",
            "Global.text_score": settings.text_rec_conf_threshold,
            "Det.model_path": str(paths["det"]),
            "Det.box_thresh": settings.text_det_conf_threshold,
            "Det.thresh": settings.text_det_thresh,
            "Det.unclip_ratio": settings.text_det_unclip_ratio,
            "Rec.model_path": str(paths["rec"]),
            "Cls.model_path": str(paths["cls"]),
            "EngineConfig.onnxruntime.intra_op_num_threads": threads,
        }
        try:
            self._ocr = RapidOCR(params=params)
        except Exception as e:  # third-party start-up failure
            raise EngineUnavailable(f"RapidOCR failed to start: {e}") from e
        self._paths = paths
        self.limits = OcrLimits.from_settings(settings)
        self.det_limit_side_len = settings.text_det_limit_side_len
        self.det_text_height = settings.ocr_det_text_height
        # RapidOCR mutates per-call parameters on the instance, so calls are serialised.
        self._lock = threading.Lock()
        log.info("OCR engine rapidocr ready: det=%s rec=%s", paths["det"].name, paths["rec"].name)

    def describe(self) -> dict:
        return {
            "engine": self.name,
            "device": "cpu",
            "detection_model": self._paths["det"].name,
            "recognition_model": self._paths["rec"].name,
        }

    def recognize(self, image: np.ndarray) -> OcrResult:
        """See :meth:`OcrEngine.recognize`. Orientation classification time is
        counted in ``recognition_ms``.

        RapidOCR's own steps, run one by one so that the input budget of
        :mod:`app.ocr.geometry` applies between them: the geometry check
        first, the detector's input capped, and the detected lines selected
        before recognition.

        Raises:
            ImageTooSmall, UnsupportedGeometry: see :func:`check_geometry` (422).
            PayloadTooLarge: more text than ``OCR_MAX_TEXT_COLUMNS`` (413).
            OcrEngineError: RapidOCR failed on an image within the limits.
        """
        height, width = image.shape[:2]
        check_geometry(height, width, self.limits)
        try:
            with self._lock:
                out = self._run(image)
        except PayloadTooLarge:
            raise
        except Exception as e:
            raise OcrEngineError(f"RapidOCR failed: {type(e).__name__}") from e
        if out is None:
            return OcrResult((), int(width), int(height), 0.0, 0.0, engine=self.name)
        elapse = list(getattr(out, "elapse_list", None) or []) + [None, None, None]
        det_s = elapse[0] or 0.0
        rec_s = (elapse[1] or 0.0) + (elapse[2] or 0.0)
        lines: list[TextLine] = []
        if getattr(out, "boxes", None) is not None and getattr(out, "txts", None) is not None:
            for box, text, score in zip(out.boxes, out.txts, out.scores):
                text = unicodedata.normalize("NFC", str(text)).strip()
                if not text:
                    continue
                quad = tuple((float(x), float(y)) for x, y in np.asarray(box).reshape(4, 2))
                lines.append(TextLine(text=text, confidence=float(score), box=quad))
        return OcrResult(
            lines=tuple(sort_reading_order(lines)),
            width=int(width),
            height=int(height),
            detection_ms=det_s * 1000.0,
            recognition_ms=rec_s * 1000.0,
            engine=self.name,
        )

    def _run(self, image: np.ndarray):
        """RapidOCR.__call__'s steps with the budget; None when nothing was detected."""
        from rapidocr.ch_ppocr_cls import TextClsOutput
        from rapidocr.ch_ppocr_rec import TextRecOutput
        from rapidocr.main import RapidOCRError

        ocr = self._ocr
        image = ocr.load_img(image)
        found = self._detect(image)
        if found is None:
            return None
        img, record, crops, det = found
        keep = select_lines(crops, self.limits)
        if not keep:
            return None
        crops = [crops[i] for i in keep]
        det.boxes = np.asarray(det.boxes)[keep]
        det.scores = [det.scores[i] for i in keep]
        try:
            cls_imgs, cls = ocr.cls_and_rotate(crops)
        except RapidOCRError:
            cls_imgs, cls = crops, TextClsOutput()
        try:
            rec = ocr.recognize_txt(cls_imgs)
        except RapidOCRError:
            rec = TextRecOutput()
        return ocr.build_final_output(image, det, cls, rec, crops, record)

    def _detect(self, image: np.ndarray):
        """``(preprocessed image, record, crops, detection)`` of RapidOCR's detector within
        the budget, or None when nothing was detected. With ``OCR_DET_TEXT_HEIGHT`` > 0 the
        page is first probed at :data:`~app.ocr.geometry.PROBE_FACTOR` of the rule's scale
        and detected again only when its text is too small there
        (:func:`app.ocr.geometry.text_height_scale`), as the hybrid engine does."""
        height, width = image.shape[:2]
        if self.det_text_height <= 0:
            return self._detect_once(image, None)[0]
        started = time.perf_counter()
        found = self._sized_detection(image, height, width)
        if found is not None:
            found[3].elapse = time.perf_counter() - started  # both passes in detection_ms
        return found

    def _sized_detection(self, image: np.ndarray, height: int, width: int):
        pre_h = library_preprocess_size(height, width)[0]

        def heights(result):  # boxes of RapidOCR's preprocessed image, in image pixels
            found, factor = result
            return (np.zeros(0) if found is None else box_heights(found[3].boxes) * height / pre_h), factor

        return sized_detection(lambda s: self._detect_once(image, s), heights, self._ocr, height, width, self.limits,
                               min_side_len=self.det_limit_side_len, target=self.det_text_height)[0]

    def _detect_once(self, image: np.ndarray, scale: float | None):
        """One detector pass: ``(found or None, the detector's factor relative to image)``."""
        from rapidocr.main import RapidOCRError

        ocr = self._ocr
        with detector_budget(ocr, image.shape[0], image.shape[1], self.limits, min_side_len=self.det_limit_side_len,
                             scale=scale) as (_, factor):
            img, record = ocr.preprocess_img(image)
            try:
                crops, det = ocr.detect_and_crop(img, record)
            except RapidOCRError:  # nothing detected
                return None, factor
        return (img, record, crops, det), factor


RAPIDOCR_MODEL_FILES = (
    "PP-OCRv6_det_small.onnx",
    "PP-OCRv6_rec_small.onnx",
    "ch_ppocr_mobile_v2.0_cls_mobile.onnx",
)


def check_rapidocr(package_dir: Path | None = None) -> list[Requirement]:
    """rapidocr and the ONNX models bundled in its wheel.

    Args:
        package_dir: rapidocr's package directory; found with ``find_spec``
            when None (tests pass a directory of their own).
    """
    how_pkg = "pip install rapidocr onnxruntime"
    if package_dir is None:
        reqs = [package_requirement("rapidocr", how_pkg)]
        if not reqs[0].present:
            return reqs
        package_dir = module_dir("rapidocr")
        if package_dir is None:
            return reqs + [Requirement("rapidocr models", False, "cannot locate the rapidocr package", how_pkg)]
    else:
        reqs = [Requirement("package rapidocr", package_dir.is_dir(), f"package directory {package_dir}", how_pkg)]
    models = Path(package_dir) / "models"
    for filename in RAPIDOCR_MODEL_FILES:
        path = models / filename
        present = path.is_file() and path.stat().st_size > 0
        reqs.append(
            Requirement(
                f"rapidocr model {filename}",
                present,
                f"{path} ({path.stat().st_size} bytes)" if present else f"{path} is missing or empty",
                "reinstall the wheel, which bundles it: pip install --force-reinstall --no-deps rapidocr",
            )
        )
    return reqs


@register_check("rapidocr", "OCR engine rapidocr")
def _check(context: CheckContext) -> list[Requirement]:
    return check_rapidocr()
