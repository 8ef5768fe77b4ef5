"""The recogniser trainer (tools/train_recogniser.py, tools/recogniser/aster_torch.py):
AsterNet's ONNX graph converted to PyTorch and back, cut in two, and a few
training steps end to end. Needs the training extras (requirements-train.txt:
torch, onnx, onnx2torch) and the asterocr wheel; skipped without them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch", reason="training extras not installed: pip install -r requirements-train.txt")
pytest.importorskip("onnx", reason="training extras not installed: pip install -r requirements-train.txt")
pytest.importorskip("onnxruntime", reason="onnxruntime is a runtime dependency (requirements.txt)")

import torch  # noqa: E402

from tools.recogniser import aster_torch  # noqa: E402

try:
    aster_torch._torchvision_placeholder()
    import onnx2torch  # noqa: F401
except ImportError:  # pragma: no cover - depends on the environment
    pytest.skip("onnx2torch not installed: pip install --no-deps onnx2torch==1.5.15", allow_module_level=True)


def _model_path() -> Path:
    from app.errors import EngineUnavailable
    from app.ocr.aster import MODEL_FILE, asset_dir

    try:
        path = asset_dir() / MODEL_FILE
    except EngineUnavailable as e:
        pytest.skip(str(e))
    if not path.is_file():
        pytest.skip(f"AsterNet model missing at {path}")
    return path


@pytest.fixture(scope="module")
def converted():
    torch.set_num_threads(1)
    return aster_torch.load_trainable(_model_path())


def _session(path: Path):
    import onnxruntime as ort

    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def test_converted_module_reproduces_onnxruntime(converted):
    net, _ = converted
    x = np.random.default_rng(0).random((2, 3, 32, 96), dtype=np.float32)
    ref = _session(_model_path()).run(None, {"images": x})[0]
    with torch.no_grad():
        out = net(torch.from_numpy(x)).numpy()
    assert out.shape == ref.shape == (24, 2, 227)
    assert np.abs(out - ref).max() < 1e-3
    # Every weight of the graph is trainable except the fixed position table.
    assert sum(p.numel() for p in net.parameters()) > 10_000_000


def test_split_halves_compose_to_the_whole(converted):
    net, _ = converted
    prefix, suffix = aster_torch.split(net, "backbone")
    x = torch.rand(1, 3, 32, 64)
    with torch.no_grad():
        features = prefix(x)
        assert features.shape == (16, 1, 512)
        assert torch.allclose(suffix(features), net(x), atol=1e-5)
    suffix_params = {id(p) for p in aster_torch.graph_parameters(suffix)}
    prefix_params = {id(p) for p in aster_torch.graph_parameters(prefix)}
    assert suffix_params and prefix_params and not suffix_params & prefix_params


def test_write_back_puts_trained_weights_into_the_onnx_graph(converted, tmp_path):
    import copy

    net, original = converted
    net = copy.deepcopy(net)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.01 * torch.randn_like(p))
    out = tmp_path / "changed.onnx"
    info = aster_torch.write_back(net, original, out)
    assert info["initializers"] >= 100
    x = np.random.default_rng(1).random((1, 3, 32, 80), dtype=np.float32)
    with torch.no_grad():
        expected = net(torch.from_numpy(x)).numpy()
    got = _session(out).run(None, {"images": x})[0]
    before = _session(_model_path()).run(None, {"images": x})[0]
    assert np.abs(got - expected).max() < 1e-3 < np.abs(before - expected).max()


@pytest.mark.skipif(not Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf").is_file(),
                    reason="fonts-dejavu-core is not installed (./run.sh test installs it as root)")
def test_trainer_runs_a_few_steps_and_writes_model_log_and_summary(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("train_recogniser", Path(__file__).parents[2] / "tools" / "train_recogniser.py")
    trainer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(trainer)
    from tools.recogniser.dataset import MCOCR

    out = tmp_path / "run"
    val = ["--val", "mcocr", "--val-limit", "1"] if (MCOCR / "labels").is_dir() else ["--val", "none"]
    assert trainer.main(["--out", str(out), "--train-lines", "8", "--max-steps", "2", "--batch-size", "4",
                         "--seed", "3", *val]) == 0
    rows = [json.loads(x) for x in (out / "log.jsonl").read_text().splitlines()]
    assert rows[0]["step"] == 0 and rows[-1]["step"] == 2 and rows[-1]["loss"] > 0
    if val[1] == "mcocr":  # validation on the held-out real crops, both halves, every checkpoint
        assert all(0 <= r["select_cer"] and r["select_lines"] > 0 and r["report_lines"] > 0 for r in rows)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps"] == 2 and summary["conversion_max_diff"] < 1e-3
    x = np.ones((1, 3, 32, 64), dtype=np.float32)
    assert _session(out / "asternet-ft.onnx").run(None, {"images": x})[0].shape == (16, 1, 227)
    assert (out / "vocab.json").is_file()
