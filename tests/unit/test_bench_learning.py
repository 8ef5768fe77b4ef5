"""Pure helpers of bench/train_address_lines.py (line labels, folds, tree export) and bench/llm_fallback.py."""

import importlib.util
from pathlib import Path

import pytest

from app.domain import TextLine


def _load(name):
    path = Path(__file__).parents[2] / "bench" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def train():
    return _load("train_address_lines")


@pytest.fixture(scope="module")
def fallback():
    return _load("llm_fallback")


def tl(text):
    return TextLine(text, 1.0, ((0, 0), (10, 0), (10, 10), (0, 10)))


def test_a_line_is_labelled_address_when_it_is_a_piece_of_the_label_up_to_ocr_errors(train):
    label = {"company": "ABC HO TRADING", "address": "NO.2&4, JALAN HARMONI 3/2, TAMAN DESA HARMONI. 81100 JOHOR BAHRU"}
    lines = [tl("ABC HO TRADING"), tl("NO.2&4, JALAN HARMONI 3/2,"), tl("TAMAN DESA HARMGNI."),
             tl("81100JOHOR BAHRU"), tl("2"), tl("TOTAL 31.00")]
    assert train.line_labels(lines, label) == [0, 1, 1, 1, 0, 0]


def test_folds_are_fixed_by_key(train):
    folds = {train.fold_of(f"X{i}") for i in range(200)}
    assert folds == set(range(train.FOLDS))
    assert train.fold_of("X51005361895") == train.fold_of("X51005361895")


def test_the_rule_margin_is_the_threshold_that_maximises_out_of_fold_exact_answers(train):
    # (margin, rules right, model right, weight): the model is right where it is much surer.
    cases = [(0.5, True, False, 1.0), (1.0, True, False, 1.0), (3.0, False, True, 1.0), (4.0, False, True, 5.0),
             (2.0, True, True, 1.0), (float("inf"), False, True, 1.0)]
    threshold, table = train.choose_margin(cases)
    assert threshold == 2.0  # midway between 1.0 and 3.0: keeps both rule wins, takes both model wins
    assert dict(table)[threshold] == max(v for _, v in table) == 10.0
    threshold, _ = train.choose_margin([(1.0, False, True, 1.0), (2.0, False, True, 1.0)])
    assert threshold < 1.0  # below every case: the model always wins
    assert train.choose_margin([(1.0, True, True, 1.0)])[0] is None  # nothing decides: no margin


def test_a_lightgbm_model_exports_to_trees_that_score_as_lightgbm_does(train):
    lgb = pytest.importorskip("lightgbm", reason="lightgbm (requirements-dev.txt) trains the model")
    import numpy as np

    from app.extraction.line_roles import FEATURES, TreeEnsemble

    rng = np.random.default_rng(0)
    x = rng.random((400, len(FEATURES)))
    y = (x[:, 3] + 0.5 * x[:, 7] > 0.8).astype(float)
    booster = lgb.train({**train.PARAMS, "num_leaves": 7}, lgb.Dataset(x, y), num_boost_round=20)
    model = TreeEnsemble(train.to_json(booster, FEATURES))
    expected = booster.predict(x[:50], raw_score=True)
    assert [model.score(list(row)) for row in x[:50]] == pytest.approx(list(expected), abs=1e-9)


def test_a_dropped_llm_value_is_none_for_the_client(fallback):
    from app.extraction.extractor import DROPPED_REASON

    result = {"extracted_fields": {"date": "last tuesday", "total": "3.00"},
              "fields": {"date": {"value": "last tuesday", "checks": {"dropped": DROPPED_REASON}},
                         "total": {"value": "3.00", "checks": {}}}}
    assert fallback.without_dropped(result)["extracted_fields"] == {"date": None, "total": "3.00"}


def test_timed_llm_records_each_call(fallback):
    class Client:
        def complete(self, prompt, **kw):
            return "x"

        def chat(self, messages, **kw):
            raise RuntimeError("down")

    timed = fallback.TimedLLM(Client())
    assert timed.complete("p") == "x"
    with pytest.raises(RuntimeError):
        timed.chat([])
    assert len(timed.seconds) == 2 and all(s >= 0 for s in timed.seconds)
