"""The line-CER benchmark's scoring helpers (bench/ocr_cer.py), on fixed inputs."""

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def oc():
    spec = importlib.util.spec_from_file_location("bench_ocr_cer", ROOT / "bench" / "ocr_cer.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


def test_best_match_takes_a_line_or_a_pair_of_lines(oc):
    cands = oc.candidates(["Tổng tiền:", "168,000", "Tiền khách đưa:"])
    assert oc.best_match("Tổng tiền: 168,000", cands) == ("Tổng tiền: 168,000", 0)
    assert oc.best_match("xyz", ["abcdef", ""]) == ("", 3)  # nothing close: counted as not found


@pytest.mark.parametrize("label, hyp, kinds", [
    ("Cẩm Phả", "Cám Phá", {"missed": 0, "letters": 0, "spaces": 0, "marks": 2}),
    ("Thời gian 21:07", "Thời gian21:07", {"missed": 0, "letters": 0, "spaces": 1, "marks": 0}),
    ("Tổng tiền", "Tổng tien", {"missed": 0, "letters": 0, "spaces": 0, "marks": 1}),
    ("Minh Tiến", "Mlnh Tiến", {"missed": 0, "letters": 1, "spaces": 0, "marks": 0}),
    ("Ngày: 11/08/2020", "GOI 31,000", {"missed": 11, "letters": 0, "spaces": 0, "marks": 0}),
])
def test_error_kinds_add_up_to_the_edits(oc, label, hyp, kinds):
    from rapidfuzz.distance import Levenshtein

    edits = Levenshtein.distance(label, hyp)
    got = oc.error_kinds(label, hyp, edits)
    assert got == kinds and sum(got.values()) == edits


def test_totals_report_cer_by_kind(oc):
    totals = oc.Totals()
    totals.add_line("a", "Cẩm Phả", "Cám Phá", 2)
    totals.add_line("a", "Minh", "Minh", 0)
    s = totals.summary()
    assert s["cer_micro"] == pytest.approx(2 / 11)
    assert s["cer_by_kind"]["marks"] == pytest.approx(2 / 11) and s["cer_by_kind"]["missed"] == 0
