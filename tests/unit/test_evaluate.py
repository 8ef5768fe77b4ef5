"""The evaluation harness's scoring helpers (bench/evaluate.py), on fixed inputs."""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def ev():
    spec = importlib.util.spec_from_file_location("bench_evaluate", ROOT / "bench" / "evaluate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tables_cover_every_field(ev):
    for dataset, fields in ev.FIELDS.items():
        assert set(ev.RESPONSE_KEYS[dataset]) == set(fields)
        assert set(ev.NAIVE_INFO[dataset]) == set(fields)
        assert dataset in ev.DEFAULT_CURRENCY
        for kind in fields.values():
            assert kind in ("text", "date", "amount", "currency", "id_number")


@pytest.mark.parametrize("kind, label, reason", [
    ("text", None, "no label"),
    ("text", "   ", "no label"),
    ("amount", "TỔNG TIỀN PHẢI T.TOÁN", "no digits"),
    ("date", "Ngày :", "no date"),
    ("text", "ĐỊA CHỈ ĐẠI LÝ:", "caption only"),
    ("amount", "Tổng tiền 168,000", None),
    ("date", "Ngày: 11-08-2020", None),
    ("text", "MINIMART ANAN", None),
])
def test_skip_reason(ev, kind, label, reason):
    assert ev.skip_reason(kind, label, "VND") == reason


def test_label_text(ev):
    assert ev.label_text(319.0) == "319"
    assert ev.label_text(4.11) == "4.11"
    assert ev.label_text(None) is None


def test_pick_prediction_prefers_the_first_key_present(ev):
    result = {"extracted_fields": {"seller": "VINMART", "total": "60.30", "date": None}}
    assert ev.pick_prediction(result, ("company", "seller")) == ("seller", "VINMART")
    assert ev.pick_prediction(result, ("date",)) == ("date", None)
    assert ev.pick_prediction(result, ("missing",)) == (None, None)
    assert ev.pick_prediction(None, ("date",)) == (None, None)


def test_pick_prediction_reads_rich_fields(ev):
    result = {"extracted_fields": {}, "fields": {"total": {"value": "RM 8.20", "normalized": {"amount": "8.20"}}}}
    assert ev.pick_prediction(result, ("total",)) == ("total", "RM 8.20")
    as_list = {"fields": [{"key": "date", "value": "19/10/2018"}]}
    assert ev.pick_prediction(as_list, ("date",)) == ("date", "19/10/2018")
    amount_object = {"extracted_fields": {"total": {"amount": "60.30", "currency": "MYR"}}}
    assert ev.pick_prediction(amount_object, ("total",)) == ("total", "60.30 MYR")


def test_score_field(ev):
    row = ev.score_field("amount", "Tống số thanh toán: 408.000đ", "408000", "VND")
    assert row["match"] is True and row["similarity"] == 1.0
    assert row["label_norm"] == row["prediction_norm"] == "408000"
    row = ev.score_field("text", "NHÀ SÁCH GD-TC CẨM PHẢ", "NHA SACH GD-TC CAM PHA")
    assert row["match"] is False and 0.5 < row["similarity"] < 1.0
    row = ev.score_field("date", "19/10/2018", None)
    assert row == {"kind": "date", "label_raw": "19/10/2018", "prediction_raw": None, "label_norm": "2018-10-19",
                   "prediction_norm": "", "match": False, "similarity": 0.0}


def test_score_document_and_summary(ev):
    labels = [
        {"seller": "MINIMART ANAN", "address": "Chợ Sủi Phú Thị Gia Lâm", "timestamp": "Ngày: 11/08/2020 - 21:19",
         "total_cost": "Tổng tiền 168,000"},
        {"seller": None, "address": "ĐC: 212 Đường Trần Phú", "timestamp": "Ngày :",
         "total_cost": "TỔNG TIỀN PHẢI T.TOÁN"},
    ]
    results = [
        {"extracted_fields": {"seller": "MINIMART ANAN", "address": "Chợ Sủi", "date": "11/08/2020",
                              "total": "168.000"}},
        None,  # the request failed
    ]
    docs = [{"fields": ev.score_document("mcocr", label, result), "seconds": s, "ocr_ms": 1000.0,
             "extraction_ms": e, "error_code": None if result else "LLM_TIMEOUT"}
            for label, result, s, e in zip(labels, results, (2.0, 4.0), (500.0, None))]
    first = docs[0]["fields"]
    assert first["timestamp"]["response_key"] == "date" and first["timestamp"]["match"]
    assert first["total_cost"]["response_key"] == "total" and first["total_cost"]["match"]
    assert first["address"]["match"] is False
    second = docs[1]["fields"]
    assert second["seller"]["skipped"] == "no label"
    assert second["timestamp"]["skipped"] == "no date"
    assert second["total_cost"]["skipped"] == "no digits"
    assert second["address"]["match"] is False and second["address"]["similarity"] == 0.0

    summary = ev.summarise("mcocr", docs)
    f = summary["fields"]
    assert f["seller"] == {"kind": "text", "scored": 1, "exact": 1, "accuracy": 1.0, "mean_similarity": 1.0,
                           "skipped": 1, "skipped_by_reason": {"no label": 1}}
    assert f["address"]["scored"] == 2 and f["address"]["exact"] == 0 and f["address"]["accuracy"] == 0.0
    assert f["timestamp"]["scored"] == 1 and f["timestamp"]["skipped_by_reason"] == {"no date": 1}
    assert summary["micro"]["scored"] == 5 and summary["micro"]["exact"] == 3
    assert summary["micro"]["accuracy"] == 0.6
    assert summary["documents"] == 2 and summary["failed_requests"] == 1
    assert summary["seconds_per_document"] == 3.0
    assert summary["extraction_ms_mean"] == 500.0

    table = ev.format_table(summary)
    assert "| seller | text | 1 | 1 | 1 | 100.0 % | 1.000 |" in table
    assert "| **all (micro)** | | 5 | 3 | 3 | 60.0 % |" in table
    assert "3.0 s/document" in table


def test_summary_with_nothing_scored(ev):
    summary = ev.summarise("sroie", [])
    assert summary["micro"]["accuracy"] is None
    assert "–" in ev.format_table(summary)


def test_invoice2data_label_amounts_and_currency(ev):
    label = {"issuer": "Flipkart", "amount": 319.0, "date": "2015-10-20",
             "invoice_number": "#BLR_WFLD20151000982590", "currency": "INR"}
    result = {"extracted_fields": {"amount": "Rs. 319.00", "date": "20-10-2015",
                                   "invoice_number": "#BLR_WFLD20151000982590", "currency": "₹"}}
    fields = ev.score_document("invoice2data", label, result)
    assert {k: r["match"] for k, r in fields.items()} == {
        "amount": True, "date": True, "invoice_number": True, "currency": True}
    assert "issuer" not in fields


def test_build_config(ev):
    class Args:
        dataset = "sroie"
        config = None
        llm_timeout = 90.0

    assert ev.build_config(Args) == {"info": ev.NAIVE_INFO["sroie"], "llm_timeout": 90.0}
    Args.config, Args.llm_timeout = '{"document_type": "receipt"}', None
    assert ev.build_config(Args) == {"document_type": "receipt"}


def test_load_documents_reads_shared_data_in_place(ev):
    from tests.conftest import shared_path

    shared_path("sroie")
    docs, skipped = ev.load_documents("sroie")
    assert len(docs) == 250 and not skipped  # 100 first sampled + 150 added (SOURCE.md)
    assert set(docs[0]["label"]) >= {"company", "date", "address", "total"}
    docs, skipped = ev.load_documents("invoice2data")
    assert any(s["reason"].startswith("no image or PDF") for s in skipped)  # Orlen.txt
    assert all(d["filename"].endswith((".pdf", ".png")) for d in docs)
    assert sum(d["filename"].endswith(".pdf") for d in docs) == 11  # PDFs go to the service as PDFs


def test_describe_normalisation_prints_rules(ev, capsys):
    assert ev.main(["--describe-normalisation"]) == 0
    assert "Levenshtein" in capsys.readouterr().out


def test_rescore_a_saved_run(ev, tmp_path, capsys):
    from tests.conftest import shared_path

    shared_path("sroie")
    saved = {"dataset": "sroie", "config": {"info": {"date": "date"}}, "documents": [
        {"id": "X00016469619", "error_code": None, "seconds": 2.0,
         "extracted_fields": {"company": None, "date": "19/10/2018", "address": None, "total": "RM60.3"}},
        {"id": "X00016469672", "error_code": "LLM_TIMEOUT", "seconds": 1.0, "extracted_fields": None},
    ]}
    path = tmp_path / "run.json"
    path.write_text(__import__("json").dumps(saved))
    assert ev.main(["--rescore", str(path), "--out", str(tmp_path / "again.json")]) == 0
    out = capsys.readouterr().out
    assert "| date | date | 2 | 0 | 1 | 50.0 % |" in out
    assert "| total | amount | 2 | 0 | 1 | 50.0 % |" in out
    again = __import__("json").loads((tmp_path / "again.json").read_text())
    assert again["summary"]["micro"] == {"scored": 8, "exact": 2, "accuracy": 0.25, "mean_similarity": 0.25}


def test_summary_counts_fields_by_the_reader_that_gave_them(ev):
    label = {"company": "ANAN MART", "date": "03/02/2020", "address": "12 MAIN STREET", "total": "3.00"}
    result = {"extracted_fields": {"seller": "ANAN MART", "date": "03/02/2020", "address": "12 MAIN ST", "total": None},
              "fields": {"seller": {"value": "ANAN MART", "source": "rule"},
                         "date": {"value": "03/02/2020", "source": "llm"},
                         "address": {"value": "12 MAIN ST", "source": "rule"},
                         "total": {"value": None, "source": None}}}
    rows = ev.score_document("sroie", label, result)
    assert rows["company"]["source"] == "rule" and rows["date"]["source"] == "llm"
    summary = ev.summarise("sroie", [{"fields": rows}])
    assert summary["by_source"] == {"rule": {"scored": 2, "exact": 1}, "llm": {"scored": 1, "exact": 1},
                                    "none": {"scored": 1, "exact": 0}}
    assert "by reader (scored fields: exact / predicted): rule 1/2, llm 1/1, none 0/1" in ev.format_table(summary)


def test_line_item_scoring(ev):
    gold = ev.gold_line_items({"lines": [{"sectionheader": "--- Food ---"},
                                         {"name": "Olive  Oil\nextra", "price_subtotal": 0.9},
                                         {"line_note": "a note"}, {"desc": "Service B", "price": 5}]})
    assert gold == [{"description": "Olive Oil extra", "amount": "0.9"}, {"description": "Service B", "amount": "5"}]
    predicted = [{"description": "OLIVE OIL EXTRA", "amount": "0.90"}, {"description": "Service B", "amount": "6"},
                 {"description": "Bogus", "amount": "1"}]
    counts = ev.score_line_items(gold, predicted)
    assert counts == {"gold": 2, "predicted": 3, "matched": 1}
    figures = ev.line_item_figures([counts])
    assert figures["precision"] == round(1 / 3, 4) and figures["recall"] == 0.5 and figures["f1"] == 0.4
    assert ev.gold_line_items({"amount": 3}) is None
    assert ev.line_item_match({"description": "Parts: 1 x cap_a", "amount": None},
                              {"description": "Service A Parts: 1 x cap_a", "amount": "120"})


def test_synthetic_invoices_are_rendered_with_labels(ev):
    pytest.importorskip("reportlab")
    from tests.synthetic.invoices import SANS

    if not SANS.exists():
        pytest.skip(f"{SANS} missing (apt-get install fonts-dejavu-core)")
    docs, skipped = ev.load_documents("invoices_synthetic")
    assert len(docs) == 9 and not skipped
    assert {d["config"]["document_type"] for d in docs} == {"invoice", "purchase_order"}
    assert docs[0]["load"]()[:5] == b"%PDF-" and len(docs[0]["label"]["line_items"]) == 28


def test_plain_preset_sends_opaque_keys_and_renames_them_back(ev):
    class Args:
        dataset = "mcocr"
        config = None
        llm_timeout = None
        info_preset = "plain"

    info = ev.build_config(Args)["info"]
    assert list(info) == ["q1", "q2", "q3", "q4"] and set(info.values()) == set(ev.PLAIN_INFO["mcocr"].values())
    _, back = ev.plain_info("mcocr")
    result = {"extracted_fields": {"q4": "10.000"}, "fields": {"q4": {"value": "10.000"}}}
    assert ev.rename_result(result, back)["extracted_fields"] == {"total_cost": "10.000"}


def test_sroie_split_follows_the_manifest(ev):
    from tests.conftest import shared_path

    shared_path("sroie")
    docs, _ = ev.load_documents("sroie")
    old, new = ev.select_split("sroie", docs, "old"), ev.select_split("sroie", docs, "new")
    assert (len(old), len(new)) == (100, 150) and not {d["id"] for d in old} & {d["id"] for d in new}


def test_info_mapping_presets_name_fields_of_their_types():
    """bench/info_mapping.py scores each description against a field of its document type:
    a label key that is no such field would count a right mapping as a miss."""
    from app.extraction.doctypes import DOCUMENT_TYPES

    spec = importlib.util.spec_from_file_location("bench_info_mapping", ROOT / "bench" / "info_mapping.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for preset in ("tune", "plain"):
        groups = module.presets(preset)
        assert groups
        for group, doc_type, fields in groups:
            assert set(fields) <= set(DOCUMENT_TYPES[doc_type].keys()), (preset, group)
    assert module.main(["--preset", "tune"]) == 0
