"""int8 copies of the OCR models (app/ocr/int8.py) on a tiny generated model, and OCR_INT8 parsing."""

from __future__ import annotations

import json

import numpy as np
import pytest

from app.config import ConfigError, Settings
from app.errors import EngineUnavailable

onnx = pytest.importorskip("onnx", reason="building int8 copies needs onnx (requirements.txt)")
ort = pytest.importorskip("onnxruntime")

from app.ocr import int8


def tiny_model(path, opset: int = 11):
    """Conv(1->4, 3x3) -> Relu -> Conv(4->2, 1x1) -> Sigmoid on (N, 1, H, W), opset 11 like the wheels',
    with a metadata entry as RapidOCR's recogniser carries its alphabet."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    w1 = numpy_helper.from_array(rng.normal(0, 0.5, (4, 1, 3, 3)).astype(np.float32), "w1")
    w2 = numpy_helper.from_array(rng.normal(0, 0.5, (2, 4, 1, 1)).astype(np.float32), "w2")
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        helper.make_node("Conv", ["r1", "w2"], ["c2"], name="conv2"),
        helper.make_node("Sigmoid", ["c2"], ["y"], name="sig"),
    ]
    graph = helper.make_graph(
        nodes, "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, "H", "W"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 2, "H", "W"])],
        [w1, w2],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 7
    helper.set_model_props(model, {"character": "abc"})
    onnx.save(model, str(path))
    return path


def feeds(n: int = 6, seed: int = 1):
    rng = np.random.default_rng(seed)
    # pages of different sizes, as the detector gets
    return [{"x": rng.random((1, 1, 8 + 4 * i, 12 + 2 * i), dtype=np.float32)} for i in range(n)]


def run(path, x):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x})[0]


@pytest.mark.parametrize("raw, kinds", [
    ("none", set()), ("", set()), ("all", {"det", "rec", "aster"}), ("det", {"det"}),
    (" det , aster ", {"det", "aster"}),
])
def test_ocr_int8_setting(raw, kinds):
    assert Settings.from_env({"OCR_INT8": raw}, dotenv=False).ocr_int8 == frozenset(kinds)


def test_ocr_int8_setting_rejects_unknown_models():
    with pytest.raises(ConfigError, match="OCR_INT8"):
        Settings.from_env({"OCR_INT8": "det,cls"}, dotenv=False)


def test_default_is_float32():
    assert Settings().ocr_int8 == frozenset()


def test_missing_ranges_say_how_to_make_them(tmp_path):
    model = tiny_model(tmp_path / "tiny.onnx")
    with pytest.raises(EngineUnavailable, match="calibrate_ocr"):
        int8.int8_model(model, tmp_path / "cache", ranges=tmp_path / "tiny.json")


def test_missing_model(tmp_path):
    with pytest.raises(EngineUnavailable, match="missing"):
        int8.int8_model(tmp_path / "nope.onnx", tmp_path / "cache", ranges=tmp_path / "nope.json")


@pytest.mark.parametrize("method", ["MinMax", "Percentile"])
def test_calibrate_then_build_a_copy(tmp_path, method):
    model = tiny_model(tmp_path / "tiny.onnx")
    ranges = int8.calibrate(model, feeds(), tmp_path / "tiny.json", method=method)
    assert int8.cached_method(ranges) == method
    copy = int8.int8_model(model, tmp_path / "cache", ranges=ranges)
    assert copy.parent == tmp_path / "cache" and copy.name.startswith("tiny.int8-")

    proto = onnx.load(str(copy))
    ops = [n.op_type for n in proto.graph.node]
    assert ops.count("QuantizeLinear") >= 2 and "DequantizeLinear" in ops
    assert any(o.domain in ("", "ai.onnx") and o.version >= int8.QDQ_OPSET for o in proto.opset_import)
    assert {p.key: p.value for p in proto.metadata_props}["character"] == "abc"

    x = feeds(1, seed=7)[0]["x"]
    want, got = run(model, x), run(copy, x)
    assert got.shape == want.shape
    assert not np.array_equal(got, want)  # it is quantised ...
    assert float(np.abs(got - want).max()) < 0.05  # ... and close (sigmoid outputs in [0, 1])


def test_copy_is_reused_and_renamed_when_the_ranges_change(tmp_path):
    model = tiny_model(tmp_path / "tiny.onnx")
    ranges = int8.calibrate(model, feeds(), tmp_path / "tiny.json")
    first = int8.int8_model(model, tmp_path / "cache", ranges=ranges)
    stamp = first.stat().st_mtime_ns
    assert int8.int8_model(model, tmp_path / "cache", ranges=ranges) == first
    assert first.stat().st_mtime_ns == stamp  # not rebuilt

    int8.calibrate(model, feeds(3, seed=5), ranges)
    second = int8.int8_model(model, tmp_path / "cache", ranges=ranges)
    assert second != first and second.is_file()


def test_not_a_calibration_cache(tmp_path):
    bad = tmp_path / "x.json"
    bad.write_text(json.dumps({"ranges": {}}))
    with pytest.raises(EngineUnavailable, match="calibration cache"):
        int8.cached_method(bad)


@pytest.mark.parametrize("stem", ["PP-OCRv6_det_small", "PP-OCRv6_rec_small", "asternet"])
def test_committed_ranges_load(stem):
    from onnxruntime.quantization.calibrate import load_tensors_data

    path = int8.CALIBRATION_DIR / f"{stem}.json"
    assert int8.cached_method(path) in ("MinMax", "Percentile")
    assert len(load_tensors_data(path).data) > 50
