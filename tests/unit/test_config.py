from pathlib import Path

import pytest

from app.config import ConfigError, PROJECT_ROOT, Settings


def test_defaults_from_empty_environment():
    s = Settings.from_env({})
    assert s.ocr_engine == "hybrid"
    assert s.llm_backend == "llamacpp"
    assert s.llm_api_url == "http://127.0.0.1:8001/v1"
    assert s.llm_model == "gemma-3-270m"
    assert s.prompt_style == "base"
    assert s.default_extract_mode == "per_field"
    assert not s.auth_enabled
    assert s.weights_dir == PROJECT_ROOT / "weights"


def test_vllm_backend_defaults_to_qwen_and_instruct_prompts():
    s = Settings.from_env({"LLM_BACKEND": "vllm", "LLM_SERVER_PORT": "9001"})
    assert s.llm_model == "Qwen/Qwen2.5-7B-Instruct"
    assert s.llm_api_url == "http://127.0.0.1:9001/v1"
    assert s.prompt_style == "instruct"
    assert s.default_extract_mode == "schema"
    assert Settings.from_env({"LLM_BACKEND": "vllm", "EXTRACT_DEFAULT_MODE": "per_field"}).default_extract_mode == \
        "per_field"


def test_ocr_recogniser_choice():
    assert Settings.from_env({}).ocr_recogniser == "aster"
    assert Settings.from_env({"OCR_RECOGNISER": "aster+tesseract"}).ocr_recogniser == "aster+tesseract"


def test_values_are_parsed():
    s = Settings.from_env({"HARD_TOKEN": " secret ", "MAX_FILE_MB": "1.5", "TEXT_DET_CONF_THRESHOLD": "0.3",
                           "DEVICE_GPU": "0", "WEIGHTS_DIR": "/opt/w", "EXTRACT_DEFAULT_MODE": "SCHEMA"})
    assert s.hard_token == "secret" and s.auth_enabled
    assert s.max_file_bytes == int(1.5 * 1024 * 1024)
    assert s.text_det_conf_threshold == 0.3
    assert s.device_gpu == 0
    assert s.weights_dir == Path("/opt/w")
    assert s.default_extract_mode == "schema"
    assert s.resolve_weights_path("det") == Path("/opt/w/det")
    assert s.resolve_weights_path("/abs/rec") == Path("/abs/rec")


@pytest.mark.parametrize("name,value", [
    ("LLM_BACKEND", "ollama"), ("MAX_FILE_MB", "lots"), ("TEXT_REC_CONF_THRESHOLD", "1.5"),
    ("DEVICE_GPU", "-2"), ("OCR_ENGINE", "tesseract"), ("LLM_MAX_RETRIES", "x"), ("OCR_RECOGNISER", "easyocr"),
])
def test_bad_values_fail_fast_naming_the_variable(name, value):
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({name: value})
