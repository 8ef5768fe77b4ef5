"""App factory for the operations end-to-end tests: the real app under gunicorn
with the fake OCR engine and LLM of tests/conftest.py injected (what is under
test is the multiprocess metrics, probes and logs, not the models)."""

from app import create_app
from app.config import Settings
from app.llm.client import LLMClient
from tests.conftest import FakeOcrEngine, FakeOpenAI, answer_by_field


def fake_app():
    settings = Settings.from_env().with_overrides(llm_api_url="http://fake/v1")
    llm = LLMClient(base_url="http://fake/v1", model="m",
                    client=FakeOpenAI(answer_by_field({"total amount": "3.00"})))
    return create_app(settings, ocr_engine=FakeOcrEngine(), llm_client=llm)
