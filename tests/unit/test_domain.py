from app.geometry import sort_reading_order
from tests.conftest import line


def test_reading_order_rows_then_columns():
    lines = [
        line("TOTAL", 10, 100, w=50), line("3.00", 200, 104, w=40),  # same row, slightly lower
        line("header", 10, 10), line("right", 300, 40), line("left", 10, 42),
    ]
    assert [ln.text for ln in sort_reading_order(lines)] == ["header", "left", "right", "TOTAL", "3.00"]


def test_lines_that_barely_touch_are_separate_rows():
    a = line("upper", 100, 0, h=20)
    b = line("lower", 0, 15, h=20)  # overlaps 5 px of 20: different rows
    assert [ln.text for ln in sort_reading_order([b, a])] == ["upper", "lower"]


def test_to_dict_with_and_without_box():
    ln = line("x", 1, 2, w=3, h=4, conf=0.123456)
    assert ln.to_dict() == {"text": "x", "confidence": 0.1235, "box": [[1, 2], [4, 2], [4, 6], [1, 6]]}
    assert "box" not in ln.to_dict(with_box=False)


def _slanted(text, x, y, w=430, h=30, rise=14):
    """A line box whose right end is ``rise`` pixels higher than its left (a photo taken at a slant)."""
    from app.domain import TextLine

    return TextLine(text, 0.99, ((x, y + rise), (x + w, y), (x + w, y + h), (x, y + h + rise)))


def test_slanted_photo_keeps_lines_in_order():
    # Real layout (MC-OCR 145014ziulw): rows 25 px apart, each rising 14 px over the line, and a
    # mark at the right margin overlapping two rows; without deskewing they chain into one row.
    lines = [_slanted("first", 320, 201), _slanted("third", 320, 251), _slanted("second", 330, 226),
             _slanted("4", 987, 216, w=36, h=35, rise=0), _slanted("fourth", 372, 305)]
    order = [ln.text for ln in sort_reading_order(lines)]
    assert [t for t in order if t != "4"] == ["first", "second", "third", "fourth"]


def test_text_angle_of_level_and_slanted_lines():
    from app.geometry import text_angle

    assert text_angle([line("a", 0, 0), line("b", 0, 30)]) == 0.0
    assert text_angle([_slanted("a", 0, 0, rise=43)]) < -0.09  # rising to the right: negative (y grows down)
    assert text_angle([line("tall", 0, 0, w=10, h=100)]) == 0.0  # no wide box: no estimate


def test_boxes_listed_from_another_corner_keep_their_own_height():
    # A page turned 90 degrees, its boxes put in upright coordinates: each box's first corner is
    # now its bottom-left, so its first edge runs up the text's height, not along it.
    from app.domain import TextLine

    def turned(text, x, y, w=300, h=25):
        return TextLine(text, 0.99, ((x, y + h), (x, y), (x + w, y), (x + w, y + h)))

    lines = [turned("items", 10, 120), turned("address", 10, 30), turned("Tel:", 200, 60, w=40),
             turned("NAME", 20, 0), turned("HOA DON", 30, 90)]
    assert [ln.text for ln in sort_reading_order(lines)] == ["NAME", "address", "Tel:", "HOA DON", "items"]


def test_valid_text_joins_surrogate_pairs_and_replaces_what_cannot_be_encoded():
    from app.domain import TextLine, valid_text

    assert valid_text("Tổng cộng 12.500đ") == "Tổng cộng 12.500đ"
    assert valid_text("ok \ud83d\ude00") == "ok \U0001F600"  # a UTF-16 pair: one code point
    assert valid_text("\udc00a\ud83d") == "\ufffda\ufffd"  # lone halves
    assert valid_text("a\x00b\x1fc\x85d\te\nf") == "a b c d\te\nf"  # NUL, C0 and C1 controls
    for text in ("\ud800\udfff\ud800", "\x00\ud83d\x7f", "x\udbff"):
        valid_text(text).encode("utf-8")  # never raises
    built = TextLine("Total \ud835\udc00 \udfff", 1.0, ((0, 0), (1, 0), (1, 1), (0, 1)))
    assert built.text == "Total \U0001D400 \ufffd"
