"""int8 copies of the OCR models: static QDQ quantisation from committed calibration ranges.

The service's OCR time is ONNX Runtime's (docs/measurements.md, "Where a request's
time goes"). Modern x86 CPUs run int8 convolutions and matrix products several
times faster than float32 (AVX-512 VNNI, AVX-VNNI), so with ``OCR_INT8`` the
engines load int8 copies of the chosen models instead of the float32 originals:

- ``det``: PP-OCRv6 small text detection (rapidocr wheel),
- ``rec``: PP-OCRv6 small text recognition (rapidocr wheel),
- ``aster``: AsterNet, the Vietnamese line recogniser (asterocr wheel).

How a copy is made (ONNX Runtime's static quantisation, "Quantize ONNX models",
onnxruntime.ai/docs/performance/model-optimizations/quantization.html):

1. the graph is raised to opset 13 (``onnx.version_converter``): the wheels'
   opset-11 graphs cannot hold per-channel ``DequantizeLinear``;
2. ``quant_pre_process`` (shape inference and graph optimisation);
3. ``quantize_static`` in QDQ format, weights signed int8 per output channel,
   activations unsigned int8 per tensor, with the activation ranges read from
   ``app/ocr/calibration/<model stem>.json`` (made by ``tools/calibrate_ocr.py``
   from the float32 engine's own inputs on the tune halves of MC-OCR and SROIE),
   so no calibration data is needed where the service runs.

Dynamic quantisation is not offered: it was 3-5 times *slower* on every one of
these models (``ConvInteger``; measured in docs/measurements.md). The copies are
cached in ``OCR_INT8_DIR`` under a name holding a hash of the original model, the
ranges and the onnx / onnxruntime versions, so a changed wheel or new ranges make
a new copy, and building needs the ``onnx`` package (Apache-2.0). The copies are
derived from the Apache-2.0 originals and carry their licence.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import threading
from pathlib import Path

from app.errors import EngineUnavailable

log = logging.getLogger(__name__)

CALIBRATION_DIR = Path(__file__).resolve().parent / "calibration"
#: Opset the copies are raised to (the first with per-channel ``DequantizeLinear``).
QDQ_OPSET = 13
#: Bumped when the way a copy is made changes, so that old copies are not reused.
RECIPE = 1

_build_lock = threading.Lock()


def calibration_file(model: Path) -> Path:
    """The committed activation ranges of ``model``: ``app/ocr/calibration/<stem>.json``."""
    return CALIBRATION_DIR / f"{Path(model).stem}.json"


def _versions() -> str:
    import onnx
    import onnxruntime

    return f"onnx {onnx.__version__} onnxruntime {onnxruntime.__version__} recipe {RECIPE}"


def copy_name(model: Path, ranges: Path) -> str:
    """File name of the int8 copy of ``model`` made with ``ranges``:
    ``<stem>.int8-<12 hex>.onnx``, the hex a SHA-256 over the model's bytes, the
    ranges' bytes and the onnx / onnxruntime versions.

    Raises:
        EngineUnavailable: ``onnx`` or ``onnxruntime`` is not installed.
    """
    digest = hashlib.sha256()
    for path in (model, ranges):
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    try:
        digest.update(_versions().encode())
    except ImportError as e:
        raise EngineUnavailable(f"OCR_INT8 needs the 'onnx' and 'onnxruntime' packages: {e}") from e
    return f"{Path(model).stem}.int8-{digest.hexdigest()[:12]}.onnx"


def int8_model(model: Path, cache_dir: Path, ranges: Path | None = None) -> Path:
    """Path of the int8 copy of ``model``, made now if ``cache_dir`` does not hold it yet.

    Args:
        model: a float32 ONNX model.
        cache_dir: folder of the copies (``OCR_INT8_DIR``); created if missing.
        ranges: activation ranges (default :func:`calibration_file`).

    Returns:
        ``cache_dir / copy_name(model, ranges)``.

    Raises:
        EngineUnavailable: the model or its calibration ranges are missing, ``onnx``
            is not installed, the folder is not writable, or quantisation fails;
            the message names what to do.
    """
    model = Path(model)
    ranges = Path(ranges) if ranges is not None else calibration_file(model)
    if not model.is_file():
        raise EngineUnavailable(f"OCR_INT8: model {model} is missing")
    if not ranges.is_file():
        raise EngineUnavailable(
            f"OCR_INT8: no calibration ranges for {model.name} ({ranges}); make them with "
            "tools/calibrate_ocr.py or leave this model out of OCR_INT8")
    out = Path(cache_dir) / copy_name(model, ranges)
    if out.is_file():
        return out
    with _build_lock:
        if out.is_file():
            return out
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise EngineUnavailable(f"OCR_INT8_DIR {out.parent} is not writable: {e}") from e
        log.info("building the int8 copy of %s into %s (once)", model.name, out)
        try:
            _quantise(model, ranges, out)
        except EngineUnavailable:
            raise
        except Exception as e:  # onnx / onnxruntime tooling failure
            raise EngineUnavailable(f"OCR_INT8: quantising {model.name} failed: {type(e).__name__}: {e}") from e
    return out


def _raise_opset(model_in: Path, model_out: Path) -> None:
    """``model_in`` raised to :data:`QDQ_OPSET` (if lower), written to ``model_out`` (its metadata
    is put back on the finished copy by :func:`_quantise`)."""
    import onnx
    from onnx import version_converter

    proto = onnx.load(str(model_in))
    opset = next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), QDQ_OPSET)
    if opset < QDQ_OPSET:
        proto = version_converter.convert_version(proto, QDQ_OPSET)
    onnx.save(proto, str(model_out))


def cached_method(ranges: Path) -> str:
    """Name of the calibration method (``MinMax``, ``Percentile``, ...) that made ``ranges``.

    Raises:
        EngineUnavailable: not an ONNX Runtime calibration cache.
    """
    try:
        value = json.loads(Path(ranges).read_text(encoding="utf-8"))["calibration_method"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise EngineUnavailable(f"OCR_INT8: {ranges} is not an ONNX Runtime calibration cache: {e}") from e
    return str(value["value"] if isinstance(value, dict) else value).split(".")[-1]


def _quantise(model: Path, ranges: Path, out: Path, reader=None, method: str | None = None) -> None:
    """Steps 1-3 of the module's recipe; the result written atomically to ``out``.

    With ``reader`` (an ``onnxruntime.quantization.CalibrationDataReader``) the ranges
    are first measured with ``method`` and written to ``ranges``
    (:func:`calibrate`); without, they are read from ``ranges``.
    """
    try:
        import onnx
        from onnxruntime.quantization import (
            CalibrationMethod,
            QuantFormat,
            QuantType,
            quantize_static,
        )
        from onnxruntime.quantization.shape_inference import quant_pre_process
    except ImportError as e:
        raise EngineUnavailable(
            f"OCR_INT8 needs the 'onnx' package to build its int8 copies: pip install -r requirements.txt ({e})"
        ) from e
    method = method or cached_method(ranges)
    with tempfile.TemporaryDirectory(prefix="int8-", dir=out.parent) as tmp:
        raised, prepared, quantised = (Path(tmp) / n for n in ("opset.onnx", "pre.onnx", "int8.onnx"))
        _raise_opset(model, raised)
        quant_pre_process(str(raised), str(prepared), skip_symbolic_shape=True)
        quantize_static(
            str(prepared), str(quantised), calibration_data_reader=reader,
            quant_format=QuantFormat.QDQ, per_channel=True,
            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod[method],
            calibration_cache_path=str(ranges),
            # One input at a time: the histogram methods cannot stack inputs of different
            # sizes (detector pages); min / max are the same either way.
            extra_options={"CalibStridedMinMax": 1} if reader is not None and method != "MinMax" else None,
        )
        # RapidOCR reads its alphabet from the model's metadata: carry it over.
        source, result = onnx.load(str(model)), onnx.load(str(quantised))
        have = {p.key for p in result.metadata_props}
        result.metadata_props.extend(p for p in source.metadata_props if p.key not in have)
        onnx.save(result, str(quantised))
        os.replace(quantised, out)


class _Feeds:
    """``CalibrationDataReader`` over a list of input dicts (name -> ndarray), with the
    ``set_range`` / ``len`` that ONNX Runtime's strided calibration calls."""

    def __init__(self, feeds):
        self._feeds = list(feeds)
        self.set_range(0, len(self._feeds))

    def __len__(self):
        return len(self._feeds)

    def set_range(self, start_index: int, end_index: int) -> None:
        self._it = iter(self._feeds[start_index:end_index])

    def get_next(self):
        return next(self._it, None)


def calibrate(model: Path, feeds, ranges: Path, method: str = "MinMax") -> Path:
    """Measure activation ranges of ``model`` on ``feeds`` and write them to ``ranges``.

    Args:
        model: the float32 ONNX model.
        feeds: iterable of ``{input name: ndarray}`` as the engine gives the model
            (``tools/calibrate_ocr.py`` records them from the float32 engine).
        ranges: the cache file to write (ONNX Runtime's JSON calibration cache);
            an existing file is replaced.
        method: ``MinMax`` or ``Percentile`` (``onnxruntime.quantization.CalibrationMethod``);
            the int8 copy made on the way is discarded.

    Returns:
        ``ranges``.

    Raises:
        EngineUnavailable: ``onnx`` missing or the tooling failed.
    """
    ranges = Path(ranges)
    if ranges.exists():
        ranges.unlink()
    with tempfile.TemporaryDirectory(prefix="int8-cal-") as tmp:
        from onnxruntime.quantization.calibrate import CalibrationDataReader

        class Reader(_Feeds, CalibrationDataReader):
            pass

        _quantise(Path(model), ranges, Path(tmp) / "copy.onnx", Reader(feeds), method)
    return ranges
