"""The learned address line-role model: tree evaluation, checksum, decoding, and its use by the rule reader."""

import json

import pytest

from app.domain import OcrResult, TextLine
from app.errors import EngineUnavailable
from app.extraction.doctypes import DOCUMENT_TYPES
from app.extraction.line_roles import (DEFAULT_MODEL, FEATURES, TreeEnsemble, best_run, choose_address,
                                       line_features, load_model, margin_over_rules, trees_digest)
from app.extraction.normalize import fold
from app.extraction.rules import RuleReader


def model_of(trees):
    return {"features": list(FEATURES), "trees": trees, "sha256": trees_digest(trees)}


def stump(feature: str, threshold: float, below: float, above: float) -> dict:
    return {"feature": [FEATURES.index(feature)], "threshold": [threshold], "left": [~0], "right": [~1],
            "leaf": [below, above]}


def test_a_tree_sends_a_row_left_at_or_below_its_threshold_and_sums_leaves():
    trees = [stump("postcode", 0.5, -1.0, 2.0), {"feature": [], "threshold": [], "left": [], "right": [],
                                                 "leaf": [0.25]}]
    model = TreeEnsemble(model_of(trees))
    row = [0.0] * len(FEATURES)
    assert model.score(row) == pytest.approx(-0.75)
    row[FEATURES.index("postcode")] = 1.0
    assert model.score(row) == pytest.approx(2.25)
    assert 0.9 < model.probability(row) < 1.0


def test_a_two_level_tree():
    # root: index <= 2 ? (node 1: digits <= 0.1 ? leaf0 : leaf1) : leaf2
    tree = {"feature": [FEATURES.index("index"), FEATURES.index("digits")], "threshold": [2.0, 0.1],
            "left": [1, ~0], "right": [~2, ~1], "leaf": [1.0, 2.0, 3.0]}
    model = TreeEnsemble(model_of([tree]))
    row = [0.0] * len(FEATURES)
    assert model.score(row) == 1.0
    row[FEATURES.index("digits")] = 0.5
    assert model.score(row) == 2.0
    row[FEATURES.index("index")] = 3.0
    assert model.score(row) == 3.0


def test_a_model_whose_trees_do_not_match_its_checksum_or_features_is_refused():
    data = model_of([stump("postcode", 0.5, -1.0, 2.0)])
    data["trees"][0]["leaf"][1] = 5.0
    with pytest.raises(EngineUnavailable, match="checksum"):
        TreeEnsemble(data)
    other = model_of([stump("postcode", 0.5, -1.0, 2.0)])
    other["features"] = other["features"][:-1]
    with pytest.raises(EngineUnavailable, match="features"):
        TreeEnsemble(other)
    with pytest.raises(EngineUnavailable, match="malformed"):
        TreeEnsemble({"trees": []})


def test_best_run_is_the_consecutive_span_with_the_highest_sum():
    assert best_run([-1.0, 2.0, -0.5, 1.5, -3.0, 1.0]) == (1, 3)
    assert best_run([-1.0, -2.0]) is None
    assert best_run([0.5]) == (0, 0)


def test_the_committed_model_loads_and_matches_its_checksum():
    data = json.loads(DEFAULT_MODEL.read_text(encoding="utf-8"))
    assert data["sha256"] == trees_digest(data["trees"])
    assert data["features"] == list(FEATURES)
    assert DEFAULT_MODEL.stat().st_size < 400_000
    load_model(DEFAULT_MODEL)


def row_line(text, y, x=10, w=300, h=20):
    return TextLine(text, 0.95, ((x, y), (x + w, y), (x + w, y + h), (x, y + h)))


RECEIPT = [row_line("KEDAI RUNCIT MAJU SDN BHD", 10), row_line("(123456-K)", 40), row_line("NO 5, JALAN MAWAR 2,", 70),
           row_line("TAMAN MAWAR,", 100), row_line("43000 KAJANG, SELANGOR", 130), row_line("TEL: 03-8736 1234", 160),
           row_line("INVOICE NO: 1001", 200), row_line("TOTAL 12.00", 240)]


class PostcodeModel:
    """A fake model: a line is an address line when it holds a Malaysian place word or a postcode."""

    def score(self, row):
        return 2.0 if row[FEATURES.index("place_words")] or row[FEATURES.index("postcode")] else -2.0


def read(ocr, model):
    specs = [DOCUMENT_TYPES["receipt"].spec("seller"), DOCUMENT_TYPES["receipt"].spec("address")]
    return {c.key: c for c in RuleReader(address_model=model).read(ocr, specs, "receipt")}


def test_line_features_give_one_row_per_header_line_with_the_rules_picks():
    folded = [fold(ln.text) for ln in RECEIPT]
    rows = line_features(RECEIPT, folded, (0,), (2, 3, 4), False)
    assert len(rows) == len(RECEIPT) and all(len(r) == len(FEATURES) for r in rows)
    col = {name: i for i, name in enumerate(FEATURES)}
    assert [r[col["seller"]] for r in rows][:2] == [1.0, 0.0]
    assert [r[col["rule"]] for r in rows][:6] == [0, 0, 1, 1, 1, 0]
    assert rows[4][col["postcode"]] == 1.0 and rows[5][col["phone_meta"]] == 1.0
    assert rows[5][col["postcode_above"]] == 1.0 and rows[3][col["postcode_above"]] == 0.0


def test_the_rule_reader_takes_the_lines_the_model_picks():
    ocr = OcrResult(tuple(RECEIPT), 400, 300, 0.0, 0.0)
    got = read(ocr, PostcodeModel())["address"]
    assert got.value == "NO 5, JALAN MAWAR 2, TAMAN MAWAR, 43000 KAJANG, SELANGOR"
    assert got.line_indices == (2, 3, 4) and got.checks["model"] == "address_lines"
    assert "model" not in read(ocr, None)["address"].checks  # rules alone


def test_the_model_is_not_used_on_vietnamese_pages_or_captioned_addresses():
    class Everything:
        def score(self, row):
            return 3.0

    vi = OcrResult((row_line("CỬA HÀNG TIỆN LỢI", 10), row_line("Địa chỉ: 12 Nguyễn Trãi, Q.1", 40),
                    row_line("Ngày: 12/03/2020", 70), row_line("Tổng tiền: 50.000đ", 100)), 400, 200, 0.0, 0.0)
    assert "model" not in read(vi, Everything())["address"].checks
    captioned = OcrResult((row_line("ABC TRADING", 10), row_line("Address: 5 Jalan Mawar, Kajang", 40),
                           row_line("TOTAL 12.00", 70), row_line("THANK YOU", 100)), 400, 200, 0.0, 0.0)
    assert "model" not in read(captioned, Everything())["address"].checks


def test_a_model_that_picks_nothing_leaves_the_rules_address():
    class Nothing:
        def score(self, row):
            return -3.0

    ocr = OcrResult(tuple(RECEIPT), 400, 300, 0.0, 0.0)
    assert read(ocr, Nothing())["address"] == read(ocr, None)["address"]


def test_the_margin_over_the_rules_sums_log_odds_of_each_side():
    scores = [-2.0, 3.0, 1.0, -1.0, 0.5]
    assert margin_over_rules(scores, (1, 2), (2, 3)) == pytest.approx(4.0 - 0.0)
    assert margin_over_rules(scores, (1, 2), (2, 30)) == pytest.approx(3.0)  # a line past the header counts 0
    assert margin_over_rules(scores, (1,), ()) == float("inf")


def test_with_a_rule_margin_the_model_replaces_the_rules_only_when_it_is_surer_by_more():
    class Fake:
        rule_margin = 2.5

    scores = [-2.0, 3.0, 1.0, -1.0, -3.0]  # the model picks lines 1-2 (sum 4.0)
    assert choose_address(Fake(), scores, (1,)) is None              # 4.0 - 3.0 = 1.0 <= 2.5: rules kept
    picked, probability = choose_address(Fake(), scores, (2,))       # 4.0 - 1.0 = 3.0 > 2.5: the model's pick
    assert picked == (1, 2) and 0.5 < probability < 1.0
    assert choose_address(Fake(), scores, ()) is not None           # no rule address: the model's pick
    Fake.rule_margin = None
    assert choose_address(Fake(), scores, (1, 2)) == ((1, 2), pytest.approx(probability))  # no margin: always
    assert choose_address(Fake(), [-1.0, -2.0], (0,)) is None        # the model picks nothing


def test_the_committed_model_declares_its_rule_margin():
    data = json.loads(DEFAULT_MODEL.read_text(encoding="utf-8"))
    margin = data.get("rule_margin")
    assert margin is None or isinstance(margin, float)
    assert load_model(DEFAULT_MODEL).rule_margin == margin


def test_the_rule_reader_uses_the_committed_model_by_default():
    assert isinstance(RuleReader().address_model, TreeEnsemble)
    assert RuleReader(address_model=None).address_model is None
