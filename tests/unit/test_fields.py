from app.domain import Candidate, OcrResult
from app.extraction.doctypes import DOCUMENT_TYPES, FieldSpec, resolve_fields
from app.extraction.fields import UNGROUNDED_CAP, combine, ground, llm_candidate
from tests.conftest import line

OCR = OcrResult((line("TỔNG TIỀN: 168,000", 0, 0), line("Ngày: 11/08/2020", 0, 30), line("CỘNG HÒA", 0, 60),
                 line("XÃ HỘI", 0, 90)), 100, 100, 0, 0)
TOTAL = FieldSpec("total", "Tổng tiền", "total", "amount")
TEXT = FieldSpec("seller", "Tên", "seller")


def test_ground_is_case_and_diacritic_insensitive_and_spans_two_lines():
    assert ground("tong tien: 168,000", OCR)[0] == (0,)
    assert ground("Cộng hòa xã hội", OCR)[0] == (2, 3)
    assert ground("Hà Nội", OCR)[0] == ()


def test_ungrounded_llm_value_is_flagged_and_capped():
    cand = llm_candidate(TEXT, "Siêu thị ABC", OCR)
    result = combine(TEXT, [cand])
    assert result.grounded is False and result.confidence <= UNGROUNDED_CAP
    grounded = combine(TEXT, [llm_candidate(TEXT, "CỘNG HÒA", OCR)])
    assert grounded.grounded and grounded.confidence > UNGROUNDED_CAP and grounded.line_indices == (2,)


def test_agreement_raises_confidence_and_reports_the_stronger_source():
    rule = Candidate("total", "168,000", {"amount": "168000", "currency": None}, 0.6, "rule", (0,))
    llm = llm_candidate(TOTAL, "168,000", OCR)
    result = combine(TOTAL, [rule, llm])
    assert result.source == "rule" and result.confidence > 0.6
    assert result.checks["agrees_with"]


def test_invalid_amount_is_halved():
    bad = Candidate("total", "abc", None, 0.8, "rule", (0,))
    assert combine(TOTAL, [bad]).confidence == 0.4


def test_document_number_without_a_digit_is_halved():
    spec = next(s for s in DOCUMENT_TYPES["invoice"].fields if s.key == "invoice_number")
    words = Candidate("invoice_number", "at the time of check-out", "at the time of check-out", 0.6, "llm", (0,))
    number = Candidate("invoice_number", "IBZY2087", "IBZY2087", 0.6, "llm", (0,))
    assert combine(spec, [words]).confidence == 0.3
    assert combine(spec, [number]).confidence == 0.6


def test_qr_beats_rule_and_box_covers_lines():
    qr = Candidate("seller", "X", "X", 0.99, "qr")
    rule = Candidate("seller", "Y", "Y", 0.9, "rule", (2, 3))
    result = combine(TEXT, [qr, rule])
    assert result.source == "qr" and result.value == "X"
    # The pipeline places a field on its page: the box around its lines, in page pixels.
    from app.domain import PageText
    from app.pipeline import DocumentRead

    document = DocumentRead([PageText(1, 600, 200, "ocr", OcrResult(tuple(ln.__class__(ln.text, ln.confidence, ln.box, 1)
                                                                          for ln in OCR.lines), 600, 200, 0, 0))])
    body = combine(TEXT, [rule]).placed(*document.page_box((2, 3))).to_dict()
    assert body["box"] == [[0, 60], [100, 60], [100, 110], [0, 110]] and body["page"] == 1


def test_resolve_fields_merges_info():
    doc, specs = resolve_fields("receipt", {"total": "tổng tiền phải trả", "cashier": "tên thu ngân"})
    keys = [s.key for s in specs]
    assert keys == ["seller", "address", "date", "total", "cashier"]
    total = specs[3]
    assert total.kind == "amount" and total.description_vi == "tổng tiền phải trả"
    assert doc is DOCUMENT_TYPES["receipt"]


def test_every_document_type_is_well_formed():
    for name, doc in DOCUMENT_TYPES.items():
        keys = doc.keys()
        assert len(keys) == len(set(keys)), name
        for spec in doc.fields:
            assert spec.kind in ("text", "date", "amount", "id_number", "enum")
            assert all(a == a.lower() for a in spec.anchors)


def test_short_values_ground_only_on_token_boundaries():
    assert ground("01", OCR)[0] == ()  # inside "11/08/2020"? no: "08" and "2020" are tokens, "01" is not
    assert ground("08", OCR)[0] == (1,)
    assert ground("168,000", OCR)[0] == (0,)


def test_base_model_answers_rank_below_a_weak_rule_reading():
    from app.extraction.fields import LLM_CONFIDENCE

    rule = Candidate("seller", "NHÀ SÁCH GD-TC CẨM PHẢ", "NHÀ SÁCH GD-TC CẨM PHẢ", 0.3, "rule", (0,))
    for style, winner in (("base", "rule"), ("instruct", "llm")):
        llm = llm_candidate(TEXT, "CỘNG HÒA", OCR, LLM_CONFIDENCE[style])
        assert combine(TEXT, [rule, llm]).source == winner


def test_tax_code_of_implausible_length_is_halved():
    spec = next(s for s in DOCUMENT_TYPES["invoice"].fields if s.key == "seller_tax_code")
    long = Candidate("seller_tax_code", "1" + "0" * 62, "1" + "0" * 62, 0.6, "llm", (0,))
    mst = Candidate("seller_tax_code", "0101243150-001", "0101243150001", 0.6, "llm", (0,))
    assert combine(spec, [long]).confidence == 0.3
    assert combine(spec, [mst]).confidence == 0.6
