from app.domain import sort_reading_order
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
