"""App factory for the gunicorn framing test: the real app with fakes for OCR and LLM
(``gunicorn 'tests.fuzz.apps:fake_app()'``)."""

from app import create_app
from app.config import Settings
from app.llm.client import LLMClient
from tests.conftest import FakeOpenAI
from tests.fuzz.test_fuzz_http import GeometryFake


def fake_app():
    settings = Settings.from_env()
    llm = LLMClient(base_url="http://fake/v1", model="m", client=FakeOpenAI(lambda kind, kw: "NONE"))
    return create_app(settings, ocr_engine=GeometryFake(), llm_client=llm)
