"""Service settings: one immutable object, read once from the environment.

Every variable is documented in ``.env.example`` and docs/configuration.md. Nothing else
in the package reads ``os.environ``; tests build :class:`Settings` directly.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Mapping

PROJECT_ROOT = Path(__file__).resolve().parent.parent

LLM_BACKENDS = ("llamacpp", "vllm", "external")
EXTRACT_MODES = ("per_field", "schema")
DEFAULT_MODE_CHOICES = ("auto",) + EXTRACT_MODES
PROMPT_STYLES = ("auto", "base", "instruct")


class ConfigError(ValueError):
    """A setting has a value the service cannot run with (raised at start-up)."""


def _bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _number(name: str, raw: str, kind: type, low: float | None = None, high: float | None = None):
    try:
        value = kind(raw.strip())
    except ValueError:
        raise ConfigError(f"{name} must be a{'n integer' if kind is int else ' number'}, got {raw!r}") from None
    if (low is not None and value < low) or (high is not None and value > high):
        raise ConfigError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _choice(name: str, raw: str, choices: tuple[str, ...]) -> str:
    value = raw.strip().lower()
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
    return value


OCR_INT8_KINDS = ("det", "rec", "aster")


def _int8_kinds(name: str, raw: str) -> frozenset[str]:
    """``OCR_INT8``: a comma list of ``det``, ``rec``, ``aster``, or ``all`` / ``none`` (empty = none)."""
    value = raw.strip().lower()
    if value in ("", "none", "off", "0"):
        return frozenset()
    if value == "all":
        return frozenset(OCR_INT8_KINDS)
    kinds = {part.strip() for part in value.split(",") if part.strip()}
    unknown = sorted(kinds - set(OCR_INT8_KINDS))
    if unknown:
        raise ConfigError(f"{name} must be all, none or a comma list of {', '.join(OCR_INT8_KINDS)}, got {raw!r}")
    return frozenset(kinds)


def _rate_limit(name: str, raw: str) -> str:
    """A rate limit in the ``limits`` notation (``60/minute``, ``10/second;500/hour``); empty = none."""
    value = raw.strip()
    if not value:
        return ""
    from limits import parse_many

    try:
        parse_many(value)
    except ValueError:
        raise ConfigError(f"{name} must look like 60/minute or 10/second;500/hour, got {raw!r}") from None
    return value


def _project_path(raw: str) -> Path:
    """A path from the environment; relative ones are taken from the project root."""
    path = Path(raw).expanduser()
    return path if path.is_absolute() else (PROJECT_ROOT / path).resolve()


def _database_url(raw: str) -> str:
    """``DATABASE_URL`` as SQLAlchemy wants it: ``postgres://`` / ``postgresql://``
    (the common forms) use the pg8000 driver (BSD; psycopg is LGPL)."""
    raw = raw.strip()
    for prefix in ("postgres://", "postgresql://"):
        if raw.startswith(prefix):
            return "postgresql+pg8000://" + raw[len(prefix):]
    return raw


def _webhook_secret(raw: str) -> str:
    """``WEBHOOK_SECRET``: empty (jobs with a callback_url are refused) or ``whsec_`` + base64 (>= 16 bytes)."""
    if not raw:
        return ""
    import base64
    import binascii

    body = raw.removeprefix("whsec_")
    try:
        key = base64.b64decode(body + "==", validate=False)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) < 16:
        raise ConfigError("WEBHOOK_SECRET must be 'whsec_' + base64 of at least 16 random bytes "
                          "(make one: python -c \"import base64,os;print('whsec_'+base64.b64encode(os.urandom(32)).decode())\")")
    return raw


@dataclass(frozen=True)
class Settings:
    """All run-time settings of the service.

    Attributes mirror environment variables of the same name in upper case
    (see ``.env.example``). Sizes are in bytes, times in seconds.
    """

    # --- HTTP / auth ---
    hard_token: str = ""
    max_request_bytes: int = 50 * 1024 * 1024
    max_file_bytes: int = 20 * 1024 * 1024
    max_files_per_request: int = 20
    max_image_pixels: int = 80_000_000
    log_level: str = "INFO"

    # --- Documents (PDF, multi-page TIFF, HEIC; app/documents) ---
    max_pages: int = 50
    pdf_dpi: int = 200
    pdf_text_min_chars: int = 16
    heic_enabled: bool = True
    #: Read e-invoice XML (an XML upload, or the Factur-X / ZUGFeRD XML inside a PDF); off:
    #: PDFs are read from their pages only and XML uploads are refused (docs/documents.md).
    einvoice_xml: bool = True

    # --- OCR ---
    ocr_engine: str = "hybrid"
    ocr_recogniser: str = "aster"
    text_det_conf_threshold: float = 0.5
    text_rec_conf_threshold: float = 0.5
    # PP-OCRv6 text detection (RapidOCR's DB post-processing and input size; hybrid and rapidocr engines)
    text_det_thresh: float = 0.3
    text_det_unclip_ratio: float = 1.6
    text_det_limit_side_len: int = 736
    # Detector input sized by the page's text height (app/ocr/geometry.text_height_scale); 0 = RapidOCR's rule
    ocr_det_text_height: float = 0.0
    # Second detection pass over the page's header (hybrid engine, app/ocr/header.py); 0 = off
    ocr_header_fraction: float = 0.0
    ocr_header_scale: float = 1.5
    ocr_header_merge: str = "fill"
    device_gpu: int = -1
    ocr_threads: int = 0
    # int8 (static QDQ) copies of these OCR models (app/ocr/int8.py); built once into ocr_int8_dir
    ocr_int8: frozenset = frozenset()
    ocr_int8_dir: Path = field(default_factory=lambda: PROJECT_ROOT / "weights" / "int8")
    weights_dir: Path = field(default_factory=lambda: PROJECT_ROOT / "weights")
    paddle_det_model_dir: str = "PP-OCRv5_server_det"
    paddle_rec_model_dir: str = "PP-OCRv5_server_rec"
    paddle_det_model_name: str = ""
    paddle_rec_model_name: str = ""

    # --- OCR input budget (app/ocr/geometry.py: what one image may cost) ---
    ocr_min_side: int = 8
    ocr_max_aspect_ratio: float = 100.0
    ocr_max_det_pixels: int = 2048 * 2048
    ocr_max_text_columns: int = 160_000

    # --- LLM ---
    llm_backend: str = "llamacpp"
    llm_api_url: str = "http://127.0.0.1:8001/v1"
    llm_model: str = "gemma-3-270m"
    llm_api_key: str = "not-needed"
    llm_request_timeout: float = 60.0
    llm_max_retries: int = 1
    llm_prompt_style: str = "auto"
    llm_max_tokens: int = 64
    extract_default_mode: str = "auto"

    # --- Entry point (run.py): where the API listens, dev-server debug, LLM wait ---
    host: str = "0.0.0.0"
    port: int = 8000
    debug: bool = False
    llm_wait_timeout: float = 900.0

    # --- Reliability (docs/reliability.md): deadlines, LLM circuit breaker, backpressure, slow clients ---
    request_timeout: float = 120.0
    llm_breaker_failures: int = 3
    llm_breaker_reset_timeout: float = 2.0
    max_active_requests: int = 2
    max_queued_requests: int = 4
    queue_timeout: float = 30.0
    client_read_timeout: float = 15.0

    # --- gRPC server (app/grpc; its own process: ./run.sh grpc) ---
    grpc_host: str = "[::]"
    grpc_port: int = 50051
    grpc_max_message_bytes: int = 32 * 1024 * 1024
    grpc_max_workers: int = 4
    grpc_max_concurrent_rpcs: int = 16
    grpc_call_timeout: float = 300.0
    grpc_reflection: bool = True
    grpc_legacy_auth: bool = True
    grpc_shutdown_grace: float = 60.0
    grpc_drain_delay: float = 2.0
    grpc_metrics_host: str = "127.0.0.1"
    grpc_metrics_port: int = 0

    # --- Operations (metrics, rate limits, logs; app/observability, app/api/ratelimit.py) ---
    metrics_enabled: bool = True
    metrics_token: str = ""
    metrics_port: int = 0
    rate_limit: str = ""
    rate_limit_storage_url: str = ""
    log_format: str = "text"
    log_document_text: bool = False
    # --- Jobs (asynchronous processing, app/jobs/) ---
    # Engine: "local" (SQLite + in-process threads) or "celery" (Redis broker +
    # DATABASE_URL, usually PostgreSQL); "auto" = celery when REDIS_URL is set.
    jobs_engine: str = "auto"
    database_url: str = ""
    redis_url: str = ""
    storage_dir: Path = field(default_factory=lambda: PROJECT_ROOT / "storage")
    job_workers: int = 2
    #: local engine: start its threads at app start when a job store exists, resuming
    #: jobs a previous process left (from_env: true; Settings() built by tests: false)
    jobs_resume: bool = False
    max_queued_jobs: int = 1000
    job_retention_days: float = 7.0
    job_time_limit: float = 900.0
    job_max_attempts: int = 3
    job_retry_backoff: float = 5.0
    job_retry_backoff_max: float = 300.0
    job_max_wait: float = 60.0
    job_requeue_after: float = 300.0
    job_watchdog_interval: float = 30.0
    job_purge_interval: float = 3600.0
    source_url_max_bytes: int = 50 * 1024 * 1024
    webhook_secret: str = ""
    webhook_allow_private: bool = False
    webhook_timeout: float = 10.0
    webhook_max_attempts: int = 5
    review_threshold: float = 0.8

    # --- Review UI (app/ui, /ui/): sessions, cookies ---
    #: signs the session cookie; the UI refuses to start without one unless ui_insecure_dev
    secret_key: str = ""
    ui_enabled: bool = True
    #: development only: run the UI with a random per-process SECRET_KEY (sessions end on restart)
    ui_insecure_dev: bool = False
    #: send the session cookie only over HTTPS (set behind TLS)
    session_cookie_secure: bool = False
    #: signed-in session lifetime, seconds
    ui_session_lifetime: float = 8 * 3600.0

    @property
    def jobs_engine_name(self) -> str:
        """``local`` or ``celery``: ``auto`` picks celery when ``REDIS_URL`` is set."""
        if self.jobs_engine != "auto":
            return self.jobs_engine
        return "celery" if self.redis_url else "local"

    @property
    def jobs_database_url(self) -> str:
        """``DATABASE_URL``, or a SQLite file under ``STORAGE_DIR`` when empty."""
        return self.database_url or f"sqlite:///{self.storage_dir / 'jobs.sqlite3'}"

    @property
    def auth_enabled(self) -> bool:
        """True when requests must carry ``HARD_TOKEN``."""
        return bool(self.hard_token)

    @property
    def grpc_address(self) -> str:
        """``host:port`` the gRPC server binds (``[::]:50051`` by default)."""
        return f"{self.grpc_host}:{self.grpc_port}"

    @property
    def prompt_style(self) -> str:
        """``base`` (completion prompts for a base model) or ``instruct`` (chat)."""
        if self.llm_prompt_style != "auto":
            return self.llm_prompt_style
        return "base" if self.llm_backend == "llamacpp" else "instruct"

    @property
    def default_extract_mode(self) -> str:
        """Mode for requests that do not name one.

        ``auto``: ``per_field`` for the embedded llama.cpp base model (one short
        completion per field, measured better grounded than one schema call),
        ``schema`` for instruction models behind vLLM or another server (one
        prefill of the document, JSON guaranteed by the server's grammar).
        """
        if self.extract_default_mode != "auto":
            return self.extract_default_mode
        return "per_field" if self.llm_backend == "llamacpp" else "schema"

    def resolve_weights_path(self, value: str) -> Path:
        """Return ``value`` as a path, relative paths taken under ``weights_dir``."""
        path = Path(value)
        return path if path.is_absolute() else self.weights_dir / path

    def with_overrides(self, **changes) -> "Settings":
        """Return a copy with some attributes replaced (used by tests)."""
        return replace(self, **changes)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, dotenv: bool = True) -> "Settings":
        """Build settings from environment variables.

        Args:
            environ: mapping to read; ``os.environ`` when None.
            dotenv: when reading ``os.environ``, first load ``.env`` from the
                project root (existing variables win).

        Raises:
            ConfigError: a variable has an invalid value; the message names it.
        """
        if environ is None:
            if dotenv:
                from dotenv import load_dotenv

                load_dotenv(PROJECT_ROOT / ".env", override=False)
            environ = os.environ
        env = {k: v for k, v in environ.items() if v is not None}

        def get(name: str, default: str) -> str:
            value = env.get(name, "")
            return value if value.strip() != "" else default

        mb = 1024 * 1024
        backend = _choice("LLM_BACKEND", get("LLM_BACKEND", "llamacpp"), LLM_BACKENDS)
        port = _number("LLM_SERVER_PORT", get("LLM_SERVER_PORT", "8001"), int, 1, 65535)
        default_model = "gemma-3-270m" if backend == "llamacpp" else "Qwen/Qwen2.5-7B-Instruct"
        settings = cls(
            hard_token=env.get("HARD_TOKEN", "").strip(),
            max_request_bytes=int(_number("MAX_REQUEST_MB", get("MAX_REQUEST_MB", "50"), float, 0.001) * mb),
            max_file_bytes=int(_number("MAX_FILE_MB", get("MAX_FILE_MB", "20"), float, 0.001) * mb),
            max_files_per_request=_number("MAX_FILES_PER_REQUEST", get("MAX_FILES_PER_REQUEST", "20"), int, 1),
            max_image_pixels=_number("MAX_IMAGE_PIXELS", get("MAX_IMAGE_PIXELS", "80000000"), int, 1),
            max_pages=_number("MAX_PAGES", get("MAX_PAGES", "50"), int, 1),
            pdf_dpi=_number("PDF_DPI", get("PDF_DPI", "200"), int, 72, 600),
            pdf_text_min_chars=_number("PDF_TEXT_MIN_CHARS", get("PDF_TEXT_MIN_CHARS", "16"), int, 0),
            heic_enabled=_bool("HEIC_ENABLED", get("HEIC_ENABLED", "true")),
            einvoice_xml=_bool("EINVOICE_XML", get("EINVOICE_XML", "on")),
            log_level=_choice("LOG_LEVEL", get("LOG_LEVEL", "INFO"), ("debug", "info", "warning", "error")).upper(),
            ocr_engine=_choice("OCR_ENGINE", get("OCR_ENGINE", "hybrid"), ("rapidocr", "hybrid", "paddleocr")),
            ocr_recogniser=_choice("OCR_RECOGNISER", get("OCR_RECOGNISER", "aster"),
                                   ("aster", "tesseract", "aster+tesseract")),
            text_det_conf_threshold=_number(
                "TEXT_DET_CONF_THRESHOLD", get("TEXT_DET_CONF_THRESHOLD", "0.5"), float, 0.0, 1.0
            ),
            text_rec_conf_threshold=_number(
                "TEXT_REC_CONF_THRESHOLD", get("TEXT_REC_CONF_THRESHOLD", "0.5"), float, 0.0, 1.0
            ),
            text_det_thresh=_number("TEXT_DET_THRESH", get("TEXT_DET_THRESH", "0.3"), float, 0.0, 1.0),
            text_det_unclip_ratio=_number(
                "TEXT_DET_UNCLIP_RATIO", get("TEXT_DET_UNCLIP_RATIO", "1.6"), float, 0.5, 4.0
            ),
            text_det_limit_side_len=_number(
                "TEXT_DET_LIMIT_SIDE_LEN", get("TEXT_DET_LIMIT_SIDE_LEN", "736"), int, 32, 4096
            ),
            ocr_det_text_height=_number("OCR_DET_TEXT_HEIGHT", get("OCR_DET_TEXT_HEIGHT", "0"), float, 0.0, 256.0),
            ocr_header_fraction=_number("OCR_HEADER_FRACTION", get("OCR_HEADER_FRACTION", "0"), float, 0.0, 1.0),
            ocr_header_scale=_number("OCR_HEADER_SCALE", get("OCR_HEADER_SCALE", "1.5"), float, 1.0, 4.0),
            ocr_header_merge=_choice("OCR_HEADER_MERGE", get("OCR_HEADER_MERGE", "fill"), ("fill", "replace")),
            device_gpu=_number("DEVICE_GPU", get("DEVICE_GPU", "-1"), int, -1),
            ocr_threads=_number("OCR_THREADS", get("OCR_THREADS", "0"), int, 0),
            ocr_int8=_int8_kinds("OCR_INT8", get("OCR_INT8", "none")),
            ocr_int8_dir=_project_path(get("OCR_INT8_DIR", "weights/int8")),
            weights_dir=_project_path(get("WEIGHTS_DIR", "weights")),
            paddle_det_model_dir=get("PADDLE_DET_MODEL_DIR", "PP-OCRv5_server_det"),
            paddle_rec_model_dir=get("PADDLE_REC_MODEL_DIR", "PP-OCRv5_server_rec"),
            paddle_det_model_name=get("PADDLE_DET_MODEL_NAME", ""),
            paddle_rec_model_name=get("PADDLE_REC_MODEL_NAME", ""),
            ocr_min_side=_number("OCR_MIN_SIDE", get("OCR_MIN_SIDE", "8"), int, 1, 10000),
            ocr_max_aspect_ratio=_number("OCR_MAX_ASPECT_RATIO", get("OCR_MAX_ASPECT_RATIO", "100"), float, 1.0),
            ocr_max_det_pixels=_number("OCR_MAX_DET_PIXELS", get("OCR_MAX_DET_PIXELS", "4194304"), int, 32 * 32),
            ocr_max_text_columns=_number("OCR_MAX_TEXT_COLUMNS", get("OCR_MAX_TEXT_COLUMNS", "160000"), int, 320),
            llm_backend=backend,
            llm_api_url=get("LLM_API_URL", f"http://127.0.0.1:{port}/v1"),
            llm_model=get("LLM_MODEL", default_model),
            llm_api_key=get("LLM_API_KEY", "not-needed"),
            llm_request_timeout=_number("LLM_REQUEST_TIMEOUT", get("LLM_REQUEST_TIMEOUT", "60"), float, 0.1),
            llm_max_retries=_number("LLM_MAX_RETRIES", get("LLM_MAX_RETRIES", "1"), int, 0, 10),
            llm_prompt_style=_choice("LLM_PROMPT_STYLE", get("LLM_PROMPT_STYLE", "auto"), PROMPT_STYLES),
            llm_max_tokens=_number("LLM_MAX_TOKENS", get("LLM_MAX_TOKENS", "64"), int, 1, 4096),
            extract_default_mode=_choice(
                "EXTRACT_DEFAULT_MODE", get("EXTRACT_DEFAULT_MODE", "auto"), DEFAULT_MODE_CHOICES
            ),
            jobs_engine=_choice("JOBS_ENGINE", get("JOBS_ENGINE", "auto"), ("auto", "local", "celery")),
            database_url=_database_url(get("DATABASE_URL", "")),
            redis_url=get("REDIS_URL", ""),
            storage_dir=_project_path(get("STORAGE_DIR", "storage")),
            job_workers=_number("JOB_WORKERS", get("JOB_WORKERS", "2"), int, 1, 64),
            jobs_resume=_bool("JOBS_RESUME", get("JOBS_RESUME", "true")),
            max_queued_jobs=_number("MAX_QUEUED_JOBS", get("MAX_QUEUED_JOBS", "1000"), int, 1),
            job_retention_days=_number("JOB_RETENTION_DAYS", get("JOB_RETENTION_DAYS", "7"), float, 0.0),
            job_time_limit=_number("JOB_TIME_LIMIT", get("JOB_TIME_LIMIT", "900"), float, 1.0),
            job_max_attempts=_number("JOB_MAX_ATTEMPTS", get("JOB_MAX_ATTEMPTS", "3"), int, 1, 100),
            job_retry_backoff=_number("JOB_RETRY_BACKOFF", get("JOB_RETRY_BACKOFF", "5"), float, 0.0),
            job_retry_backoff_max=_number("JOB_RETRY_BACKOFF_MAX", get("JOB_RETRY_BACKOFF_MAX", "300"), float, 0.0),
            job_max_wait=_number("JOB_MAX_WAIT", get("JOB_MAX_WAIT", "60"), float, 0.0, 600.0),
            job_requeue_after=_number("JOB_REQUEUE_AFTER", get("JOB_REQUEUE_AFTER", "300"), float, 1.0),
            job_watchdog_interval=_number("JOB_WATCHDOG_INTERVAL", get("JOB_WATCHDOG_INTERVAL", "30"), float, 0.1),
            job_purge_interval=_number("JOB_PURGE_INTERVAL", get("JOB_PURGE_INTERVAL", "3600"), float, 1.0),
            source_url_max_bytes=int(_number("SOURCE_URL_MAX_MB", get("SOURCE_URL_MAX_MB", "50"), float, 0.001) * mb),
            webhook_secret=_webhook_secret(env.get("WEBHOOK_SECRET", "").strip()),
            webhook_allow_private=_bool("WEBHOOK_ALLOW_PRIVATE", get("WEBHOOK_ALLOW_PRIVATE", "false")),
            webhook_timeout=_number("WEBHOOK_TIMEOUT", get("WEBHOOK_TIMEOUT", "10"), float, 0.1, 120.0),
            webhook_max_attempts=_number("WEBHOOK_MAX_ATTEMPTS", get("WEBHOOK_MAX_ATTEMPTS", "5"), int, 1, 20),
            review_threshold=_number("REVIEW_THRESHOLD", get("REVIEW_THRESHOLD", "0.8"), float, 0.0, 1.0),
            secret_key=env.get("SECRET_KEY", "").strip(),
            ui_enabled=_bool("UI_ENABLED", get("UI_ENABLED", "true")),
            ui_insecure_dev=_bool("UI_INSECURE_DEV", get("UI_INSECURE_DEV", "false")),
            session_cookie_secure=_bool("SESSION_COOKIE_SECURE", get("SESSION_COOKIE_SECURE", "false")),
            ui_session_lifetime=_number("UI_SESSION_LIFETIME", get("UI_SESSION_LIFETIME", "28800"), float, 60.0),
            host=get("HOST", "0.0.0.0").strip(),
            port=_number("PORT", get("PORT", "8000"), int, 1, 65535),
            debug=_bool("DEBUG", get("DEBUG", "false")),
            llm_wait_timeout=_number("LLM_WAIT_TIMEOUT", get("LLM_WAIT_TIMEOUT", "900"), float, 0),
            request_timeout=_number("REQUEST_TIMEOUT", get("REQUEST_TIMEOUT", "120"), float, 1),
            llm_breaker_failures=_number("LLM_BREAKER_FAILURES", get("LLM_BREAKER_FAILURES", "3"), int, 0, 1000),
            llm_breaker_reset_timeout=_number(
                "LLM_BREAKER_RESET_TIMEOUT", get("LLM_BREAKER_RESET_TIMEOUT", "2"), float, 0.1, 3600
            ),
            max_active_requests=_number("MAX_ACTIVE_REQUESTS", get("MAX_ACTIVE_REQUESTS", "2"), int, 0, 1024),
            max_queued_requests=_number("MAX_QUEUED_REQUESTS", get("MAX_QUEUED_REQUESTS", "4"), int, 0, 100_000),
            queue_timeout=_number("QUEUE_TIMEOUT", get("QUEUE_TIMEOUT", "30"), float, 0, 3600),
            client_read_timeout=_number("CLIENT_READ_TIMEOUT", get("CLIENT_READ_TIMEOUT", "15"), float, 0.1, 3600),

            grpc_host=get("GRPC_HOST", "[::]").strip(),
            grpc_port=_number("GRPC_PORT", get("GRPC_PORT", "50051"), int, 0, 65535),
            grpc_max_message_bytes=int(_number("GRPC_MAX_MESSAGE_MB", get("GRPC_MAX_MESSAGE_MB", "32"), float,
                                               0.001, 2047) * mb),
            grpc_max_workers=_number("GRPC_MAX_WORKERS", get("GRPC_MAX_WORKERS", "4"), int, 1, 256),
            grpc_max_concurrent_rpcs=_number("GRPC_MAX_CONCURRENT_RPCS", get("GRPC_MAX_CONCURRENT_RPCS", "16"), int,
                                             1, 100_000),
            grpc_call_timeout=_number("GRPC_CALL_TIMEOUT", get("GRPC_CALL_TIMEOUT", "300"), float, 0.1),
            grpc_reflection=_bool("GRPC_REFLECTION", get("GRPC_REFLECTION", "true")),
            grpc_legacy_auth=_bool("GRPC_LEGACY_AUTH", get("GRPC_LEGACY_AUTH", "true")),
            grpc_shutdown_grace=_number("GRPC_SHUTDOWN_GRACE", get("GRPC_SHUTDOWN_GRACE", "60"), float, 0.0),
            grpc_drain_delay=_number("GRPC_DRAIN_DELAY", get("GRPC_DRAIN_DELAY", "2"), float, 0.0),
            grpc_metrics_host=get("GRPC_METRICS_HOST", "127.0.0.1").strip(),
            grpc_metrics_port=_number("GRPC_METRICS_PORT", get("GRPC_METRICS_PORT", "0"), int, 0, 65535),

            # --- Operations ---
            metrics_enabled=_bool("METRICS_ENABLED", get("METRICS_ENABLED", "true")),
            metrics_token=env.get("METRICS_TOKEN", "").strip(),
            metrics_port=_number("METRICS_PORT", get("METRICS_PORT", "0"), int, 0, 65535),
            rate_limit=_rate_limit("RATE_LIMIT", get("RATE_LIMIT", "")),
            rate_limit_storage_url=get("RATE_LIMIT_STORAGE_URL", get("REDIS_URL", "")),
            log_format=_choice("LOG_FORMAT", get("LOG_FORMAT", "text"), ("text", "json")),
            log_document_text=_bool("LOG_DOCUMENT_TEXT", get("LOG_DOCUMENT_TEXT", "false")),
        )
        if settings.jobs_engine == "celery" and not settings.redis_url:
            raise ConfigError("JOBS_ENGINE=celery needs REDIS_URL (the broker) and DATABASE_URL (the job store)")
        return settings


def setting_names() -> list[str]:
    """Names of all :class:`Settings` attributes (for docs/tests)."""
    return [f.name for f in fields(Settings)]
