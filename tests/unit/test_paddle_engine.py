"""PaddleOcrEngine with fake ``paddle`` / ``paddleocr`` modules (no Paddle install needed)."""

from __future__ import annotations

import sys
import threading
import time
import types
import unicodedata
from pathlib import Path

import numpy as np
import pytest

from app.config import Settings
from app.errors import EngineUnavailable, OcrEngineError
from app.ocr.base import create_engine
from app.ocr.paddle import PaddleOcrEngine, lines_from_result

# Keyword arguments accepted by paddleocr 3.7.0's PaddleOCR(...): its own
# parameters plus the common PaddleX arguments (paddleocr/_common_args.py).
PADDLEOCR_INIT_PARAMS = {
    "doc_orientation_classify_model_name", "doc_orientation_classify_model_dir",
    "doc_unwarping_model_name", "doc_unwarping_model_dir",
    "text_detection_model_name", "text_detection_model_dir",
    "textline_orientation_model_name", "textline_orientation_model_dir", "textline_orientation_batch_size",
    "text_recognition_model_name", "text_recognition_model_dir", "text_recognition_batch_size",
    "use_doc_orientation_classify", "use_doc_unwarping", "use_textline_orientation",
    "text_det_limit_side_len", "text_det_limit_type", "text_det_thresh", "text_det_box_thresh",
    "text_det_unclip_ratio", "text_det_input_shape", "text_rec_score_thresh", "return_word_box",
    "text_rec_input_shape", "lang", "ocr_version",
    "device", "engine", "engine_config", "enable_hpi", "use_tensorrt", "precision", "enable_mkldnn",
    "mkldnn_cache_capacity", "cpu_threads", "enable_cinn", "paddlex_config",
}


def quad(x, y, w=100, h=20):
    return np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], dtype=np.int16)


def make_model_dir(root: Path, dirname: str, model_name: str | None, files=("inference.json", "inference.pdiparams")):
    path = root / dirname
    path.mkdir(parents=True)
    for name in files:
        (path / name).write_bytes(b"x")
    yml = "Global:\n  model_name: %s\nPreProcess: {}\n" % model_name if model_name else "PreProcess: {}\n"
    (path / "inference.yml").write_text(yml, encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def _no_env_leak(monkeypatch):
    # The engine sets this PaddleX flag with setdefault; keep the test process clean.
    monkeypatch.setenv("PADDLE_PDX_DISABLE_MODEL_SOURCE_CHECK", "True")


@pytest.fixture
def weights(tmp_path) -> Path:
    root = tmp_path / "weights"
    make_model_dir(root, "PP-OCRv5_server_det", "PP-OCRv5_server_det")
    make_model_dir(root, "PP-OCRv5_server_rec", "PP-OCRv5_server_rec")
    return root


@pytest.fixture
def settings(weights) -> Settings:
    return Settings(ocr_engine="paddleocr", weights_dir=weights, text_det_conf_threshold=0.6, text_rec_conf_threshold=0.4)


class FakePaddleOCR:
    """Stands in for ``paddleocr.PaddleOCR``: records kwargs, returns canned results."""

    instances: list["FakePaddleOCR"] = []
    output: list = []
    error: Exception | None = None
    init_error: Exception | None = None
    delay = 0.0

    def __init__(self, **kwargs):
        if FakePaddleOCR.init_error is not None:
            raise FakePaddleOCR.init_error
        self.kwargs = kwargs
        self.calls: list[np.ndarray] = []
        self.in_flight = 0
        self.max_in_flight = 0
        FakePaddleOCR.instances.append(self)

    def predict(self, image):
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            self.calls.append(image)
            if self.delay:
                time.sleep(self.delay)
            if FakePaddleOCR.error is not None:
                raise FakePaddleOCR.error
            return list(FakePaddleOCR.output)
        finally:
            self.in_flight -= 1


@pytest.fixture
def fake_paddleocr(monkeypatch):
    FakePaddleOCR.instances = []
    FakePaddleOCR.output = []
    FakePaddleOCR.error = None
    FakePaddleOCR.init_error = None
    FakePaddleOCR.delay = 0.0
    module = types.ModuleType("paddleocr")
    module.PaddleOCR = FakePaddleOCR
    monkeypatch.setitem(sys.modules, "paddleocr", module)
    return FakePaddleOCR


@pytest.fixture
def fake_paddle(monkeypatch):
    """Install a fake ``paddle``; call it to set CUDA build / GPU count."""

    def install(cuda: bool = False, gpus: int = 0):
        module = types.ModuleType("paddle")
        module.__version__ = "0.0-fake"
        module.device = types.SimpleNamespace(
            is_compiled_with_cuda=lambda: cuda,
            cuda=types.SimpleNamespace(device_count=lambda: gpus),
        )
        monkeypatch.setitem(sys.modules, "paddle", module)
        return module

    install()
    return install


# --- start-up checks ---------------------------------------------------------------


def test_missing_paddleocr_package_says_pip_install(settings, fake_paddle, monkeypatch):
    monkeypatch.setitem(sys.modules, "paddleocr", None)  # blocks the import
    with pytest.raises(EngineUnavailable) as info:
        PaddleOcrEngine(settings)
    assert "pip install paddleocr" in info.value.message


def test_missing_paddle_package_says_how_to_install(settings, fake_paddleocr, monkeypatch):
    monkeypatch.setitem(sys.modules, "paddle", None)
    with pytest.raises(EngineUnavailable) as info:
        PaddleOcrEngine(settings.with_overrides(device_gpu=0))
    message = info.value.message
    assert "paddlepaddle-gpu" in message and "paddlepaddle.org.cn" in message
    assert not fake_paddleocr.instances


def test_missing_model_dir_names_the_dir(settings, fake_paddle, fake_paddleocr, tmp_path):
    missing = tmp_path / "nowhere" / "my_rec"
    with pytest.raises(EngineUnavailable) as info:
        PaddleOcrEngine(settings.with_overrides(paddle_rec_model_dir=str(missing)))
    message = info.value.message
    assert str(missing) in message
    assert "PADDLE_REC_MODEL_DIR" in message and "_infer.tar" in message
    assert not fake_paddleocr.instances


@pytest.mark.parametrize("absent", ["inference.pdiparams", "inference.yml", "inference.json"])
def test_incomplete_model_dir_names_the_file(settings, weights, fake_paddle, fake_paddleocr, absent):
    (weights / "PP-OCRv5_server_det" / absent).unlink()
    with pytest.raises(EngineUnavailable) as info:
        PaddleOcrEngine(settings)
    assert absent in info.value.message
    assert "PP-OCRv5_server_det" in info.value.message


def test_everything_missing_is_reported_at_once(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "paddleocr", None)
    monkeypatch.setitem(sys.modules, "paddle", None)
    with pytest.raises(EngineUnavailable) as info:
        PaddleOcrEngine(Settings(ocr_engine="paddleocr", weights_dir=tmp_path))
    message = info.value.message
    for needle in ("pip install paddleocr", "pip install paddlepaddle", "PP-OCRv5_server_det", "PP-OCRv5_server_rec"):
        assert needle in message


def test_model_name_setting_that_contradicts_inference_yml(settings, fake_paddle, fake_paddleocr):
    with pytest.raises(EngineUnavailable) as info:
        PaddleOcrEngine(settings.with_overrides(paddle_det_model_name="PP-OCRv5_mobile_det"))
    assert "PP-OCRv5_mobile_det" in info.value.message and "inference.yml" in info.value.message


def test_gpu_requested_with_cpu_only_paddle(settings, fake_paddle, fake_paddleocr):
    fake_paddle(cuda=False, gpus=0)
    with pytest.raises(EngineUnavailable) as info:
        PaddleOcrEngine(settings.with_overrides(device_gpu=0))
    message = info.value.message
    assert "gpu:0" in message and "CPU-only" in message
    assert "paddlepaddle-gpu" in message and "DEVICE_GPU=-1" in message
    assert not fake_paddleocr.instances


def test_gpu_requested_but_none_visible(settings, fake_paddle, fake_paddleocr):
    fake_paddle(cuda=True, gpus=0)
    with pytest.raises(EngineUnavailable) as info:
        PaddleOcrEngine(settings.with_overrides(device_gpu=0))
    assert "sees no GPU" in info.value.message and "driver" in info.value.message


def test_gpu_id_beyond_visible_count(settings, fake_paddle, fake_paddleocr):
    fake_paddle(cuda=True, gpus=1)
    with pytest.raises(EngineUnavailable) as info:
        PaddleOcrEngine(settings.with_overrides(device_gpu=3))
    assert "DEVICE_GPU=3" in info.value.message and "1 GPU" in info.value.message


def test_backend_failing_to_load_models_is_engine_unavailable(settings, fake_paddle, fake_paddleocr):
    fake_paddleocr.init_error = ValueError("Invalid model file")
    with pytest.raises(EngineUnavailable) as info:
        PaddleOcrEngine(settings)
    assert "Invalid model file" in info.value.message
    assert str(settings.weights_dir / "PP-OCRv5_server_det") in info.value.message
    assert isinstance(info.value.__cause__, ValueError)


# --- constructor arguments ------------------------------------------------------------


def test_constructor_kwargs_point_at_local_models_only(settings, weights, fake_paddle, fake_paddleocr):
    engine = PaddleOcrEngine(settings)
    kwargs = fake_paddleocr.instances[0].kwargs
    assert kwargs["text_detection_model_dir"] == str(weights / "PP-OCRv5_server_det")
    assert kwargs["text_recognition_model_dir"] == str(weights / "PP-OCRv5_server_rec")
    assert kwargs["text_detection_model_name"] == "PP-OCRv5_server_det"
    assert kwargs["text_recognition_model_name"] == "PP-OCRv5_server_rec"
    # the models that would be downloaded are switched off
    assert kwargs["use_doc_orientation_classify"] is False
    assert kwargs["use_doc_unwarping"] is False
    assert kwargs["use_textline_orientation"] is False
    assert kwargs["text_det_box_thresh"] == 0.6
    assert kwargs["text_rec_score_thresh"] == 0.4
    assert kwargs["device"] == "cpu"
    # only real PaddleOCR 3.x arguments; nothing that selects models to download
    assert set(kwargs) <= PADDLEOCR_INIT_PARAMS
    assert not {"lang", "ocr_version", "paddlex_config"} & set(kwargs)
    for key, value in kwargs.items():
        if key.endswith("_model_name"):
            assert kwargs[key.replace("_model_name", "_model_dir")]
        assert value is not None
    assert engine.init_kwargs == kwargs


def test_model_names_come_from_inference_yml_then_dir_name(tmp_path, fake_paddle, fake_paddleocr):
    root = tmp_path / "w"
    make_model_dir(root, "det_custom", "PP-OCRv5_mobile_det")  # name from inference.yml
    make_model_dir(root, "PP-OCRv5_server_rec_infer", None, files=("inference.pdmodel", "inference.pdiparams"))
    PaddleOcrEngine(Settings(ocr_engine="paddleocr", weights_dir=root, paddle_det_model_dir="det_custom",
                             paddle_rec_model_dir="PP-OCRv5_server_rec_infer"))
    kwargs = fake_paddleocr.instances[0].kwargs
    assert kwargs["text_detection_model_name"] == "PP-OCRv5_mobile_det"
    assert kwargs["text_recognition_model_name"] == "PP-OCRv5_server_rec"  # "_infer" stripped


def test_explicit_model_name_setting_is_used(settings, fake_paddle, fake_paddleocr):
    PaddleOcrEngine(settings.with_overrides(paddle_rec_model_name="PP-OCRv5_server_rec"))
    assert fake_paddleocr.instances[0].kwargs["text_recognition_model_name"] == "PP-OCRv5_server_rec"


def test_gpu_device_string_and_describe(settings, weights, fake_paddle, fake_paddleocr):
    fake_paddle(cuda=True, gpus=2)
    engine = PaddleOcrEngine(settings.with_overrides(device_gpu=1, ocr_threads=4))
    kwargs = fake_paddleocr.instances[0].kwargs
    assert kwargs["device"] == "gpu:1"
    assert "cpu_threads" not in kwargs  # CPU threads only matter on CPU
    info = engine.describe()
    assert info["engine"] == "paddleocr"
    assert info["device"] == "gpu:1" and info["gpu_count"] == 2
    assert info["det_model_dir"] == str(weights / "PP-OCRv5_server_det")
    assert info["rec_model_name"] == "PP-OCRv5_server_rec"
    assert "timing" in info


def test_cpu_threads_passed_on_cpu(settings, fake_paddle, fake_paddleocr):
    PaddleOcrEngine(settings.with_overrides(ocr_threads=3))
    assert fake_paddleocr.instances[0].kwargs["cpu_threads"] == 3


def test_registered_in_engine_registry(settings, fake_paddle, fake_paddleocr):
    engine = create_engine(settings)
    assert isinstance(engine, PaddleOcrEngine)


# --- recognize ------------------------------------------------------------------------


def canned(texts, polys, scores):
    """A PaddleOCR 3.x result: a dict subclass with these keys (among others)."""
    return {"input_path": None, "dt_polys": polys, "rec_texts": texts, "rec_scores": scores, "rec_polys": polys}


def test_recognize_converts_sorts_and_normalises(settings, fake_paddle, fake_paddleocr):
    nfd = unicodedata.normalize("NFD", "Café crème")
    fake_paddleocr.output = [
        canned(
            ["3.00", nfd, "TOTAL", "   ", "header"],
            [quad(200, 102, 40), quad(10, 40), quad(10, 100, 50), quad(0, 0, 5, 5), quad(10, 10)],
            [np.float32(0.9), 0.8, 0.95, 0.7, 1.0000001],
        )
    ]
    engine = PaddleOcrEngine(settings)
    image = np.zeros((120, 300, 3), dtype=np.uint8)
    result = engine.recognize(image)

    assert [ln.text for ln in result.lines] == ["header", "Café crème", "TOTAL", "3.00"]
    cafe = result.lines[1]
    assert cafe.text == unicodedata.normalize("NFC", "Café crème") and cafe.text != nfd
    assert cafe.box == ((10.0, 40.0), (110.0, 40.0), (110.0, 60.0), (10.0, 60.0))
    assert all(isinstance(v, float) for ln in result.lines for pt in ln.box for v in pt)
    assert result.lines[0].confidence == 1.0  # clamped
    assert result.lines[3].confidence == pytest.approx(0.9)
    assert (result.width, result.height, result.engine) == (300, 120, "paddleocr")
    assert result.detection_ms >= 0 and result.recognition_ms == 0.0
    assert result.total_ms == result.detection_ms
    sent = fake_paddleocr.instances[0].calls[0]
    assert sent.shape == (120, 300, 3) and sent.dtype == np.uint8


def test_recognize_with_no_text(settings, fake_paddle, fake_paddleocr):
    fake_paddleocr.output = [canned([], [], [])]
    result = PaddleOcrEngine(settings).recognize(np.zeros((10, 10, 3), dtype=np.uint8))
    assert result.lines == () and result.text == ""


def test_non_quad_polygon_becomes_its_bounding_box():
    poly = np.array([[10, 5], [30, 2], [50, 8], [45, 20], [12, 18]])
    (line,) = lines_from_result(canned(["seal"], [poly], [0.5]))
    assert line.box == ((10.0, 2.0), (50.0, 2.0), (50.0, 20.0), (10.0, 20.0))


def test_result_object_with_json_property():
    class Result:
        json = {"res": canned(["a"], [quad(0, 0).tolist()], [0.5])}

    (line,) = lines_from_result(Result())
    assert line.text == "a" and line.box[2] == (100.0, 20.0)


def test_backend_error_is_wrapped(settings, fake_paddle, fake_paddleocr):
    fake_paddleocr.error = RuntimeError("(PreconditionNotMet) CUDA out of memory at /paddle/...")
    engine = PaddleOcrEngine(settings)
    with pytest.raises(OcrEngineError) as info:
        engine.recognize(np.zeros((10, 10, 3), dtype=np.uint8))
    assert isinstance(info.value.__cause__, RuntimeError)
    assert "/paddle/" not in info.value.message  # internals stay in the logs


def test_inconsistent_backend_result_is_an_engine_error(settings, fake_paddle, fake_paddleocr):
    fake_paddleocr.output = [canned(["a", "b"], [quad(0, 0)], [0.9, 0.9])]
    with pytest.raises(OcrEngineError):
        PaddleOcrEngine(settings).recognize(np.zeros((10, 10, 3), dtype=np.uint8))


@pytest.mark.parametrize(
    "image",
    [np.zeros((10, 10), dtype=np.uint8), np.zeros((10, 10, 4), dtype=np.uint8),
     np.zeros((10, 10, 3), dtype=np.float32), np.zeros((0, 10, 3), dtype=np.uint8), "not an array"],
)
def test_bad_image_is_rejected_before_the_backend(settings, fake_paddle, fake_paddleocr, image):
    engine = PaddleOcrEngine(settings)
    with pytest.raises(OcrEngineError):
        engine.recognize(image)
    assert fake_paddleocr.instances[0].calls == []


def test_calls_are_serialised(settings, fake_paddle, fake_paddleocr):
    fake_paddleocr.delay = 0.02
    fake_paddleocr.output = [canned(["x"], [quad(0, 0)], [0.9])]
    engine = PaddleOcrEngine(settings)
    image = np.zeros((10, 10, 3), dtype=np.uint8)
    threads = [threading.Thread(target=engine.recognize, args=(image,)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    backend = fake_paddleocr.instances[0]
    assert len(backend.calls) == 4 and backend.max_in_flight == 1
