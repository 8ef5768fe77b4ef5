"""RequestBuffer (app/serving/buffering.py): where an HTTP/1.1 request ends, byte for byte."""

from __future__ import annotations

from app.serving.buffering import RequestBuffer, Verdict

HEAD = b"POST /ocr HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n"


def test_get_without_body_is_complete_at_the_blank_line():
    buf = RequestBuffer(max_body=100)
    assert buf.feed(b"GET /health HTTP/1.1\r\nHo") is Verdict.MORE
    assert buf.feed(b"st: x\r\n\r\n") is Verdict.COMPLETE
    assert b"".join(buf.chunks) == b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"


def test_content_length_body_byte_by_byte():
    buf = RequestBuffer(max_body=100)
    assert buf.feed(HEAD) is Verdict.MORE
    verdicts = [buf.feed(bytes([b])) for b in b"0123456789"]
    assert verdicts[:-1] == [Verdict.MORE] * 9 and verdicts[-1] is Verdict.COMPLETE
    assert buf.size == len(HEAD) + 10


def test_chunked_body_ends_at_the_last_chunk():
    buf = RequestBuffer(max_body=100)
    head = b"POST /ocr HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    assert buf.feed(head + b"5\r\nhello\r\n") is Verdict.MORE
    assert buf.feed(b"0\r\n\r\n") is Verdict.COMPLETE


def test_pipelined_bytes_after_the_request_are_kept():
    buf = RequestBuffer(max_body=100)
    data = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\n"
    assert buf.feed(data) is Verdict.COMPLETE
    assert b"".join(buf.chunks) == data


def test_announced_body_over_the_limit_is_handed_over_at_once():
    buf = RequestBuffer(max_body=5)
    assert buf.feed(HEAD) is Verdict.HAND_OVER


def test_chunked_body_growing_past_the_limit_is_handed_over():
    buf = RequestBuffer(max_body=10)
    head = b"POST /ocr HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    verdict = buf.feed(head)
    for _ in range(20000):
        verdict = buf.feed(b"a\r\n0123456789\r\n")
        if verdict is not Verdict.MORE:
            break
    assert verdict is Verdict.HAND_OVER


def test_malformed_head_is_handed_over_for_gunicorn_to_answer():
    buf = RequestBuffer(max_body=100)
    assert buf.feed(b"NOT HTTP AT ALL\r\n\r\n") is Verdict.HAND_OVER
    both = RequestBuffer(max_body=100)
    smuggle = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
    assert both.feed(smuggle) is Verdict.HAND_OVER


def test_close_before_a_byte_is_closed_and_mid_request_is_handed_over():
    assert RequestBuffer(max_body=100).feed(b"") is Verdict.CLOSED
    buf = RequestBuffer(max_body=100)
    buf.feed(HEAD + b"012")
    assert buf.feed(b"") is Verdict.HAND_OVER


def test_expect_100_continue_is_noticed_on_http_11_only():
    buf = RequestBuffer(max_body=100)
    buf.feed(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n")
    assert buf.expects_continue and buf.head_done
    old = RequestBuffer(max_body=100)
    old.feed(b"POST / HTTP/1.0\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n")
    assert not old.expects_continue
