"""Receive a whole HTTP/1.1 request before a worker thread is given it.

A request thread that reads its own body from the socket is held for as long
as the client takes to send it: 16 phones uploading slowly over a mobile
network held every thread of the default server and ``/health`` stopped
answering (issue #25). Front servers buffer instead (nginx's
``proxy_request_buffering``, uvicorn's event loop): the bytes are collected
while the connection waits in an event loop, and the application sees only
complete requests.

:class:`RequestBuffer` is that collection for one request. It finds where the
request ends with `h11 <https://h11.readthedocs.io/>`_ (RFC 9112 message
framing: ``Content-Length`` or ``chunked``), keeps the raw bytes unchanged,
and says when to hand them to gunicorn's own parser, which then reads them
exactly as if they had come from the socket. It does not judge requests:
anything h11 finds malformed is handed over as received, so gunicorn answers
it as it always did (``MALFORMED_REQUEST`` and friends, ``app/serving/worker.py``).

The worker that drives it is :class:`app.serving.worker.TimeoutThreadWorker`.
"""

from __future__ import annotations

import enum

import h11

# The most header bytes h11 collects before it gives up on a request head (it
# then goes to gunicorn's parser, whose own limits answer 414 / 431).
MAX_HEAD_BYTES = 64 * 1024


class Verdict(enum.Enum):
    """What the event loop does with a connection after :meth:`RequestBuffer.feed`."""

    MORE = "more"            # keep reading in the event loop
    COMPLETE = "complete"    # the whole request is here: hand it to a thread
    HAND_OVER = "hand_over"  # hand it over as it is (malformed, over a limit, or the client closed mid-request)
    CLOSED = "closed"        # the client closed before sending a byte of it: nothing to answer


class RequestBuffer:
    """The raw bytes of one HTTP/1.1 request, collected until the request is complete.

    Args:
        max_body: body bytes worth buffering (``MAX_REQUEST_MB``). A request that
            announces more, or a chunked one that grows past it, is handed over at
            once: the app refuses it with ``413 PAYLOAD_TOO_LARGE`` from its headers.

    Attributes:
        chunks: the bytes received, in order, exactly as sent.
        size: ``sum(len(c) for c in chunks)``.
        expects_continue: the head carried ``Expect: 100-continue`` (HTTP/1.1): the
            client may wait for an interim ``100 Continue`` before sending its body.
    """

    __slots__ = ("chunks", "size", "expects_continue", "head_done", "_framing", "_max_body")

    def __init__(self, max_body: int):
        self.chunks: list[bytes] = []
        self.size = 0
        self.expects_continue = False
        self.head_done = False
        self._framing = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD_BYTES)
        self._max_body = max_body

    def feed(self, data: bytes) -> Verdict:
        """Add bytes from the socket (``b""`` when the client closed its side).

        Returns:
            :class:`Verdict`: ``COMPLETE`` once the request's last body byte is
            here (bytes after it, a pipelined next request, stay in ``chunks``
            for gunicorn's parser), ``HAND_OVER`` when the request is malformed,
            announces a body over ``max_body``, or the client closed before
            finishing it, ``CLOSED`` when it closed before its first byte, else
            ``MORE``.
        """
        if not data:
            return Verdict.HAND_OVER if self.size else Verdict.CLOSED
        self.chunks.append(data)
        self.size += len(data)
        self._framing.receive_data(data)
        while True:
            try:
                event = self._framing.next_event()
            except h11.RemoteProtocolError:
                return Verdict.HAND_OVER
            if event is h11.NEED_DATA:
                break
            if isinstance(event, h11.Request):
                self.head_done = True
                length, chunked = None, False
                for name, value in event.headers:
                    if name == b"content-length":
                        length = int(value)  # h11 has checked it is one decimal number
                    elif name == b"transfer-encoding":
                        chunked = True
                    elif name == b"expect" and value.lower() == b"100-continue" and event.http_version == b"1.1":
                        self.expects_continue = True
                if length is not None and (length > self._max_body or chunked):
                    # Over the limit, or framed twice (RFC 9112 section 6.3 lets h11 read it as chunked;
                    # gunicorn refuses it): gunicorn's parser answers from the head.
                    return Verdict.HAND_OVER
            elif isinstance(event, h11.EndOfMessage) or event is h11.PAUSED:
                return Verdict.COMPLETE
        if self.size > self._max_body + MAX_HEAD_BYTES:
            return Verdict.HAND_OVER
        return Verdict.MORE
