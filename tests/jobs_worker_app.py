"""Celery worker app for the jobs integration tests: the real worker, with the
fake OCR engine and a fake OpenAI client injected (the models are not what
those tests test).

    celery -A tests.jobs_worker_app worker ...

Environment (besides the service's own REDIS_URL, DATABASE_URL, ...):
    JOBS_TEST_OCR_DELAY   seconds the fake OCR engine takes per image
    JOBS_TEST_LLM_DOWN    a file path: while it exists, the fake LLM refuses connections
"""

from __future__ import annotations

import os
import time

import openai

from app.config import Settings
from app.jobs.worker import create_worker_app
from app.llm.client import LLMClient
from tests.conftest import FakeOcrEngine, FakeOpenAI, answer_by_field

ANSWERS = {"name of the shop": "MINI MART ABC", "total amount": "3.00"}


class SlowOcr(FakeOcrEngine):
    def recognize(self, image):
        time.sleep(float(os.environ.get("JOBS_TEST_OCR_DELAY", "0")))
        return super().recognize(image)


def _responder(kind, kw):
    flag = os.environ.get("JOBS_TEST_LLM_DOWN", "")
    if flag and os.path.exists(flag):
        raise openai.APIConnectionError(request=None)
    return answer_by_field(ANSWERS)(kind, kw)


celery = create_worker_app(
    Settings.from_env(dotenv=False),
    ocr_engine=SlowOcr(),
    llm_client=LLMClient(base_url="http://fake/v1", model="m", client=FakeOpenAI(_responder), max_retries=0),
)
