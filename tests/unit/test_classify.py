"""Document classification, info -> field mapping and the generic caption reader (hand-made OCR lines)."""

import json

import pytest

from app.classify import classify, map_info
from app.classify.mapping import SYNONYMS, implied_kind, words
from app.domain import OcrResult
from app.extraction.doctypes import DOCUMENT_TYPES, FieldSpec
from app.extraction.extractor import ExtractOptions, FieldExtractor
from app.extraction.readers.caption import read_captions
from app.llm.client import LLMClient
from app.llm.prompts import PromptBuilder
from tests.conftest import FakeOpenAI, line


def page(*texts, width=300, step=30):
    return OcrResult(tuple(line(t, 10, 10 + step * i, w=width - 20) for i, t in enumerate(texts)), width,
                     10 + step * len(texts) + 10, 0, 0)


CCCD_FRONT = page("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "CĂN CƯỚC CÔNG DÂN", "Citizen Identity Card",
                  "Số / No.: 001099012345", "Họ và tên / Full name:", "NGUYỄN VĂN AN",
                  "Ngày sinh / Date of birth: 01/02/1999", "Giới tính / Sex: Nam", "Quê quán / Place of origin:",
                  "Nơi thường trú / Place of residence:", width=900)
CCCD_BACK = page("Đặc điểm nhân dạng / Personal identification:", "Nốt ruồi C: 1cm dưới trước mép phải",
                 "Ngày, tháng, năm / Date, month, year: 05/06/2021", "IDVNM0990123456001099012345<<8",
                 "9902013M3902017VNM<<<<<<<<<<<4", "NGUYEN<<VAN<AN<<<<<<<<<<<<<<<<", width=900)
RECEIPT = page("99 SPEED MART S/B", "LOT 2, JALAN BAHAGIA", "43000 KAJANG", "CASH BILL", "Cashier: ANNIE",
               "MILO 1KG 18.90", "SUGAR 2.50", "TOTAL 21.40", "CASH 50.00", "CHANGE 28.60", "THANK YOU",
               width=300)
VI_RECEIPT = page("VinCommerce", "Siêu thị VinMart", "ĐC: 12 Trần Phú, Hà Nội", "HÓA ĐƠN BÁN LẺ",
                  "Ngày bán: 12/08/2020", "Thu ngân: Lan", "Sữa tươi 25.000", "Tổng tiền: 25.000",
                  "Tiền khách đưa: 50.000", "Cảm ơn quý khách", width=300)
INVOICE = page("ACME GmbH", "INVOICE", "Invoice number: INV-2023-001", "Invoice date: 03/04/2023",
               "Bill to: Foo Ltd", "Description Qty Price", "Consulting 1 1,000.00", "Subtotal 1,000.00",
               "VAT 19% 190.00", "Total due 1,190.00", "IBAN DE00 1234", "Payment terms: 30 days", width=1200,
               step=40)
VI_INVOICE = page("HÓA ĐƠN GIÁ TRỊ GIA TĂNG", "Ký hiệu: 1C23TAA", "Số: 0000123", "Đơn vị bán hàng: CÔNG TY ABC",
                  "Mã số thuế: 0101234567", "Họ tên người mua hàng: Nguyễn An", "Cộng tiền hàng: 100.000",
                  "Thuế GTGT: 10.000", "Tổng cộng tiền thanh toán: 110.000", width=1200, step=40)
PURCHASE_ORDER = page("PURCHASE ORDER", "PO Number: PO-7781", "Order date: 2023-03-01", "Supplier: Widget Co",
                      "Ship to: Plant 2", "Delivery date: 2023-03-20", "Total 5,000.00", width=1200, step=40)
SALES_ORDER = page("SALES ORDER", "SO Number: SO-1002", "Customer: Foo Ltd", "Order date: 2023-03-01",
                   "Salesperson: Bob", "Total 700.00", width=1200, step=40)
OTHER = page("Dear Sir or Madam,", "I am writing to inform you", "Kind regards", width=1200, step=40)


@pytest.mark.parametrize("ocr,expected,source", [
    (CCCD_FRONT, "cccd_front", "text"), (CCCD_BACK, "cccd_back", "mrz"), (RECEIPT, "receipt", "text"),
    (VI_RECEIPT, "receipt", "text"), (INVOICE, "invoice", "text"), (VI_INVOICE, "invoice", "text"),
    (PURCHASE_ORDER, "purchase_order", "text"), (SALES_ORDER, "sales_order", "text"), (OTHER, "other", "none"),
])
def test_classify_from_titles_captions_and_mrz(ocr, expected, source):
    got = classify(ocr)
    assert (got.type, got.source) == (expected, source), got.scores
    assert 0 <= got.confidence <= 1
    if expected != "other":
        assert got.confidence >= 0.5


def test_classify_reads_the_cccd_qr_when_the_text_says_nothing():
    pytest.importorskip("zxingcpp")
    pytest.importorskip("segno")
    import numpy as np

    from tests.synthetic.cccd import random_person, render_cccd_front

    image = np.asarray(render_cccd_front(random_person(3)))[:, :, ::-1].copy()
    got = classify(OcrResult((), image.shape[1], image.shape[0], 0, 0), image=image)
    assert (got.type, got.source) == ("cccd_front", "qr")
    assert got.qr_payload is not None and got.qr_payload.count("|") >= 5


def test_the_qr_code_the_classifier_decoded_is_not_decoded_again(monkeypatch):
    pytest.importorskip("zxingcpp")
    pytest.importorskip("segno")
    import numpy as np

    from app.extraction.readers import qr
    from tests.synthetic.cccd import random_person, render_cccd_front

    person = random_person(3)
    image = np.asarray(render_cccd_front(person))[:, :, ::-1].copy()
    decoded = []
    real = qr._texts_per_variant

    def counting(img):
        decoded.append(1)
        yield from real(img)

    monkeypatch.setattr(qr, "_texts_per_variant", counting)
    out = _extractor(FakeOpenAI()).extract(OcrResult((), image.shape[1], image.shape[0], 0, 0), None,
                                            ExtractOptions(), image=image)
    assert out.document_type == "cccd_front" and out.classification["source"] == "qr"
    assert out.details["id_number"].source == "qr" and out.details["id_number"].value == person.id_number
    assert len(decoded) == 1  # the classifier's one pass; the QR reader used its payload


def test_classification_language_and_dict():
    got = classify(VI_RECEIPT)
    assert got.language == "vi" and classify(RECEIPT).language == "other"
    assert set(got.to_dict()) == {"type", "confidence", "source"}


@pytest.mark.parametrize("doc,key,description,expected", [
    ("cccd_front", "so_cccd", "Số căn cước", "id_number"),
    ("cccd_front", "x", "so CCCD", "id_number"),
    ("cccd_front", "x", "ID number", "id_number"),
    ("cccd_front", "ten", "Tên đầy đủ", "full_name"),
    ("cccd_front", "x", "Ho va ten", "full_name"),
    ("cccd_front", "dateOfBirth", "", "date_of_birth"),
    ("cccd_front", "x", "ngày tháng năm sinh", "date_of_birth"),
    ("cccd_front", "x", "Ngày hết hạn", "date_of_expiry"),
    ("cccd_front", "x", "Gender", "sex"),
    ("cccd_front", "x", "hometown", "place_of_origin"),
    ("cccd_back", "x", "ngày cấp", "date_of_issue"),
    ("cccd_back", "x", "distinguishing marks", "personal_identification"),
    ("receipt", "x", "tổng tiền thanh toán", "total"),
    ("receipt", "x", "Total amount", "total"),
    ("receipt", "x", "grand totl", "total"),  # misspelt
    ("receipt", "x", "tong so tien phai tra", "total"),
    ("receipt", "x", "ngày giờ in hóa đơn (date and time)", "date"),
    ("receipt", "x", "store name", "seller"),
    ("receipt", "x", "adress of the shop", "address"),
    ("invoice", "x", "mã số thuế", "seller_tax_code"),
    ("invoice", "x", "VAT amount", "tax_amount"),
    ("invoice", "x", "invoice no.", "invoice_number"),
    ("purchase_order", "x", "PO number", "order_number"),
    ("purchase_order", "x", "ngày giao hàng", "delivery_date"),
])
def test_map_info_matches_phrasings(doc, key, description, expected):
    match = map_info({key: description or key}, doc)[key]
    assert match.field == expected, match


def test_map_info_keeps_unknown_fields_unmatched_and_types_them():
    got = map_info({"phone": "số điện thoại", "cashier": "cashier name", "cur": "currency of the amounts",
                    "paid": "tiền khách đưa", "ship": "shipping method"}, "receipt")
    assert {k: m.field for k, m in got.items()} == {k: None for k in got}
    assert {k: m.kind for k, m in got.items()} == {"phone": "number", "cashier": "text", "cur": "text",
                                                   "paid": "amount", "ship": "text"}
    assert map_info({"id": "ID"}, None)["id"].field is None  # no type: nothing to map onto
    # not by elimination either: the shop's phone is no field of a receipt
    assert map_info({"phone": "telephone number of the shop"}, "receipt")["phone"].field is None


def test_a_key_named_as_a_field_maps_to_it():
    assert map_info({"total": "whatever the caller calls it"}, "receipt")["total"].field == "total"


def test_words_fold_split_and_drop_function_words():
    assert words("dateOfBirth") == ["date", "birth"]
    assert words("Số căn cước của công dân") == ["so", "can", "cuoc", "cong", "dan"]
    assert implied_kind("x", "Tên đầy đủ") == "text"  # "đầy" folds to "day"; not a date
    assert implied_kind("x", "Thuộc quốc gia nào") == "text"  # "quốc gia" is a country, not a price ("giá")
    assert implied_kind("x", "Đơn giá") == "amount"


def test_synonyms_cover_every_known_field():
    keys = {s.key for doc in DOCUMENT_TYPES.values() for s in doc.fields}
    assert keys <= set(SYNONYMS)


def test_plain_preset_is_a_hold_out():
    """The harness' plain descriptions are in no synonym list."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("ev", Path(__file__).parents[2] / "bench" / "evaluate.py")
    ev = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ev)
    phrases = {" ".join(words(p)) for ps in SYNONYMS.values() for p in ps}
    for dataset, info in ev.PLAIN_INFO.items():
        for key, description in info.items():
            assert " ".join(words(description)) not in phrases, (dataset, key, description)


def test_caption_reader_reads_after_fuzzy_captions():
    ocr = page("99 SPEED MART", "Cashier : ANNIE", "Tel: 03-8736 1234", "Ngay giao: 12/03/2020",
               "Tien khach dua", "50.000")
    specs = [(FieldSpec("cashier", "cashier name", "cashier name", free=True), "text"),
             (FieldSpec("phone", "số điện thoại (tel)", "số điện thoại (tel)", free=True), "number"),
             (FieldSpec("delivery", "ngày giao", "ngày giao", free=True), "date"),
             (FieldSpec("paid", "tiền khách đưa", "tiền khách đưa", free=True), "amount"),
             (FieldSpec("fax", "fax number", "fax number", free=True), "number")]
    got = {c.key: c for c in read_captions(ocr, specs)}
    assert got["cashier"].value == "ANNIE"
    assert got["phone"].value == "03-8736 1234"
    assert got["delivery"].normalized == "2020-03-12"
    assert got["paid"].line_indices == (5,) and got["paid"].value == "50.000"
    assert "fax" not in got


def _extractor(fake):
    return FieldExtractor(LLMClient(base_url="http://x/v1", model="m", backend="llamacpp", client=fake),
                          PromptBuilder("base"), max_tokens=32)


def test_info_only_request_is_classified_mapped_and_keeps_the_callers_keys():
    fake = FakeOpenAI()
    info = {"so_cccd": "Số căn cước", "ten": "Họ và tên", "dob": "ngày sinh", "hobby": "sở thích"}
    out = _extractor(fake).extract(CCCD_FRONT, info, ExtractOptions())
    assert list(out.fields) == list(info)
    assert out.fields["so_cccd"] == "001099012345" and out.fields["ten"] == "NGUYỄN VĂN AN"
    assert out.details["dob"].normalized == "1999-02-01"
    assert out.document_type == "cccd_front" and out.classification["type"] == "cccd_front"
    assert {k: out.details[k].to_dict()["matched_field"] for k in info} == {
        "so_cccd": "id_number", "ten": "full_name", "dob": "date_of_birth", "hobby": None}
    # Only the field no reader found went to the LLM, with the caller's description.
    assert len(fake.requests) == 1 and "sở thích" in fake.requests[0][1]["prompt"]
    assert {"classify", "mapping", "rules", "captions"} <= set(out.stage_ms)


def test_a_named_type_keeps_todays_behaviour():
    out = _extractor(FakeOpenAI()).extract(RECEIPT, {"total": "tổng"}, ExtractOptions(), document_type="cccd_front")
    assert out.classification == {"type": "cccd_front", "confidence": 1.0, "source": "given"}
    assert list(out.fields)[:1] == ["id_number"] and "total" in out.fields
    assert "matched_field" not in out.details["total"].to_dict()


def test_auto_without_info_returns_the_detected_types_fields():
    out = _extractor(FakeOpenAI()).extract(RECEIPT, None, ExtractOptions(), document_type="auto")
    assert list(out.fields) == DOCUMENT_TYPES["receipt"].keys()
    assert out.fields["total"] == "21.40"
    json.dumps(out.classification)


def test_an_unnamed_field_maps_onto_the_types_only_field_of_its_kind():
    got = map_info({"a": "how much is it", "b": "day of the visit", "c": "tiền khách đưa"}, "receipt")
    assert (got["a"].field, got["a"].score) == ("total", 0.5)
    assert got["b"].field == "date"
    assert got["c"].field is None  # cash handed over: another attribute, not the total
    assert map_info({"a": "how much is it"}, "invoice")["a"].field is None  # three amounts: ambiguous
    # "cost" names the total among the three (by elimination, no other entry took it)
    assert map_info({"a": "how much did it cost"}, "invoice")["a"].field == "total"


def test_info_is_mapped_as_a_whole_one_field_to_one_entry():
    """Entries compete for fields: the best-scoring takes one, the others the fields left,
    by elimination among those of the kind their description implies."""
    got = map_info({"a": "Who is the customer?", "b": "Who is selling?", "c": "Total VAT",
                    "d": "Gross amount including VAT", "e": "issued on"}, "sales_order")
    assert (got["a"].field, got["b"].field) == ("customer", "seller")  # "sold to" alone would take both
    got = map_info({"c": "Total VAT", "d": "Gross amount including VAT", "e": "issued on",
                    "f": "Who ordered from us"}, "invoice")
    assert {k: m.field for k, m in got.items()} == {"c": "tax_amount", "d": "total", "e": "date", "f": "buyer"}
    # nothing by elimination to an entry most like another type's field, or another attribute
    assert map_info({"shop": "name of the shop"}, "cccd_front")["shop"].field is None
    assert map_info({"buyer": "customer name"}, "receipt")["buyer"].field is None
    assert map_info({"ghi_chu": "ghi chú"}, "cccd_back")["ghi_chu"].field is None
    assert map_info({"q": "the first word printed on the note"}, "receipt")["q"].field is None
    # a caller may still ask for one field twice
    assert {m.field for m in map_info({"a": "total amount", "b": "grand total"}, "receipt").values()} == {"total"}


def test_words_share_a_root_across_derivations():
    from app.classify.mapping import _same_word

    assert _same_word("buyer", "buying") and _same_word("supplier", "supply") and _same_word("dated", "date")
    assert _same_word("paid", "payable") and _same_word("vat", "tax")
    assert not _same_word("thich", "tich", typo=False) and not _same_word("order", "ordinal")


def test_receipt_titles_and_sentences_are_not_order_or_invoice_titles():
    # "HÓA ĐƠN BÁN HÀNG" (a sales receipt) holds "đơn bán hàng"; a Co.opMart slip offers to
    # issue a VAT invoice ("Có giá trị xuất Hóa đơn GTGT trong ngày") without being one.
    assert classify(page("CỬA HÀNG AN", "HÓA ĐƠN BÁN HÀNG", "Số: 123", "Ngày: 11-08-2020", "Thành tiền 145,000",
                         "Cộng tiền hàng 145,000")).type == "receipt"
    assert classify(page("Co.opMart", "PHIEU TINH TIEN", "Co gia tri xuat Hoa don GTGT trong ngay", "Quay: 04",
                         "Nhan vien: Tam", "7,000.00")).type == "receipt"


def test_question_focus_is_the_noun_an_interrogative_qualifies():
    from app.classify.mapping import question_focus

    assert question_focus("Sinh ra ở tỉnh nào") == {"tinh"}
    assert question_focus("Tên gì") == {"ten"}
    assert question_focus("Which country issued the card") == {"country"}
    assert question_focus("what currency") == {"currency"}
    assert question_focus("Quốc tịch") == frozenset()


@pytest.mark.parametrize("description", ["Công dân thuộc nước nào", "Người mang thẻ là công dân nước nào",
                                         "Holder is a citizen of which nation"])
def test_a_question_about_the_country_maps_to_nationality(description):
    # The asked-about noun ("nước", "nation") weighs FOCUS_WEIGHT times, so the words of other
    # fields' vocabularies ("công dân" of the ID number) do not drown it; the two Vietnamese
    # phrasings mapped to no field before; none is in a synonym list.
    assert map_info({"q": description}, "cccd_front")["q"].field == "nationality"


def test_the_document_language_is_decided_once_per_request(monkeypatch):
    """Classification, the rules, the line items, the checks and the place-name repair all
    ask whether the page is Vietnamese; the pipeline decides it once and passes it on."""
    import io

    from PIL import Image

    from app.classify import language
    from app.config import Settings
    from app.pipeline import DocumentPipeline, Upload
    from tests.conftest import FakeOcrEngine

    assert classify(VI_RECEIPT).type == "receipt"
    calls = []
    real = language.looks_vietnamese
    monkeypatch.setattr(language, "looks_vietnamese", lambda texts: calls.append(1) or real(texts))
    buf = io.BytesIO()
    Image.new("RGB", (400, 200), "white").save(buf, "PNG")
    pipeline = DocumentPipeline(Settings(), FakeOcrEngine(VI_RECEIPT.lines), _extractor(FakeOpenAI()))
    calls.clear()
    result = pipeline.process(Upload("r.png", buf.getvalue()), options=ExtractOptions())
    assert result.document_type == "receipt" and result.classification["source"] != "given"
    assert result.line_items is not None and result.checks is not None
    assert len(calls) == 1


def test_the_document_currency_is_decided_once_per_request(monkeypatch):
    """The caption rules, the key-value reader and the line items each parse amounts printed
    without a currency; the pipeline decides the document's currency once (one rule: ringgit,
    then dong or a Vietnamese page, then the currency most lines name) and they all read it."""
    import io

    from PIL import Image

    import app.extraction.currency as currency
    import app.extraction.item_lists as item_lists
    import app.pipeline as pipeline_module
    from app.config import Settings
    from app.pipeline import DocumentPipeline, Upload
    from tests.conftest import FakeOcrEngine

    calls = []
    real = currency.document_currency

    def counted(lines, language=None):
        calls.append(1)
        return real(lines, language)

    for module in (currency, item_lists, pipeline_module):
        monkeypatch.setattr(module, "document_currency", counted)
    buf = io.BytesIO()
    Image.new("RGB", (400, 200), "white").save(buf, "PNG")
    pipeline = DocumentPipeline(Settings(), FakeOcrEngine(VI_RECEIPT.lines), _extractor(FakeOpenAI()))
    result = pipeline.process(Upload("r.png", buf.getvalue()), options=ExtractOptions())
    assert result.fields["total"].normalized["currency"] == "VND"
    assert len(calls) == 1


@pytest.mark.parametrize("texts, language, expected", [
    (["TOTAL RM 12.00", "CASH $20.00"], None, "MYR"),  # ringgit first: Malaysian tills print $ beside prices
    (["Tổng tiền 408.000đ"], None, "VND"),
    (["Tong 408.000"], "vi", "VND"),
    (["Net 10.00 EUR", "VAT 1.90 EUR", "Total 11.90 $"], None, "EUR"),
    (["Total 11.90"], "other", None),
])
def test_one_rule_for_the_document_currency(texts, language, expected):
    from app.extraction.currency import currency_of, document_currency

    lines = [line(t, 10, 10 + 30 * i) for i, t in enumerate(texts)]
    assert document_currency(lines, language) == expected
    assert currency_of(OcrResult(tuple(lines), 600, 400, 0, 0, language=language)) == expected
    decided = OcrResult(tuple(lines), 600, 400, 0, 0, language=language, currency="")
    assert currency_of(decided) is None  # decided: the document names none; not decided again


def _till_pipeline(rows: list[list[tuple[str, float]]], height: int):
    """A pipeline whose OCR answers a till's ``rows`` (cells of ``(text, x)``, 30 px apart),
    and a blank PNG to send it."""
    import io

    from PIL import Image

    from app.config import Settings
    from app.pipeline import DocumentPipeline
    from tests.conftest import FakeOcrEngine

    till = OcrResult(tuple(line(t, x, 10 + 30 * k, w=min(180, 12 * len(t))) for k, cells in enumerate(rows)
                           for t, x in cells), 600, height, 0, 0)
    buf = io.BytesIO()
    Image.new("RGB", (400, 200), "white").save(buf, "PNG")
    return DocumentPipeline(Settings(), FakeOcrEngine(till.lines), _extractor(FakeOpenAI())), buf.getvalue()


def test_a_total_the_checks_chose_is_the_fields_value_on_every_door():
    """The rows' sum decided the total (the readers took the cash paid): the response's
    ``extracted_fields`` and ``fields`` say the same."""
    from app.pipeline import Upload

    rows = [[("Co.opMart", 150)], [("PHIEU TINH TIEN", 120)], [("Ngay: 21/05/2020", 10)],
            [("08935005800015 Nuoc khoang Lavie", 10)], [("VAT10%", 10), ("7,000.00", 200), ("7,000.00", 400)],
            [("08934839125097 KDR P/S 123 240g", 10)], [("VAT10%", 10), ("35,000.00", 200), ("35,000.00", 400)],
            [("Tong so tien thanh toan:", 10), ("42,000.00", 400)], [("Khach thanh toan:", 10), ("500,000.00", 400)]]
    pipeline, png = _till_pipeline(rows, 300)
    result = pipeline.process(Upload("r.png", png), options=ExtractOptions(), document_type="receipt")
    assert result.fields["total"].checks["reader"] == "rows_sum"  # the sum chose (else nothing is tested)
    assert result.values["total"] == result.fields["total"].value == "42,000.00"
    assert result.to_dict()["extracted_fields"]["total"] == result.to_dict()["fields"]["total"]["value"]


def test_the_checks_run_on_a_callers_info_keys_as_on_a_named_type():
    """A legacy client sends only ``info``: its total key, mapped to ``total``, is checked
    against the rows (and chosen by their sum) as with ``document_type: receipt``."""
    from app.pipeline import Upload

    rows = [[("Co.opMart", 150)], [("PHIEU TINH TIEN", 120)], [("HOA DON BAN LE", 120)], [("Ngay: 21/05/2020", 10)],
            [("08935005800015 Nuoc khoang Lavie", 10)], [("VAT10%", 10), ("7,000.00", 200), ("7,000.00", 400)],
            [("08934839125097 KDR P/S 123 240g", 10)], [("VAT10%", 10), ("35,000.00", 200), ("35,000.00", 400)],
            [("Tong so tien thanh toan:", 10), ("42,000.00", 400)], [("Khach thanh toan:", 10), ("500,000.00", 400)],
            [("Cam on quy khach", 120)]]
    pipeline, png = _till_pipeline(rows, 400)
    named = pipeline.process(Upload("r.png", png), options=ExtractOptions(), document_type="receipt")
    legacy = pipeline.process(Upload("r.png", png), options=ExtractOptions(),
                              info={"tong_tien": "Tổng tiền thanh toán", "ngay": "Ngày mua hàng"})
    assert legacy.document_type == "receipt"  # detected (else the mapping is not what is tested)
    assert legacy.fields["tong_tien"].matched_field == "total"
    assert legacy.fields["tong_tien"].checks["reader"] == "rows_sum"
    assert legacy.values["tong_tien"] == named.values["total"] == "42,000.00"
    assert legacy.checks == named.checks and legacy.checks["ok"] is True
    assert [i.amount for i in legacy.line_items] == [i.amount for i in named.line_items]


def _sheet(texts: list[str], width: float) -> OcrResult:
    """One text line a row, 20 px high, the text area ``width`` px wide (the page as wide)."""
    lines = [line(t, 10, 10 + 30 * i, w=min(width, 12 * len(t))) for i, t in enumerate(texts)]
    lines.append(line("|", 10 + width - 5, 10, w=5))  # the right margin's mark: the text area's width
    return OcrResult(tuple(lines), int(width) + 20, 30 * len(texts) + 20, 0, 0)


VI_SALES_INVOICE = ["HẢI ĐĂNG", "HÓA ĐƠN BÁN HÀNG 41385", "Số HĐ 41385", "Ngày 01/04/2025", "Mã KH 27092",
                    "STT Mặt hàng SL Đơn giá Thành tiền", "1 Dịch vụ kế toán 2 1.500.000 3.000.000",
                    "Tổng cộng 3.000.000", "Cảm ơn quý khách", "CÔNG TY TNHH THƯƠNG MẠI HẢI ĐĂNG"]


def test_a_sheet_is_no_till_roll():
    """The same words on an A4 sheet (40+ line heights wide) are an invoice's; on a roll
    (SROIE and MC-OCR: at most 30) a receipt's; a sheet that calls itself a receipt stays one."""
    assert classify(_sheet(VI_SALES_INVOICE, 1200)).type == "invoice"  # 60 line heights
    assert classify(_sheet(VI_SALES_INVOICE, 500)).type == "receipt"  # 25
    hotel = ["OYO Rooms", "PAYMENT RECEIPT", "Booking ID 1234", "Room Charges 1939", "Total 1939",
             "Thank you", "Guest: A. Kumar", "Date 12/03/2019", "Oravel Stays Pvt. Ltd."]
    assert classify(_sheet(hotel, 1200)).type == "receipt"


@pytest.mark.parametrize("title, expected", [
    ("ORDEN DE COMPRA", "purchase_order"), ("ORDINE DI ACQUISTO", "purchase_order"), ("Pedido", "purchase_order"),
    ("FATTURA", "invoice"), ("Factura", "invoice"), ("ORDER", "invoice"),  # an invoice's "ORDER" line is no title
])
def test_order_and_invoice_titles_of_more_languages(title, expected):
    texts = [title, "Nord Orion S.p.A.", "Data 03/04/2025", "Payment terms: 30 days", "IBAN IT60X054281110",
             "Articolo 1 100,00", "Totale 122,00", "Dirección de factura: Calle Mayor 1"]
    assert classify(_sheet(texts, 1200)).type == expected
