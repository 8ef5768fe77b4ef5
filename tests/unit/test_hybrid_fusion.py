"""Pure logic of the hybrid engine: fusing PP-OCR's and Tesseract's readings,
line images, options, reading order. No Tesseract or models needed."""

from __future__ import annotations

import subprocess
import sys
import unicodedata
from pathlib import Path

import numpy as np
import pytest

from app.domain import TextLine
from app.errors import EngineUnavailable
from app.ocr import hybrid, tesseract
from app.ocr.fusion import (PP_OCRV6_DIACRITIC_LETTERS, PP_OCRV6_MISSING_LETTERS, VIETNAMESE_DIACRITIC_LETTERS, agreement,
                             fuse, fused_confidence, join_marks, letter_key, split_marks, strip_marks)
from app.ocr.geometry import line_image, turned_reading_order
from app.ocr.hybrid import HybridOptions


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def test_letter_sets_match_the_issue():
    # 134 Vietnamese letters outside ASCII; PP-OCRv6's dictionary has 46 of them (PaddleOCR #18254).
    assert len(VIETNAMESE_DIACRITIC_LETTERS) == 134
    assert len(PP_OCRV6_DIACRITIC_LETTERS) == 46 and PP_OCRV6_DIACRITIC_LETTERS <= VIETNAMESE_DIACRITIC_LETTERS
    assert len(PP_OCRV6_MISSING_LETTERS) == 88
    assert {"ộ", "Ộ", "ờ", "ổ", "ạ"} <= PP_OCRV6_MISSING_LETTERS
    assert not {"à", "á", "â", "ê", "ô", "ơ", "ư", "đ", "Đ"} & PP_OCRV6_MISSING_LETTERS


@pytest.mark.parametrize(
    "char, base, marks",
    [("a", "a", ""), ("ộ", "o", "\u0323\u0302"), ("Ữ", "U", "\u031b\u0303"), ("đ", "d", "\u0335"), ("Đ", "D", "\u0335"),
     ("7", "7", ""), (":", ":", "")],
)
def test_split_and_join_marks(char, base, marks):
    assert split_marks(char) == (base, marks)
    assert join_marks(base, marks) == char


def test_keys_strip_marks_and_case_and_keep_length():
    assert strip_marks("Thời gian Đường") == "Thoi gian Duong"
    assert letter_key("CỘNG Tiền") == "cong tien"
    text = nfd("Tổng cộng")
    assert len(letter_key(text)) == len(unicodedata.normalize("NFC", text))


@pytest.mark.parametrize(
    "pp, tess, expected",
    [
        # PP-OCR dropped letters its dictionary lacks; Tesseract read them.
        ("Thi gian", "Thời gian", "Thời gian"),
        ("CNG", "CỘNG", "CỘNG"),
        ("Ch Sùi Phú Th Gia Lam", "Chợ Sủi Phú Thị Gia Lâm", "Chợ Sủi Phú Thị Gia Lâm"),
        # PP-OCR replaced a missing letter with a look-alike; its punctuation and spacing are kept.
        ("T8ng tiên :", "Tổng tiền:", "Tổng tiền :"),
        # Same letters: PP-OCR's letters and case, Tesseract's marks (đ included).
        ("TONG", "tổng", "TỔNG"),
        ("Đuong Trn", "Đường Trần", "Đường Trần"),
        ("DT 0333", "ĐT 0333", "ĐT 0333"),
        # Digits and punctuation stay PP-OCR's.
        ("22.000d", "22,000đ", "22.000đ"),
        ("21:07:49-14/08", "21 07 49 - 14/06", "21:07:49-14/08"),
    ],
)
def test_fuse_takes_tesseract_marks_where_letters_agree(pp, tess, expected):
    assert fuse(pp, tess) == expected


def test_fuse_keeps_ppocr_where_base_letters_disagree():
    # Different letters that PP-OCR's dictionary has: PP-OCR's reading stays.
    assert fuse("Tong", "Tang") == "Tong"
    assert fuse("Tong", "Táng") == "Tong"
    # Extra characters Tesseract read that PP-OCR can output itself are not inserted.
    assert fuse("Gia", "Giax") == "Gia"
    # Whole-line disagreement (Tesseract read something else): PP-OCR unchanged.
    assert fuse("Samsung Triple", "Xin cảm ơn quý khách") == "Samsung Triple"


def test_fuse_edge_cases():
    assert fuse("Thi gian", "") == "Thi gian"
    assert fuse("Thi gian", "   ") == "Thi gian"
    assert fuse("", "Thời gian") == ""
    # A mark combination that is no Vietnamese letter is not taken.
    assert fuse("Pena", "Peña") == "Pena"
    # keep_pp_marks: a bare Tesseract letter does not remove PP-OCR's mark.
    assert fuse("Giá bán", "Gia ban") == "Gia ban"
    assert fuse("Giá bán", "Gia ban", keep_pp_marks=True) == "Giá bán"
    # min_agreement decides when the readings are of different things.
    assert fuse("abcd", "abxy", min_agreement=0.4) == "abcd"
    assert fuse("abcd", "ábxy", min_agreement=0.4) == "ábcd"
    assert fuse("abcd", "ábxy", min_agreement=0.6) == "abcd"


def test_fuse_output_is_nfc_for_nfd_input():
    out = fuse(nfd("Thi gian"), nfd("Thời gian"))
    assert out == "Thời gian" and unicodedata.is_normalized("NFC", out)
    out = fuse(nfd("Cng"), nfd("Cộng"))
    assert out == unicodedata.normalize("NFC", "Cộng") and unicodedata.is_normalized("NFC", out)


def test_agreement_and_confidence():
    assert agreement("Thi gian", "Thời gian") == pytest.approx(1 - 1 / 9)
    assert agreement("TỔNG", "tong") == 1.0
    assert agreement("", "") == 1.0
    assert agreement("abc", "") == 0.0
    assert fused_confidence(0.9, 1.0) == pytest.approx(0.9)
    assert fused_confidence(0.9, 0.0) == pytest.approx(0.45)
    assert fused_confidence(0.8, 0.5) < fused_confidence(0.8, 0.9)


def test_options_parse_and_validate():
    opts = HybridOptions.parse({"fusion": "tesseract", "line_height": "48", "margin": "0.1", "keep_pp_marks": "true"})
    assert (opts.fusion, opts.line_height, opts.margin, opts.keep_pp_marks) == ("tesseract", 48, 0.1, True)
    assert HybridOptions.parse({}) == HybridOptions()
    with pytest.raises(ValueError, match="unknown option"):
        HybridOptions.parse({"nope": "1"})
    with pytest.raises(ValueError, match="fusion"):
        HybridOptions(fusion="vote")
    with pytest.raises(ValueError, match="line_height"):
        HybridOptions(line_height=2)


def _page_with_text_line():
    """A grey page with a dark bar (the 'text') in a slanted box."""
    page = np.full((200, 300), 170, np.uint8)
    page[90:110, 60:240] = 30
    quad = np.array([[50, 80], [250, 84], [250, 120], [50, 116]], np.float32)
    return page, quad


def test_line_image_is_scaled_level_white_bordered():
    page, quad = _page_with_text_line()
    opts = HybridOptions(line_height=40, margin=0.0, border=10, normalize="flatten")
    img = line_image(page, quad, opts)
    assert img.dtype == np.uint8 and img.ndim == 2
    assert img.shape[0] == 40 + 2 * 10
    assert abs(img.shape[1] - (200 * 40 / 36 + 20)) <= 2
    assert (img[:10] == 255).all() and (img[:, -10:] == 255).all()
    inner = img[10:-10, 10:-10]
    assert np.percentile(inner, 90) > 240  # paper flattened to white
    assert inner.min() < 60  # the text stays dark
    upside = line_image(page, quad, opts, upside_down=True)
    assert np.array_equal(upside, np.rot90(img, 2))


def test_line_image_turns_tall_boxes_like_rapidocr():
    page = np.full((300, 100), 200, np.uint8)
    quad = np.array([[30, 20], [60, 20], [60, 220], [30, 220]], np.float32)
    img = line_image(page, quad, HybridOptions(line_height=32, border=0, normalize="none"))
    assert img.shape[0] == 32 and img.shape[1] > img.shape[0]


def _box_line(text, x, y, w, h):
    return TextLine(text, 0.9, ((x, y), (x + w, y), (x + w, y + h), (x, y + h)))


def test_reading_order_of_turned_pages():
    W, H = 100, 200
    # Upside down: the first line is at the bottom of the image.
    lines = [_box_line(text, 10, y, 80, 10) for text, y in (("first", 170), ("second", 120), ("third", 20))]
    assert [x.text for x in turned_reading_order(lines, W, H, "180")] == ["first", "second", "third"]
    assert [x.text for x in turned_reading_order(lines, W, H, "upright")] == ["third", "second", "first"]
    assert turned_reading_order(lines, W, H, "180")[0].box == lines[0].box  # boxes stay in image pixels
    # Top of the page at the image's left: lines are tall boxes, the first one leftmost.
    tall = [_box_line("second", 40, 20, 10, 80), _box_line("first", 10, 20, 10, 80), _box_line("third", 70, 20, 10, 80)]
    assert [x.text for x in turned_reading_order(tall, W, H, "left")] == ["first", "second", "third"]
    # Top at the right: the first line is rightmost.
    assert [x.text for x in turned_reading_order(tall, W, H, "right")] == ["third", "second", "first"]


def test_page_turn_from_boxes_and_vote():
    wide = np.array([[[0, 0], [80, 0], [80, 10], [0, 10]]] * 3, np.float32)
    tall = np.array([[[0, 0], [10, 0], [10, 80], [0, 80]]] * 3, np.float32)
    assert hybrid.page_turn(wide, False) == "upright" and hybrid.page_turn(wide, True) == "180"
    assert hybrid.page_turn(tall, True) == "left" and hybrid.page_turn(tall, False) == "right"
    assert hybrid.page_turn(np.zeros((0, 4, 2), np.float32), True) == "upright"


def test_readers_turn_the_page_the_way_the_engine_decided():
    """The orientation is decided once, by the engine (``OcrResult.orientation``); the readers'
    upright geometry (extraction.layout.upright) uses it and guesses only when it is None."""
    from app.domain import OcrResult
    from app.extraction.layout import guess_orientation, upright

    W, H = 100, 200
    tall = tuple(_box_line(t, x, 20, 10, 80) for t, x in (("a", 10), ("b", 30), ("c", 50), ("d", 70)))
    assert guess_orientation(list(tall)) == "left"  # the first lines are at the image's left
    told = OcrResult(tall, W, H, 0, 0, orientation="right")
    assert [ln.box[0] for ln in upright(told)] == [(y, W - x) for x, y in (ln.box[0] for ln in tall)]
    guessed = OcrResult(tall, W, H, 0, 0)
    assert [ln.box[0] for ln in upright(guessed)] == [(H - y, x) for x, y in (ln.box[0] for ln in tall)]
    level = OcrResult(tuple(_box_line(t, 10, y, 80, 10) for t, y in (("a", 20), ("b", 60), ("c", 100), ("d", 140))),
                      W, H, 0, 0, orientation="upright")
    assert upright(level) == list(level.lines)


def test_missing_traineddata_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setattr(tesseract, "TESSDATA_DIRS", (str(tmp_path),))
    with pytest.raises(EngineUnavailable, match="apt-get install tesseract-ocr tesseract-ocr-vie"):
        tesseract.find_tessdata(["vie"])
    (tmp_path / "vie.traineddata").write_bytes(b"")
    assert tesseract.find_tessdata(["vie"]) == tmp_path
    with pytest.raises(EngineUnavailable, match="vie\\+eng"):
        tesseract.find_tessdata(["vie", "eng"])


def test_engine_refuses_to_start_without_traineddata(monkeypatch, tmp_path, settings):
    monkeypatch.setattr(tesseract, "TESSDATA_DIRS", (str(tmp_path),))
    with pytest.raises(EngineUnavailable, match="tesseract-ocr-vie"):
        hybrid.HybridOcrEngine(settings, options=HybridOptions(recogniser="tesseract"))


def test_default_recogniser_does_not_need_tesseract(monkeypatch, tmp_path, settings):
    pytest.importorskip("rapidocr", reason="rapidocr is not installed")
    monkeypatch.setattr(tesseract, "TESSDATA_DIRS", (str(tmp_path),))
    monkeypatch.setattr(tesseract.shutil, "which", lambda name: None)
    try:
        engine = hybrid.HybridOcrEngine(settings)
    except EngineUnavailable as e:
        pytest.skip(f"asterocr not installed: {e.message}")
    assert engine.options.readers == ("aster",)
    assert "AsterNet" in engine.describe()["recognition_model"]


def test_options_name_the_readers_to_load():
    assert HybridOptions().readers == ("aster",)
    assert HybridOptions(recogniser="tesseract").readers == ("tesseract",)
    assert HybridOptions(recogniser="aster+tesseract").readers == ("aster", "tesseract")
    assert HybridOptions(recogniser="aster", fusion="tesseract").readers == ("tesseract",)
    assert HybridOptions(fusion="ppocr").readers == ()
    with pytest.raises(ValueError, match="recogniser"):
        HybridOptions(recogniser="easyocr")
    assert HybridOptions.parse({"recogniser": "aster+tesseract"}).readers == ("aster", "tesseract")


def test_combine_fuses_each_reading_in_turn():
    opts = HybridOptions()
    # AsterNet gives the marks; PP-OCR keeps its case and its digits.
    text, conf = hybrid.combine(("Tng tien: 45,000", 0.9), [("Tổng tiền: 45.000", 0.8)], opts)
    assert text == "Tổng tiền: 45,000" and 0.8 < conf < 0.9  # one letter and "," vs "." differ
    # A later reader only adds marks where the line still has none.
    text, _ = hybrid.combine(("Thi gian Cong", 1.0), [("Thời gian Cong", 0.9), ("Thoi gian Cộng", 0.9)], opts)
    assert text == "Thời gian Cộng"
    # Readings of something else lower the confidence and change nothing.
    text, conf = hybrid.combine(("TOTAL 12.00", 1.0), [("xin cam on quy khach", 0.5)], opts)
    assert text == "TOTAL 12.00" and conf < 0.75


def test_combine_keeps_ppocr_for_mrz_lines_and_empty_readings():
    opts = HybridOptions()
    mrz = "IDVNM0790123456001079012345<<4"
    assert hybrid.combine((mrz, 0.97), [("IDVNM079O1Ả3456", 0.5)], opts) == (mrz, 0.97)
    assert hybrid.combine(("45,000", 0.99), [("", 0.0)], opts) == ("45,000", 0.99)
    assert hybrid.combine(("Cong", 0.9), [], opts) == ("Cong", 0.9)
    only = HybridOptions(fusion="aster")
    assert hybrid.combine(("Cong", 0.9), [("Cộng", 0.7)], only) == ("Cộng", 0.7)
    assert hybrid.combine(("45", 0.9), [("", 0.0)], only) == ("45", 0.9)


def test_engine_is_registered_as_hybrid():
    from app.ocr.base import _REGISTRY

    assert _REGISTRY["hybrid"] is hybrid.HybridOcrEngine


def test_missing_tesseract_command_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setattr(tesseract.shutil, "which", lambda name: None)
    with pytest.raises(EngineUnavailable, match="apt-get install tesseract-ocr tesseract-ocr-vie"):
        tesseract._make_reader("cli", tmp_path, "vie", 1)


def test_tesserocr_backend_without_the_package_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "tesserocr", None)  # import fails
    with pytest.raises(EngineUnavailable, match="tesserocr"):
        tesseract._make_reader("tesserocr", tmp_path, "vie", 1)


def test_cli_reader_maps_tsv_pages_to_lines(monkeypatch, tmp_path):
    """The tesseract command's TSV (one page per line image) -> (text, confidence) per image."""
    calls = []

    def fake_run(cmd, **kw):
        calls.append(cmd)
        if "--version" in cmd:
            return subprocess.CompletedProcess(cmd, 0, stdout="tesseract 5.3.0\n", stderr="")
        listing = Path(cmd[1]).read_text().split()
        assert len(listing) == 3 and all(Path(p).is_file() for p in listing)
        header = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext"
        rows = [
            header,
            "1\t1\t0\t0\t0\t0\t0\t0\t100\t40\t-1\t",
            "5\t1\t1\t1\t1\t1\t0\t0\t50\t40\t90.0\tThời",
            "5\t1\t1\t1\t1\t2\t50\t0\t50\t40\t80.0\tgian",
            "1\t2\t0\t0\t0\t0\t0\t0\t100\t40\t-1\t",  # second image: nothing read
            "5\t3\t1\t1\t1\t1\t0\t0\t50\t40\t70.0\tCộng",
        ]
        return subprocess.CompletedProcess(cmd, 0, stdout=("\n".join(rows) + "\n").encode(), stderr=b"")

    monkeypatch.setattr(tesseract.shutil, "which", lambda name: "/usr/bin/tesseract")
    monkeypatch.setattr(tesseract.subprocess, "run", fake_run)
    reader = tesseract._TesseractCliReader(tmp_path, "vie", workers=1)
    images = [np.full((40, 100), 255, np.uint8)] * 3
    out = reader.read(images)
    assert out == [("Thời gian", pytest.approx(0.85)), ("", 0.0), ("Cộng", pytest.approx(0.7))]
    cmd = calls[-1]
    assert cmd[cmd.index("--psm") + 1] == "7" and cmd[cmd.index("-l") + 1] == "vie"
    assert cmd[cmd.index("--tessdata-dir") + 1] == str(tmp_path)


def test_language_gate():
    from app.ocr.hybrid import looks_vietnamese

    assert looks_vietnamese(["NHÀ SÁCH GD-TC", "ĐC: 212 Đuong Trn Phú", "Thi gian: 21:07:49", "Tng tiên: 408.000đ"])
    assert looks_vietnamese(["Tong tien", "Ngay ban 12/08/2020", "Thanh toan"])  # printed without marks
    assert not looks_vietnamese(["INDAH GIFT & HOME DECO", "27,JALAN DEDAP 13,", "TOTAL AMT.", "CASH", "RM 60.30"])
    assert not looks_vietnamese(["café crème", "Total à payer"])


def test_short_insertions_of_tone_marked_letters_are_taken():
    from app.ocr.fusion import PP_OCRV6_MISSING_LETTERS, fuse

    assert fuse("Nốt rui C", "Nốt ruồi C", missing=PP_OCRV6_MISSING_LETTERS) == "Nốt ruồi C"
    assert fuse("X Điện Minh", "Xã Điện Minh", missing=PP_OCRV6_MISSING_LETTERS) == "Xã Điện Minh"
    # A long run that only Tesseract read is not trusted.
    assert fuse("Tổng", "Tổng ằằằ", missing=frozenset()) == "Tổng"


def test_short_insertions_only_where_they_make_a_syllable():
    from app.ocr.fusion import fuse

    assert fuse("MINIMART ANAN", "MINIMỊ ART ANAN") == "MINIMART ANAN"  # MC-OCR 145014kupdx: a loanword stays
    assert fuse("con rui", "con ruồi") == "con ruồi"
    assert fuse("Thi gian", "Thời gian") == "Thời gian"
