"""Fuzz the HTTP API over a real loopback socket: >= 2,000 malformed uploads and
configs from the seeded corpus (``tests/fuzz/corpus.py``), no 5xx.

The app is the real one from ``create_app`` with fakes injected where the OCR
engine and the LLM are not what is tested: :class:`GeometryFake` applies the
real engines' geometry check (``app.ocr.geometry.check_geometry``) and then
returns fixed lines; the LLM client talks to :class:`tests.conftest.FakeOpenAI`.
The real OCR engine on the geometry cases is in ``test_real_engine.py``.

Set ``FUZZ_SEED`` / ``FUZZ_CASES`` to replay another corpus; a failure names
the case (family, index, description), which the same seed regenerates.
"""

from __future__ import annotations

import json
import os
import time

import pytest
import requests

from app import create_app
from app.config import Settings
from app.llm.client import LLMClient
from app.ocr.geometry import OcrLimits, check_geometry
from tests.conftest import FakeOcrEngine, FakeOpenAI
from tests.fuzz.corpus import generate
from tests.fuzz.server import check_response, serve

SEED = int(os.environ.get("FUZZ_SEED", "20261201"))
N_CASES = int(os.environ.get("FUZZ_CASES", "2000"))


class GeometryFake(FakeOcrEngine):
    """Fake lines, after the real engines' geometry check (so 422s go over HTTP too)."""

    def __init__(self):
        super().__init__()
        self.limits = OcrLimits()

    def recognize(self, image):
        check_geometry(image.shape[0], image.shape[1], self.limits)
        return super().recognize(image)


def fuzz_settings(**overrides) -> Settings:
    """Small limits so bombs are refused quickly: 2 MB body, 1 MB file, 4 MP, 6 files."""
    values = dict(hard_token="", llm_api_url="http://fake/v1", max_request_bytes=2 * 1024 * 1024,
                  max_file_bytes=1024 * 1024, max_image_pixels=4_000_000, max_files_per_request=6,
                  log_level="WARNING")
    values.update(overrides)
    return Settings(**values)


def encodable_none(kind, kwargs) -> str:
    """Answer NONE, after encoding the request as the real client does (JSON, UTF-8):
    text the service could not send, a lone surrogate, raises here as it would there."""
    json.dumps(kwargs, ensure_ascii=False).encode("utf-8")
    return "NONE"


@pytest.fixture(scope="module")
def base_url():
    llm = LLMClient(base_url="http://fake/v1", model="m", client=FakeOpenAI(encodable_none))
    app = create_app(fuzz_settings(), ocr_engine=GeometryFake(), llm_client=llm)
    with serve(app) as url:
        yield url


def send(session: requests.Session, url: str, case) -> requests.Response:
    if case.raw is not None:
        headers = {"Content-Type": case.content_type} if case.content_type is not None else {}
        return session.post(url + case.path, data=case.raw, headers=headers, timeout=60)
    files = [(name, (fname, data, ctype)) for name, fname, data, ctype in case.files]
    return session.post(url + case.path, files=files or None, data=case.form or None, timeout=60)


def test_corpus_is_reproducible():
    a, b = generate(SEED, 60), generate(SEED, 60)
    assert [(c.name, c.raw, c.files, c.form) for c in a] == [(c.name, c.raw, c.files, c.form) for c in b]
    assert [c.name for c in generate(SEED + 1, 60)] != [c.name for c in a]


def test_fuzz_corpus_never_5xx(base_url):
    cases = generate(SEED, N_CASES)
    assert len(cases) >= min(N_CASES, 2000)
    seen: dict[int, int] = {}
    codes: dict[str, int] = {}
    start = time.monotonic()
    with requests.Session() as session:
        for i, case in enumerate(cases):
            response = send(session, base_url, case)
            body = check_response(response, case.name)
            seen[response.status_code] = seen.get(response.status_code, 0) + 1
            if response.status_code >= 400:
                codes[body["error_code"]] = codes.get(body["error_code"], 0) + 1
            if i % 100 == 99:
                health = session.get(base_url + "/health", timeout=10)
                assert health.status_code == 200 and health.json()["status"] == "healthy", case.name
    print(f"\n{len(cases)} cases in {time.monotonic() - start:.1f} s; statuses {dict(sorted(seen.items()))}; "
          f"codes {dict(sorted(codes.items()))}")
    # The corpus reaches every family of refusal, and some requests succeed.
    assert 200 in seen and 400 in seen and 413 in seen and 422 in seen
    for code in ("INVALID_IMAGE", "INVALID_CONFIG", "PAYLOAD_TOO_LARGE", "IMAGE_TOO_SMALL", "UNSUPPORTED_GEOMETRY",
                 "MISSING_FILE", "INVALID_PARAMETER", "XML_FORBIDDEN", "INVALID_XML", "UNSUPPORTED_XML"):
        assert code in codes, code
    assert requests.get(base_url + "/health", timeout=10).status_code == 200
