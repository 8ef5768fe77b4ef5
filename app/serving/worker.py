"""Gunicorn's threaded worker that receives whole requests before a thread sees them.

Gunicorn's ``gthread`` worker (27.x) hands each new connection to a thread, which
waits up to 5 s for its first bytes and then reads the headers and the body from a
blocking socket: a client that sends slowly holds that thread for as long as it
takes. Sixteen such clients held every thread of the default server (2 workers x 8
threads) and ``/health`` stopped answering (issues #10 and #25;
``bench/slowloris.py``, docs/reliability.md).

:class:`TimeoutThreadWorker` keeps connections in the worker's event loop until
their request has arrived whole (:class:`app.serving.buffering.RequestBuffer`, the
request buffering of nginx's ``proxy_request_buffering``): idle connections,
clients that never send a request line and uploads trickling in at a byte a second
cost a file descriptor and the bytes received so far, never a thread. A thread
gets a complete request, which gunicorn's own parser reads from memory.

- ``CLIENT_READ_TIMEOUT`` is the longest silence allowed while a request arrives
  (reset by every byte, so a slow but live upload of a large PDF is never cut): a
  connection silent that long mid-request is answered ``408 REQUEST_TIMEOUT``
  and closed; one that never sent a byte is closed without an answer.
- A request announcing a body over ``MAX_REQUEST_MB`` is handed over at once, so
  the app refuses it with 413 without receiving it; so is anything h11 finds
  malformed, so gunicorn answers it as it always did.
- At most twice ``MAX_REQUEST_MB`` is buffered per worker; a connection that would
  go over is handed to a thread as it is, and the thread reads the rest itself
  (the old behaviour, bounded by the socket timeout below). So a worker's memory
  for uploads in flight stays bounded.
- Every client socket still times out after ``CLIENT_READ_TIMEOUT`` s of silence in
  a thread (reading the rest of a handed-over request, or writing the answer); a
  body read that times out becomes ``408 REQUEST_TIMEOUT`` (``app/api/routes.py``).

Gunicorn answers what its own HTTP parser refuses (a bad request line, an
invalid header, a request line or headers over its limits, a bad chunk) and
errors that escape the app with an HTML page of its own. The worker answers
them in the service's JSON error shape instead, with a stable code for each
(``MALFORMED_REQUEST``, ``REQUEST_LINE_TOO_LONG``, ``HEADERS_TOO_LARGE``, ...,
docs/errors-and-limits.md): gunicorn still decides the status and logs, only
the body it writes is replaced (:class:`_JsonErrorSocket`).

Plain TCP only: with gunicorn's own TLS (``certfile``) connections keep plain
gthread behaviour (a thread reads each request); terminate TLS at a proxy.
"""

from __future__ import annotations

import errno
import json
import selectors
import socket
import sys
import time
import uuid
from collections import OrderedDict
from functools import partial

from gunicorn import http
from gunicorn.workers.gthread import TConn, ThreadWorker

from app.errors import RequestTimeout
from app.serving.buffering import RequestBuffer, Verdict

# Set to True in the WSGI environ by the app for requests that got a processing slot.
ADMITTED_KEY = "docextract.admitted"


class _TimeoutSocket(socket.socket):
    """A client socket whose blocking mode carries a timeout.

    Gunicorn switches client sockets between non-blocking (while its poller
    watches them) and blocking (while a thread reads or writes them) with
    ``setblocking``; ``setblocking(True)`` here means "blocking, at most
    ``timeout`` seconds per operation" (``socket.settimeout``).
    """

    __slots__ = ()
    io_timeout: float = 15.0

    def setblocking(self, flag: bool) -> None:
        if flag:
            self.settimeout(self.io_timeout)
        else:
            super().setblocking(False)


class TimeoutThreadWorker(ThreadWorker):
    """``gthread`` worker that buffers each request in its event loop before a thread
    runs it, and whose client sockets time out (``CLIENT_READ_TIMEOUT``).

    Use: ``worker_class = "app.serving.worker.TimeoutThreadWorker"``
    (``deploy/gunicorn.conf.py``).
    """

    _busy = 0  # connections handed to the thread pool and not finished yet (main thread only)
    _processed = 0  # requests that got a processing slot (app/api/admission.py)
    _buffered = 0  # bytes held by connections still arriving (main thread only)

    def init_process(self):
        from app.config import Settings

        settings = Settings.from_env()
        # A subclass per worker process, so the value is read once, after fork, like create_app()'s settings.
        self._socket_class = type("TimeoutSocket", (_TimeoutSocket,),
                                  {"__slots__": (), "io_timeout": settings.client_read_timeout})
        self._idle_timeout = settings.client_read_timeout
        self._max_body = settings.max_request_bytes
        self._buffer_budget = 2 * settings.max_request_bytes
        # Connections whose request is still arriving -> (buffer, deadline); oldest deadline first.
        self._arriving: OrderedDict = OrderedDict()
        super().init_process()

    # Recycle after max_requests *processed* requests. Gunicorn counts every request,
    # and under overload most are cheap 503 OVERLOADED refusals: measured with 50
    # clients, both workers reached max_requests (1000 + jitter) within 2 minutes and
    # restarted within 3 s of each other, leaving no worker up for about 30 s while
    # the new ones loaded their models. The app marks admitted requests in the WSGI
    # environ; only those count here.
    def load_wsgi(self):
        super().load_wsgi()
        app, self._recycle_after, self.max_requests = self.wsgi, self.max_requests, sys.maxsize

        def counted(environ, start_response):
            try:
                return app(environ, start_response)
            finally:
                if environ.get(ADMITTED_KEY):
                    self._processed += 1  # one thread at a time per request; a lost update only delays
                    if self._processed >= self._recycle_after and self.alive:
                        self.log.info("Autorestarting worker after %d processed requests", self._processed)
                        self.alive = False

        self.wsgi = counted

    def handle_error(self, req, client, addr, exc):
        """Gunicorn's answer to a request it could not parse or serve, as the service's JSON error.

        Gunicorn's own handler classifies ``exc``, picks the status, logs and
        writes the access line; the socket it writes to is wrapped so that its
        HTML page is replaced by ``{"success": false, "message", "error_code",
        "trace_id"}`` (:func:`json_error_answer`).
        """
        super().handle_error(req, _JsonErrorSocket(client, exc, self.log), addr, exc)

    # --- Receiving requests in the event loop -------------------------------------------

    def accept(self, listener):
        """Accept one connection and start receiving its request in the event loop."""
        try:
            client, address = _Listener(listener, self._socket_class).accept()
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        conn = TConn(self.cfg, client, address, listener.getsockname())  # non-blocking from here
        if self.cfg.is_ssl:  # the TLS handshake happens in a thread: plain gthread behaviour
            self.enqueue_req(conn)
        else:
            self._receive(conn)
        if self._busy >= self.cfg.threads:
            self.set_accept_enabled(False)

    def on_client_socket_readable(self, conn, client):
        """A kept-alive connection has its next request coming: receive it in the event loop too."""
        self.poller.unregister(client)
        self.keepalived_conns.remove(conn)
        if self.cfg.is_ssl:
            self.enqueue_req(conn)
        else:
            self._receive(conn, readable=True)

    def _receive(self, conn, readable=False):
        self._arriving[conn] = (RequestBuffer(self._max_body), time.monotonic() + self._idle_timeout)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_arriving_readable, conn))
        if readable:
            self._on_arriving_readable(conn, conn.sock)

    def _on_arriving_readable(self, conn, _sock):
        buffer, _ = self._arriving[conn]
        try:
            data = conn.sock.recv(256 * 1024)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:  # reset by the peer
            self._drop(conn)
            return
        verdict = buffer.feed(data)
        self._buffered += len(data)
        if verdict is Verdict.CLOSED:
            self._drop(conn)
            return
        if verdict is Verdict.MORE and self._buffered > self._buffer_budget:
            verdict = Verdict.HAND_OVER  # the thread reads the rest itself (bounded by the socket timeout)
        if verdict is Verdict.MORE:
            if buffer.expects_continue and buffer.head_done:
                buffer.expects_continue = False
                # RFC 9110 section 10.1.1: the client may wait for this before sending its body.
                # Gunicorn may send another when it parses the head; clients take any number of 1xx.
                _send_quietly(conn.sock, b"HTTP/1.1 100 Continue\r\n\r\n")
            self._arriving[conn] = (buffer, time.monotonic() + self._idle_timeout)
            self._arriving.move_to_end(conn)
            return
        self._hand_over(conn)

    def _hand_over(self, conn):
        """The request is here (or must go as it is): gunicorn's parser gets its bytes, a thread runs it."""
        buffer, _ = self._arriving.pop(conn)
        self._buffered -= buffer.size
        self.poller.unregister(conn.sock)
        if conn.parser is None:
            conn.parser = http.get_parser(self.cfg, conn.sock, conn.client)
        unreader = conn.parser.unreader
        unreader.buf.seek(0, 2)  # after any read-ahead it holds (those bytes came first)
        for chunk in buffer.chunks:
            unreader.buf.write(chunk)
        conn.data_ready = True  # gthread's handle() must not wait for data again
        self.enqueue_req(conn)

    def _drop(self, conn):
        buffer, _ = self._arriving.pop(conn)
        self._buffered -= buffer.size
        try:
            self.poller.unregister(conn.sock)
        except (KeyError, ValueError, OSError):
            pass
        self.nr_conns -= 1
        conn.close()

    def murder_pending(self):
        """Also close connections silent for ``CLIENT_READ_TIMEOUT`` while their request arrives
        (408 when they had sent part of it), and, once the worker stops, those that sent nothing."""
        super().murder_pending()
        now = time.monotonic()
        while self._arriving:
            conn, (buffer, deadline) = next(iter(self._arriving.items()))
            if deadline > now:
                break
            if buffer.size:
                answer, trace_id = error_answer(RequestTimeout.after(self._idle_timeout))
                _send_quietly(conn.sock, answer)
                self.log.info("answered 408 to a request silent for %g s mid-arrival (%d bytes received, "
                              "trace_id=%s)", self._idle_timeout, buffer.size, trace_id)
            self._drop(conn)
        if not self.alive:
            for conn in [c for c, (b, _) in self._arriving.items() if not b.size]:
                self._drop(conn)

    # Accept only while a thread is free. Plain gthread accepts up to worker_connections
    # (1000) and queues them in its thread pool without bound, so one worker could take
    # every new connection while all its threads were busy and the other worker sat idle
    # (measured: 16 stalled clients, all in one worker). Left in the listen backlog
    # instead, a connection goes to whichever worker has a thread. Connections whose
    # request is still arriving hold no thread and do not count.
    def enqueue_req(self, conn):
        self._busy += 1
        super().enqueue_req(conn)

    def finish_request(self, conn, fs):
        self._busy -= 1
        super().finish_request(conn, fs)

    def set_accept_enabled(self, enabled):
        super().set_accept_enabled(enabled and self._busy < self.cfg.threads)


def _send_quietly(sock, data: bytes) -> None:
    """Best-effort write of a short answer on a non-blocking socket (the peer may be gone)."""
    try:
        sock.send(data)
    except OSError:
        pass


class _Listener:
    """Proxy of a listening socket whose ``accept`` retypes the client socket."""

    def __init__(self, listener, socket_class):
        self._listener = listener
        self._socket_class = socket_class

    def accept(self):
        client, address = self._listener.accept()
        if type(client) is socket.socket:  # same memory layout: the class can be swapped in place
            client.__class__ = self._socket_class
        return client, address

    def __getattr__(self, name):
        return getattr(self._listener, name)


def _service_error_for(status: int, exc: BaseException):
    """The :mod:`app.errors` error for gunicorn's ``status`` and exception (message safe to show)."""
    from app import errors
    from app.api.schemas import clip

    name = type(exc).__name__
    detail = str(exc).strip()
    said = f" ({name}: {clip(detail)})" if detail and not isinstance(exc, OSError) else f" ({name})"
    if status == 400:
        return errors.MalformedRequest("The HTTP request could not be parsed" + said)
    if status == 414:
        return errors.RequestLineTooLong("The request line is over the server's limit" + said)
    if status == 431:
        return errors.HeadersTooLarge("The request's header fields are over the server's limits" + said)
    if status == 417:
        return errors.ExpectationFailed()
    if status == 501:
        return errors.UnsupportedTransferCoding("Unsupported Transfer-Encoding: only chunked is accepted" + said)
    if status == 403:
        error = errors.Forbidden("Request forbidden" + said)
    elif status < 500:
        error = errors.BadRequest("Bad request" + said)
        error.http_status = status
        return error
    else:
        error = errors.SystemFailure()
    error.http_status = status
    return error


def json_error_answer(status: int, exc: BaseException) -> tuple[bytes, str]:
    """The HTTP response (status line, headers, JSON body) for gunicorn's error ``status``.

    Args:
        status: the HTTP status gunicorn chose for ``exc``.
        exc: what gunicorn caught (its parse errors, or anything that escaped the app).

    Returns:
        ``(response bytes, trace id)``; the connection is closed after it, as gunicorn does.
    """
    return error_answer(_service_error_for(status, exc))


def error_answer(error) -> tuple[bytes, str]:
    """A whole HTTP/1.1 response (``Connection: close``) carrying ``error`` (an
    :class:`app.errors.ServiceError`) in the service's JSON error shape.

    Returns:
        ``(response bytes, trace id)``.
    """
    from http import HTTPStatus

    from app import SECURITY_HEADERS

    trace_id = uuid.uuid4().hex
    body = json.dumps({"success": False, "message": error.message, "error_code": error.code,
                       "trace_id": trace_id}).encode()
    try:
        reason = HTTPStatus(error.http_status).phrase
    except ValueError:
        reason = "Error"
    headers = {"Connection": "close", "Content-Type": "application/json", "Content-Length": str(len(body)),
               "X-Trace-Id": trace_id, **SECURITY_HEADERS}
    head = f"HTTP/1.1 {error.http_status} {reason}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return head.encode("latin-1") + b"\r\n" + body, trace_id


class _JsonErrorSocket:
    """The client socket handed to gunicorn's ``handle_error``: its HTML error page is
    replaced by :func:`json_error_answer` (the status is read from its status line)."""

    def __init__(self, sock, exc: BaseException, log):
        self._sock, self._exc, self._log = sock, exc, log

    def sendall(self, data: bytes, *args) -> None:
        try:
            status = int(bytes(data).split(b" ", 2)[1])
        except (IndexError, ValueError):  # not gunicorn's error page: pass it through untouched
            self._sock.sendall(data, *args)
            return
        answer, trace_id = json_error_answer(status, self._exc)
        self._log.info("answered %d to a request the server refused (%s, trace_id=%s)",
                       status, type(self._exc).__name__, trace_id)
        self._sock.sendall(answer, *args)

    def __getattr__(self, name):
        return getattr(self._sock, name)
