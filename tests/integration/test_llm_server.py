"""LLMClient and FieldExtractor against a real llama.cpp server process
(Gemma 3 270M GGUF from PyPI), and on a real receipt's OCR text."""

import json

import pytest

from app.errors import LLMUnavailable
from app.extraction.extractor import ExtractOptions, FieldExtractor
from app.llm.client import LLMClient
from app.llm.prompts import PromptBuilder
from tests.conftest import RECEIPT_LINES
from app.domain import OcrResult

SCHEMA = PromptBuilder.schema({"shop": "name of the shop", "total": "total amount"})


@pytest.fixture(scope="module")
def llm(llama_server):
    # Generous timeouts: these tests check behaviour, not speed, and CI machines can be busy.
    return LLMClient(base_url=llama_server.url, model=llama_server.model, backend="llamacpp", timeout=600,
                     max_retries=0)


def test_models_and_plain_completion(llm):
    assert llm.list_models() == ["gemma-3-270m"]
    out = llm.complete("Document:\nTOTAL 3.00\n\nField: total amount\nValue:", max_tokens=8)
    assert isinstance(out, str) and "\n" not in out


def test_llamacpp_accepts_json_object_with_schema(llm):
    raw = llm.chat([{"role": "user", "content": "Shop MINI MART, total 3.00. JSON:"}], max_tokens=200,
                   json_schema=SCHEMA)
    data = json.loads(raw)
    assert set(data) == {"shop", "total"}  # grammar-constrained: every required key, nothing else
    assert all(v is None or isinstance(v, str) for v in data.values())


def test_llamacpp_rejects_the_vllm_json_schema_form(llama_server):
    """Why the client sends a per-backend form: llama-cpp-python 0.3.36 refuses
    the OpenAI/vLLM ``json_schema`` form ("Input should be 'text' or
    'json_object'"), answering with status 500."""
    as_vllm = LLMClient(base_url=llama_server.url, model=llama_server.model, backend="vllm", max_retries=0)
    with pytest.raises(LLMUnavailable, match="500"):
        as_vllm.chat([{"role": "user", "content": "hi"}], max_tokens=8, json_schema=SCHEMA)


@pytest.mark.parametrize("mode", ["per_field", "schema"])
def test_extractor_on_a_small_receipt(llm, mode):
    extractor = FieldExtractor(llm, PromptBuilder("base"), max_tokens=32)
    ocr = OcrResult(RECEIPT_LINES, 300, 200, 1, 1)
    out = extractor.extract(ocr, {"shop": "name of the shop", "total": "total amount"}, ExtractOptions(mode=mode, llm_timeout=600))
    assert set(out.fields) == {"shop", "total"} and not out.errors
    assert out.extraction_ms > 0
    # Accuracy of the 270M model is measured by bench/, not asserted here; it does answer.
    assert any(out.fields.values())
    assert all(v is None or (isinstance(v, str) and v.strip() == v and "\n" not in v) for v in out.fields.values())
