"""The stage-latency regression check (bench/stage_latency.py) and the stage timers of
bench/stage_profile.py: verdicts, anchoring, skipped stages. No timing is asserted."""

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _load(name: str, file: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


latency = _load("bench_stage_latency", "stage_latency.py")


def record(anchor=1.0, llm_fields=3, **stages):
    return {"anchor_s": anchor, "llm_fields": llm_fields, "stages_ms": stages}


def verdicts(lines):
    return {line.split("|")[1].strip(): line.split("|")[5].strip() for line in lines[2:]}


def test_a_stage_over_the_tolerance_fails_and_one_within_passes():
    lines, ok = latency.compare(record(wall=1300.0, ocr=1250.0), record(wall=1000.0, ocr=1100.0), 0.2, 20)
    assert not ok
    v = verdicts(lines)
    assert v["wall"].startswith("**SLOWER**") and v["ocr"] == "ok"


def test_figures_are_compared_after_dividing_by_the_anchor():
    # Twice as slow on a machine whose anchor is twice as slow: no regression.
    lines, ok = latency.compare(record(anchor=2.0, wall=2000.0), record(anchor=1.0, wall=1000.0), 0.2, 20)
    assert ok and verdicts(lines)["wall"] == "ok"
    # Same milliseconds on a machine twice as fast: a regression.
    lines, ok = latency.compare(record(anchor=0.5, wall=1000.0), record(anchor=1.0, wall=1000.0), 0.2, 20)
    assert not ok


def test_small_stages_are_not_judged_and_missing_ones_are_skipped_not_passed():
    lines, ok = latency.compare(record(wall=1000.0, rules=9.0, keyvalue=4.0),
                                record(wall=1000.0, rules=3.0, qr=10.0), 0.2, 20)
    v = verdicts(lines)
    assert ok
    assert v["rules"].startswith("not judged")
    assert v["qr"].startswith("skipped") and v["keyvalue"].startswith("skipped")


def test_more_fields_asked_of_the_llm_is_a_regression():
    lines, ok = latency.compare(record(llm_fields=9, wall=900.0), record(llm_fields=3, wall=1000.0), 0.2, 20)
    assert not ok and "**MORE**" in lines[-1]


def test_the_llm_stage_median_counts_only_documents_that_asked_it():
    rows = [{"document": "a", "wall": 100.0, "llm": 0.0, "llm_fields": 0},
            {"document": "b", "wall": 300.0, "llm": 2000.0, "llm_fields": 1},
            {"document": "c", "wall": 200.0, "llm_fields": 0}]
    out = latency._summary(rows)
    assert out["stages_ms"]["llm"] == 2000.0
    assert out["stages_ms"]["wall"] == 200.0 and out["llm_fields"] == 1


def test_stage_timers_count_a_nested_call_once_and_restore_the_functions(tmp_path, monkeypatch):
    (tmp_path / "fake_stage_mod.py").write_text(
        "def inner():\n    return 1\n"
        "def outer():\n    return inner() + inner()\n"
        "class K:\n    def run(self):\n        return outer()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import fake_stage_mod

    profile = _load("bench_stage_profile", "stage_profile.py")
    original_run, original_outer = fake_stage_mod.K.run, fake_stage_mod.outer
    timers = profile.StageTimers({"both": ["fake_stage_mod:outer", "fake_stage_mod:inner"],
                                  "method": ["fake_stage_mod:K.run"], "gone": ["fake_stage_mod:nothing"]})
    try:
        assert fake_stage_mod.K().run() == 2
        assert fake_stage_mod.inner() == 1
        # outer's two inner calls are inside it: one outermost call, then inner alone.
        assert timers.calls == {"both": 2, "method": 1, "gone": 0}
        assert timers.missing == ["fake_stage_mod:nothing"]
        timers.reset()
        assert timers.calls["both"] == 0 and timers.seconds["both"] == 0.0
    finally:
        timers.restore()
        sys.modules.pop("fake_stage_mod", None)
    assert fake_stage_mod.K.run is original_run and fake_stage_mod.outer is original_outer


def test_a_stage_measured_on_too_few_documents_is_not_judged():
    now = record(wall=1000.0, llm=5000.0) | {"stages_n": {"wall": 20, "llm": 1}}
    rec = record(wall=1000.0, llm=1000.0) | {"stages_n": {"wall": 20, "llm": 1}}
    lines, ok = latency.compare(now, rec, 0.2, 20)
    assert ok and verdicts(lines)["llm"].startswith("not judged (a median of 1 document)")
