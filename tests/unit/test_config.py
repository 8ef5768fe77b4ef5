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


def test_jobs_settings():
    s = Settings.from_env({})
    assert s.jobs_engine_name == "local" and s.jobs_database_url.startswith("sqlite:///")
    assert s.storage_dir == PROJECT_ROOT / "storage"
    s = Settings.from_env({"REDIS_URL": "redis://r:6379/0", "DATABASE_URL": "postgres://u:p@db/x",
                           "REVIEW_THRESHOLD": "0.6", "WEBHOOK_ALLOW_PRIVATE": "true"})
    assert s.jobs_engine_name == "celery" and s.jobs_database_url == "postgresql+pg8000://u:p@db/x"
    assert s.review_threshold == 0.6 and s.webhook_allow_private
    assert Settings.from_env({"REDIS_URL": "redis://r", "JOBS_ENGINE": "local"}).jobs_engine_name == "local"
    with pytest.raises(ConfigError, match="REDIS_URL"):
        Settings.from_env({"JOBS_ENGINE": "celery"})
    with pytest.raises(ConfigError, match="WEBHOOK_SECRET"):
        Settings.from_env({"WEBHOOK_SECRET": "whsec_short"})
    assert Settings.from_env({"WEBHOOK_SECRET": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}).webhook_secret
