"""AsterNet line recogniser wrapper: model discovery, input shape, CTC decoding.
No model run here (tests/integration/test_hybrid_ocr.py reads real photos)."""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest

from app.errors import EngineUnavailable
from app.ocr import aster
from app.ocr.aster import AsterRecognizer, ctc_greedy_decode

ALPHABET = ["<blank>", "a", "ộ", "C", "n", "g", " "]


def _frames(path: list[int], p: float = 0.9) -> np.ndarray:
    """(T, C) log-probabilities whose best class per frame follows ``path``."""
    lp = np.full((len(path), len(ALPHABET)), math.log((1 - p) / (len(ALPHABET) - 1)), dtype=np.float32)
    for t, k in enumerate(path):
        lp[t, k] = math.log(p)
    return lp


def test_ctc_collapses_repeats_and_drops_blanks():
    # Frames C C _ ộ ộ n _ n g: repeats collapse, but a blank between two n keeps both.
    text, conf = ctc_greedy_decode(_frames([3, 3, 0, 2, 2, 4, 0, 4, 5]), ALPHABET)
    assert text == "Cộnng"
    assert conf == pytest.approx(0.9, rel=1e-5)


def test_ctc_ignores_padding_frames_and_normalises_space_and_nfc():
    lp = _frames([6, 3, 6, 6, 0, 6, 2, 6, 1, 1])  # " C  ộ a" then padding frames of "a"
    assert ctc_greedy_decode(lp, ALPHABET, frames=8)[0] == "C ộ"
    assert ctc_greedy_decode(_frames([0, 0, 0]), ALPHABET) == ("", 0.0)


def test_prepare_gives_rgb_rows_of_the_model_height_and_width_multiple_of_4():
    bgr = np.zeros((20, 101, 3), np.uint8)
    bgr[:, :, 0] = 255  # blue in OpenCV order
    row = AsterRecognizer.prepare(bgr)
    assert row.shape[0] == 3 and row.shape[1] == aster.HEIGHT and row.shape[2] % 4 == 0
    assert row.dtype == np.float32 and row.max() <= 1.0
    assert row[2].mean() == pytest.approx(1.0) and row[0].mean() == pytest.approx(0.0)  # RGB: blue last
    assert AsterRecognizer.prepare(np.zeros((64, 10), np.uint8)).shape == (3, 32, 32)  # at least 32 wide


def test_missing_package_says_what_to_install(monkeypatch):
    monkeypatch.setattr(aster.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(EngineUnavailable, match="pip install asterocr"):
        aster.asset_dir()


def test_missing_model_files_refuse_to_start(tmp_path):
    with pytest.raises(EngineUnavailable, match="asternet.onnx"):
        AsterRecognizer(model_dir=tmp_path)


def test_package_code_is_never_imported(tmp_path):
    try:
        folder = aster.asset_dir()
    except EngineUnavailable as e:
        pytest.skip(e.message)
    before = set(sys.modules)
    AsterRecognizer(model_dir=folder)
    assert not any(m == "asterocr" or m.startswith("asterocr.") for m in set(sys.modules) - before)


def test_a_model_whose_checksum_differs_refuses_to_start(tmp_path):
    model = tmp_path / "retrained.onnx"
    model.write_bytes(b"not the shipped model")
    (tmp_path / "vocab.json").write_text('{"chars": ["<blank>", "a"]}', encoding="utf-8")
    with pytest.raises(EngineUnavailable, match="SHA-256"):
        AsterRecognizer(model_path=model, sha256="0" * 64)
    assert aster.file_sha256(model) == __import__("hashlib").sha256(b"not the shipped model").hexdigest()


def test_another_model_file_is_loaded_with_the_alphabet_beside_it(tmp_path):
    import shutil

    try:
        folder = aster.asset_dir()
    except EngineUnavailable as e:
        pytest.skip(e.message)
    model = tmp_path / "copy.onnx"
    shutil.copyfile(folder / aster.MODEL_FILE, model)
    with pytest.raises(EngineUnavailable, match="vocab.json"):
        AsterRecognizer(model_path=model, model_dir=tmp_path)  # no alphabet anywhere
    shutil.copyfile(folder / aster.VOCAB_FILE, tmp_path / aster.VOCAB_FILE)
    rec = AsterRecognizer(model_path=model, sha256=aster.file_sha256(model))
    assert rec.model_path == model and str(model) in rec.describe()
