"""Every door's answer on the golden documents is the recorded one (see :mod:`tests.golden.cases`).

The stored OCR is replayed and the LLM is a deterministic stand-in, so a difference
is a change in what the doors make of the same text. When the change is meant,
record again (``PYTHONPATH=. .venv/bin/python -m tests.golden.record --keep-ocr``)
and review the diff of ``tests/golden/responses.jsonl``.
"""

from __future__ import annotations

import json

import pytest

from tests.golden.cases import CASES, OCR_PATH, REQUESTS, RESPONSES_PATH, Doors, SequenceOcrEngine


def _recorded() -> dict:
    out: dict = {}
    for line in RESPONSES_PATH.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        out.setdefault(entry["case"], {})[entry["request"]] = entry["answer"]
    return out


RECORDED = _recorded()
OCR = json.loads(OCR_PATH.read_text(encoding="utf-8"))


def first_difference(got, want, path: str = "$") -> str | None:
    """The JSON path and values of the first place ``got`` and ``want`` differ (None: equal)."""
    if type(got) is not type(want):
        return f"{path}: got {got!r:.200}, recorded {want!r:.200}"
    if isinstance(got, dict):
        for key in sorted(set(got) | set(want)):
            if key not in got or key not in want:
                side = "recorded only" if key not in got else "new"
                return f"{path}.{key}: {side} ({(want if key not in got else got)[key]!r:.200})"
            found = first_difference(got[key], want[key], f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(got, list):
        if len(got) != len(want):
            return f"{path}: {len(got)} entries, recorded {len(want)}"
        for i, (g, w) in enumerate(zip(got, want)):
            found = first_difference(g, w, f"{path}[{i}]")
            if found:
                return found
        return None
    return None if got == want else f"{path}: got {got!r:.200}, recorded {want!r:.200}"


def test_first_difference_names_the_path():
    assert first_difference({"a": [1, {"b": 2}]}, {"a": [1, {"b": 2}]}) is None
    assert first_difference({"a": [1, {"b": 2}]}, {"a": [1, {"b": 3}]}) == "$.a[1].b: got 2, recorded 3"
    assert first_difference({"a": 1}, {}) == "$.a: new (1)"
    assert first_difference([1], [1, 2]) == "$: 1 entries, recorded 2"
    assert first_difference(1, 1.0).startswith("$: got 1")


@pytest.fixture(scope="module")
def doors():
    d = Doors(SequenceOcrEngine())
    yield d
    d.close()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_every_door_answers_as_recorded(case, doors):
    if case.name not in RECORDED or case.name not in OCR:
        pytest.skip(f"{case.name} was not recorded (its source was missing when tests.golden.record ran)")
    data = case.load()
    if data is None:
        pytest.skip(f"{case.name}: its source is missing here (../shared/data beside the project)")
    differences = []
    compared = 0
    for request in REQUESTS:
        want = RECORDED[case.name].get(request)
        if want is None:
            continue
        doors.engine.load(OCR[case.name])
        got = doors.ask(case, data, request)
        compared += 1
        found = first_difference(got, want)
        if found:
            differences.append(f"{request}: {found}")
    assert compared == len(REQUESTS), f"{case.name}: {compared} of {len(REQUESTS)} requests recorded"
    assert not differences, "\n".join(differences)
