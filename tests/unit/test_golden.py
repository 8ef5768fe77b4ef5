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


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_stored_json_reads_back_to_the_same_result(case, doors):
    """A job stores a result as its HTTP JSON and the gRPC jobs methods read it back
    (``DocumentResult.from_dict``): the JSON written again, and the gRPC message built
    from it, are those of the result itself."""
    from app.domain import DocumentResult
    from app.extraction.extractor import ExtractOptions
    from app.grpc.servicers import extract_response, ocr_response
    from app.pipeline import Upload

    data = case.load()
    if data is None or case.name not in OCR:
        pytest.skip(f"{case.name}: its source or its recorded OCR is missing here")
    checked = 0
    for kind in ("extract", "ocr"):
        doors.engine.load(OCR[case.name])
        upload = Upload(case.filename, data)
        if kind == "ocr":
            try:
                result = doors.pipeline.process(upload, ocr_only=True)
            except Exception as e:  # an XML upload has no pages to read
                assert getattr(e, "code", "") == "XML_HAS_NO_PAGES", e
                continue
        else:
            result = doors.pipeline.process(upload, options=ExtractOptions(), document_type=case.document_type)
        for with_box in (False, True):
            stored = json.loads(json.dumps(result.to_dict(with_box), default=str))
            back = DocumentResult.from_dict(stored)
            assert first_difference(json.loads(json.dumps(back.to_dict(with_box), default=str)), stored) is None
            checked += 1
            if kind == "ocr" and not with_box:
                continue  # the OcrResponse always has boxes: JSON without them cannot make one
            build = ocr_response if kind == "ocr" else (lambda r: extract_response(r, with_lines=with_box))
            assert build(back) == build(result)
    assert checked >= 2
