"""PaddleOCR 3.x engine (PaddlePaddle; the GPU production engine).

Loads official PaddleOCR *inference model* directories from ``weights/``
(``inference.json`` or ``inference.pdmodel``, ``inference.pdiparams``,
``inference.yml``) and never downloads: every model the pipeline builds is
given a local directory, and the optional pre-processing models (document
orientation, unwarping, text line orientation) are switched off unless a
directory is configured for them.

``paddle`` and ``paddleocr`` are imported only when this engine is built.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import unicodedata
from collections.abc import Mapping
from importlib import metadata

import numpy as np

from app.config import Settings
from app.domain import OcrResult, TextLine
from app.geometry import sort_reading_order
from app.errors import EngineUnavailable, OcrEngineError
from app.ocr.base import OcrEngine, register_engine
from app.ocr.geometry import OcrLimits, check_geometry
from app.ocr.paddle_models import check_paddleocr, paddle_gpu_requirement, paddle_model_plan
from app.requirements import describe_missing

logger = logging.getLogger(__name__)


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "unknown"


def _device(settings: Settings) -> str:
    """PaddleX device string: ``cpu`` or ``gpu:<id>``."""
    return "cpu" if settings.device_gpu < 0 else f"gpu:{settings.device_gpu}"


def _quad(points) -> tuple[tuple[float, float], ...]:
    """A detection polygon as 4 ``(x, y)`` float points, clockwise from top-left.

    PaddleOCR's general text detector returns ordered quadrilaterals; any other
    polygon is replaced by its axis-aligned bounding box.
    """
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if pts.shape[0] != 4:
        (x0, y0), (x1, y1) = pts.min(axis=0), pts.max(axis=0)
        pts = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
    return tuple((float(x), float(y)) for x, y in pts)


def _result_fields(result) -> Mapping:
    """The field mapping of one PaddleOCR result (a dict subclass in 3.x)."""
    if isinstance(result, Mapping):
        return result
    data = getattr(result, "json", None)
    if isinstance(data, Mapping):
        return data.get("res", data)
    raise TypeError(f"unexpected PaddleOCR result type {type(result).__name__}")


def lines_from_result(result) -> list[TextLine]:
    """Convert one PaddleOCR 3.x result into text lines (not yet sorted).

    Args:
        result: one item of ``PaddleOCR.predict(image)``; uses ``rec_polys``
            (``(N, 4, 2)`` pixels), ``rec_texts`` and ``rec_scores``.

    Returns:
        Lines with NFC-normalised text; blank texts are dropped.

    Raises:
        ValueError: the three lists have different lengths.
    """
    fields = _result_fields(result)
    polys = list(fields.get("rec_polys", []))
    texts = list(fields.get("rec_texts", []))
    scores = list(fields.get("rec_scores", []))
    if not len(polys) == len(texts) == len(scores):
        raise ValueError(f"rec_polys/rec_texts/rec_scores lengths differ: {len(polys)}/{len(texts)}/{len(scores)}")
    lines = []
    for poly, text, score in zip(polys, texts, scores):
        text = unicodedata.normalize("NFC", str(text)).strip()
        if not text:
            continue
        confidence = min(max(float(score), 0.0), 1.0)
        lines.append(TextLine(text=text, confidence=confidence, box=_quad(poly)))
    return lines


@register_engine("paddleocr")
class PaddleOcrEngine(OcrEngine):
    """PaddleOCR 3.x text detection + recognition on CPU or one GPU.

    Settings used: ``paddle_det_model_dir`` / ``paddle_rec_model_dir``
    (relative to ``weights_dir``), ``paddle_det_model_name`` /
    ``paddle_rec_model_name`` (default: ``Global.model_name`` of the
    directory's ``inference.yml``, else the directory name),
    ``text_det_conf_threshold`` (-> ``text_det_box_thresh``),
    ``text_rec_conf_threshold`` (-> ``text_rec_score_thresh``),
    ``device_gpu`` (-1 -> ``cpu``, n -> ``gpu:n``), ``ocr_threads`` (CPU
    threads; 0 keeps PaddleOCR's default).

    Timings: PaddleOCR 3 runs detection and recognition inside one
    ``predict`` call and reports no per-stage times. The engine measures that
    whole call (wall time, milliseconds) and reports it as ``detection_ms``,
    with ``recognition_ms = 0.0``; ``total_ms`` is exact, the split is not.
    ``describe()["timing"]`` says so.

    Thread safety: Paddle predictors are not thread-safe, so calls are
    serialised with a lock; run more worker processes for throughput.
    """

    name = "paddleocr"
    timing_note = "detection_ms is the whole PaddleOCR predict call (detection + recognition); recognition_ms is 0"

    def __init__(self, settings: Settings):
        """Check requirements, then load the models.

        Raises:
            EngineUnavailable: a package, a model directory or the requested
                GPU is missing, or PaddleOCR cannot load the models; the
                message says what is missing and how to provide it.
        """
        self.device = _device(settings)
        self._lock = threading.Lock()
        self.limits = OcrLimits.from_settings(settings)

        reqs = check_paddleocr(settings, probe_gpu=False)
        problems = describe_missing(reqs)
        if problems:
            raise EngineUnavailable(f"PaddleOCR engine is not available: {problems}")
        self._models = paddle_model_plan(settings)

        # Fail fast instead of probing model hosters should anything still try
        # to download (nothing should: every model has a local directory).
        os.environ.setdefault("PADDLE_PDX_DISABLE_MODEL_SOURCE_CHECK", "True")
        try:
            import paddle
        except Exception as e:  # ImportError, or OSError for a missing CUDA/cuDNN library
            raise EngineUnavailable(
                f"PaddleOCR engine is not available: `import paddle` failed ({type(e).__name__}: {e}); "
                "reinstall paddlepaddle (CPU) or paddlepaddle-gpu matching your CUDA version "
                "(https://www.paddlepaddle.org.cn/install/quick), or set DEVICE_GPU=-1"
            ) from e

        self.gpu_count = 0
        if settings.device_gpu >= 0:
            gpu = paddle_gpu_requirement(settings.device_gpu, paddle)
            if not gpu.present:
                raise EngineUnavailable(f"PaddleOCR engine cannot use {self.device}: {gpu.detail} -> {gpu.how_to_get}")
            self.gpu_count = int(paddle.device.cuda.device_count())
        else:
            try:
                if paddle.device.is_compiled_with_cuda():
                    self.gpu_count = int(paddle.device.cuda.device_count())
            except Exception:  # informational only
                self.gpu_count = 0

        try:
            from paddleocr import PaddleOCR
        except Exception as e:
            raise EngineUnavailable(
                f"PaddleOCR engine is not available: `from paddleocr import PaddleOCR` failed "
                f"({type(e).__name__}: {e}); pip install paddleocr (3.x)"
            ) from e

        self.init_kwargs = self._build_kwargs(settings)
        logger.info(
            "PaddleOCR %s / paddle %s: device=%s, visible GPUs=%d, models=%s",
            _version("paddleocr"),
            getattr(paddle, "__version__", "unknown"),
            self.device,
            self.gpu_count,
            ", ".join(f"{role}={m['name']} ({m['dir']})" for role, m in self._models.items()),
        )
        try:
            self._ocr = PaddleOCR(**self.init_kwargs)
        except Exception as e:
            raise EngineUnavailable(
                f"PaddleOCR could not load the models ({type(e).__name__}: {str(e).strip()}); check that "
                + ", ".join(f"{m['dir']} holds the official {m['name']} inference model" for m in self._models.values())
            ) from e

    def _build_kwargs(self, settings: Settings) -> dict:
        """Keyword arguments for ``paddleocr.PaddleOCR`` (3.x names)."""
        kwargs: dict = {
            "use_doc_orientation_classify": False,
            "use_doc_unwarping": False,
            "use_textline_orientation": False,
        }
        for role, model in self._models.items():
            kwargs[f"{role}_model_dir"] = str(model["dir"])
            kwargs[f"{role}_model_name"] = model["name"]
            if role in ("doc_orientation_classify", "doc_unwarping", "textline_orientation"):
                kwargs[f"use_{role}"] = True
        kwargs["text_det_box_thresh"] = float(settings.text_det_conf_threshold)
        kwargs["text_rec_score_thresh"] = float(settings.text_rec_conf_threshold)
        kwargs["device"] = self.device
        if settings.device_gpu < 0 and settings.ocr_threads > 0:
            kwargs["cpu_threads"] = int(settings.ocr_threads)
        return kwargs

    def recognize(self, image: np.ndarray) -> OcrResult:
        """Detect and recognise text lines.

        Args:
            image: ``(H, W, 3)`` uint8 BGR image.

        Returns:
            OcrResult with lines in reading order; ``detection_ms`` is the
            whole predict call and ``recognition_ms`` is 0 (see class docs).

        Raises:
            ImageTooSmall, UnsupportedGeometry: see
                :func:`app.ocr.geometry.check_geometry` (422).
            OcrEngineError: the image is not ``(H, W, 3)`` uint8, or PaddleOCR
                failed on it.
        """
        if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            shape = getattr(image, "shape", None)
            dtype = getattr(image, "dtype", type(image).__name__)
            raise OcrEngineError(f"PaddleOCR needs an (H, W, 3) uint8 BGR image, got shape {shape} dtype {dtype}")
        height, width = int(image.shape[0]), int(image.shape[1])
        if height == 0 or width == 0:
            raise OcrEngineError("PaddleOCR got an empty image")
        # The same shapes are refused as by the RapidOCR engines (422), before PaddleOCR's resize.
        check_geometry(height, width, getattr(self, "limits", None) or OcrLimits())
        with self._lock:
            start = time.perf_counter()
            try:
                results = self._ocr.predict(np.ascontiguousarray(image))
                elapsed_ms = (time.perf_counter() - start) * 1000.0
                lines = [line for result in results for line in lines_from_result(result)]
            except Exception as e:
                logger.warning("PaddleOCR predict failed on a %dx%d image: %r", width, height, e)
                raise OcrEngineError(f"PaddleOCR failed on the image ({type(e).__name__})") from e
        return OcrResult(
            lines=tuple(sort_reading_order(lines)),
            width=width,
            height=height,
            detection_ms=elapsed_ms,
            recognition_ms=0.0,
            engine=self.name,
        )

    def describe(self) -> dict:
        """Engine, device, visible GPUs, model directories and names, versions."""
        return {
            "engine": self.name,
            "device": self.device,
            "gpu_count": self.gpu_count,
            "models": {role: {"dir": str(m["dir"]), "name": m["name"]} for role, m in self._models.items()},
            "det_model_dir": str(self._models["text_detection"]["dir"]),
            "det_model_name": self._models["text_detection"]["name"],
            "rec_model_dir": str(self._models["text_recognition"]["dir"]),
            "rec_model_name": self._models["text_recognition"]["name"],
            "paddleocr_version": _version("paddleocr"),
            "timing": self.timing_note,
        }
