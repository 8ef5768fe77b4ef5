"""QR and MRZ readers on synthetic CCCD cards rendered at test time.

The QR code on the rendered front is decoded with zxing-cpp; the rendered back
goes through the real RapidOCR engine and :func:`mrz_candidates`. Each card is
read clean and degraded (rotated ±3°, Gaussian blur radius 0.8, JPEG
quality 70).

Measured over seeds 0-39 (RapidOCR 3.10, PP-OCRv6 small): QR 40/40 clean and
40/40 degraded; MRZ (ID, birth date, sex, expiry, name, all check digits
valid) 39/40 clean and 40/40 degraded. The one miss (seed 5, clean) is
RapidOCR's text-line orientation classifier turning MRZ line 1 upside down;
it reads correctly with the classifier off. With DejaVu's own small ``<``
instead of the OCR-B-like chevron the classifier flipped far more lines
(seeds 0-9: 9/10 clean, 5/10 degraded).
"""

import numpy as np
import pytest

from app.extraction.readers.mrz import clean_ocr_text, mrz_candidates
from app.extraction.readers.qr import decode_cccd_qr
from tests.synthetic.cccd import degrade, mrz_name, random_person, render_cccd_back, render_cccd_front

pytest.importorskip("zxingcpp")
pytest.importorskip("segno")

SEEDS = range(5)
CONDITIONS = ("clean", "degraded")


def _bgr(image) -> np.ndarray:
    return np.asarray(image.convert("RGB"))[:, :, ::-1].copy()


def _card(seed: int, side: str, condition: str) -> np.ndarray:
    person = random_person(seed)
    image = render_cccd_front(person) if side == "front" else render_cccd_back(person)
    if condition == "degraded":
        image = degrade(image, seed)
    return _bgr(image)


@pytest.fixture(scope="module")
def back_ocr(rapid_engine):
    """OCR of each rendered back, computed once per (seed, condition)."""
    cache = {}

    def get(seed: int, condition: str):
        if (seed, condition) not in cache:
            cache[seed, condition] = rapid_engine.recognize(_card(seed, "back", condition))
        return cache[seed, condition]

    return get


@pytest.mark.parametrize("condition", CONDITIONS)
@pytest.mark.parametrize("seed", SEEDS)
def test_qr_on_the_rendered_front(seed, condition):
    person = random_person(seed)
    cands = {c.key: c for c in decode_cccd_qr(_card(seed, "front", condition))}
    expected = {
        "id_number": person.id_number,
        "full_name": person.full_name,
        "date_of_birth": person.date_of_birth.isoformat(),
        "sex": person.sex,
        "place_of_residence": person.place_of_residence,
        "date_of_issue": person.date_of_issue.isoformat(),
    }
    if person.old_id_number:
        expected["old_id_number"] = person.old_id_number
    assert {key: c.normalized for key, c in cands.items()} == expected
    assert all(c.source == "qr" and c.confidence == 0.99 for c in cands.values())
    assert all(cands["id_number"].checks.values())


@pytest.mark.parametrize("condition", CONDITIONS)
@pytest.mark.parametrize("seed", SEEDS)
def test_mrz_on_the_rendered_back(seed, condition, back_ocr):
    person = random_person(seed)
    ocr = back_ocr(seed, condition)
    cands = {c.key: c for c in mrz_candidates(ocr)}
    texts = [line.text for line in ocr.lines]
    assert "id_number" in cands, texts
    assert cands["id_number"].normalized == person.id_number, texts
    assert cands["date_of_birth"].normalized == person.date_of_birth.isoformat()
    assert cands["sex"].normalized == person.sex
    assert cands["date_of_expiry"].normalized == person.date_of_expiry.isoformat()
    assert cands["nationality"].normalized == "Việt Nam"
    # every MRZ check digit valid, and the ID consistent with the MRZ birth date and sex
    assert all(c.confidence == 0.98 and c.source == "mrz" for c in cands.values())
    assert all(cands["id_number"].checks.values()), cands["id_number"].checks
    # the candidates point back at the OCR lines of the MRZ
    first, *rest = cands["id_number"].line_indices
    assert len(rest) == 2 and clean_ocr_text(texts[first]).startswith("IDVNM")
    assert cands["full_name"].normalized == mrz_name(person.full_name)
    assert cands["full_name"].checks == {"ascii_only": True}
