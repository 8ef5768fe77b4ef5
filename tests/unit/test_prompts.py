import pytest

from app.domain import OcrResult
from app.llm.prompts import PromptBuilder, clean_value, parse_json_object
from tests.conftest import RECEIPT_LINES


@pytest.mark.parametrize("raw,expected", [
    (" 3.00\n", "3.00"), ('"MINI MART"', "MINI MART"), ("NONE", None), ("null", None), ("N/A.", None),
    ("", None), (None, None), ("\n\nsecond line first\nthird", "second line first"), ("`x`", "x"),
    ("Không có", None),
])
def test_clean_value(raw, expected):
    assert clean_value(raw) == expected


def test_parse_json_object_tolerates_surrounding_text_and_missing_keys():
    out = parse_json_object('Here: {"a": "1", "b": null, "c": 5, "extra": "x"} done', ["a", "b", "c", "d"])
    assert out == {"a": "1", "b": None, "c": "5", "d": None}
    with pytest.raises(ValueError):
        parse_json_object("no json", ["a"])


def test_base_prompt_puts_document_first_and_field_last():
    pb = PromptBuilder("base")
    doc, truncated = pb.document_text(OcrResult(RECEIPT_LINES, 1, 1, 0, 0))
    assert not truncated
    p1, p2 = pb.field_prompt(doc, "total amount"), pb.field_prompt(doc, "ngày   bán\n")
    assert p1.endswith("Question: What is the total amount?\nAnswer:")
    assert p2.endswith("Question: What is the ngày bán?\nAnswer:")
    prefix = p1[: p1.rindex("Question:")]
    assert p2.startswith(prefix)  # shared prefix -> llama.cpp prompt cache reuse
    assert "MINI MART ABC\n12 Main Street" in prefix


def test_long_documents_are_truncated_and_reported():
    pb = PromptBuilder("base", max_document_chars=10)
    text, truncated = pb.document_text(OcrResult(RECEIPT_LINES, 1, 1, 0, 0))
    assert truncated and len(text) == 10


def test_schema_requires_every_key():
    schema = PromptBuilder.schema({"a": "x", "b": "y"})
    assert schema["required"] == ["a", "b"] and schema["additionalProperties"] is False
    assert schema["properties"]["a"]["anyOf"] == [{"type": "string", "maxLength": 160}, {"type": "null"}]


def test_instruct_messages():
    pb = PromptBuilder("instruct")
    msgs = pb.field_messages("DOC", "tổng tiền")
    assert msgs[0]["role"] == "system" and msgs[1]["content"].endswith("Field: tổng tiền")
    assert "DOC" in pb.schema_messages("DOC", {"a": "x"})[1]["content"]
