"""Gunicorn's threaded worker with a read/write timeout on client sockets.

Gunicorn's ``gthread`` worker (27.x) waits for a connection's first bytes in its
event loop (at most 5 s per try, then back to the poller), but once a request
has started, the worker thread reads the rest of the headers and the body with
a blocking socket and no timeout. A client that sends its headers and then
stalls holds that thread until it closes the connection: eight such clients
took every thread of 2 workers x 4 threads, and ``/health`` stopped answering
for everyone (issue #10; ``bench/slowloris.py``, docs/reliability.md).

:class:`TimeoutThreadWorker` gives every accepted client socket a timeout of
``CLIENT_READ_TIMEOUT`` seconds instead of none: any ``recv``/``send`` that
waits longer raises ``TimeoutError``. In the app, a body read that times out
becomes ``408 REQUEST_TIMEOUT`` (``app/api/routes.py``); in gunicorn's header
parser it closes the connection. It bounds how long each stalled client holds
a thread; it does not bound how many clients may try (that takes a buffering
reverse proxy, ``deploy/nginx.conf.example``).

Gunicorn answers what its own HTTP parser refuses (a bad request line, an
invalid header, a request line or headers over its limits, a bad chunk) and
errors that escape the app with an HTML page of its own. The worker answers
them in the service's JSON error shape instead, with a stable code for each
(``MALFORMED_REQUEST``, ``REQUEST_LINE_TOO_LONG``, ``HEADERS_TOO_LARGE``, ...,
docs/errors-and-limits.md): gunicorn still decides the status and logs, only
the body it writes is replaced (:class:`_JsonErrorSocket`).

Plain TCP only: with gunicorn's own TLS (``certfile``) the socket is replaced
by an ``SSLSocket`` and keeps gunicorn's behaviour; terminate TLS at the proxy.
"""

from __future__ import annotations

import json
import socket
import sys
import uuid

from gunicorn.workers.gthread import ThreadWorker

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
    """``gthread`` worker whose client sockets time out (``CLIENT_READ_TIMEOUT``).

    Use: ``worker_class = "app.serving.worker.TimeoutThreadWorker"``
    (``deploy/gunicorn.conf.py``).
    """

    _busy = 0  # connections handed to the thread pool and not finished yet (main thread only)
    _processed = 0  # requests that got a processing slot (app/api/admission.py)

    def init_process(self):
        from app.config import Settings

        # A subclass per worker process, so the value is read once, after fork, like create_app()'s settings.
        self._socket_class = type("TimeoutSocket", (_TimeoutSocket,),
                                  {"__slots__": (), "io_timeout": Settings.from_env().client_read_timeout})
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

    def accept(self, listener):
        # Wrap the listener so that each accepted socket gets the timeout class before gunicorn sees it.
        super().accept(_Listener(listener, self._socket_class))
        if self._busy >= self.cfg.threads:
            self.set_accept_enabled(False)

    # Accept only while a thread is free. Plain gthread accepts up to worker_connections
    # (1000) and queues them in its thread pool without bound, so one worker could take
    # every new connection while all its threads were held by stalled clients and the
    # other worker sat idle (measured: 16 stalled clients, all in one worker). Left in
    # the listen backlog instead, a connection goes to whichever worker has a thread.
    def enqueue_req(self, conn):
        self._busy += 1
        super().enqueue_req(conn)

    def finish_request(self, conn, fs):
        self._busy -= 1
        super().finish_request(conn, fs)

    def set_accept_enabled(self, enabled):
        super().set_accept_enabled(enabled and self._busy < self.cfg.threads)


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
    from http import HTTPStatus

    from app import SECURITY_HEADERS

    error = _service_error_for(status, exc)
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
