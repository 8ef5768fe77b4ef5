"""Backpressure: a bounded number of requests processed at once, a bounded
queue, then ``503 OVERLOADED`` with ``Retry-After``.

Gunicorn's gthread worker hands every accepted connection to its thread pool,
whose queue has no bound: under load a request would wait there, and then
behind the CPU-bound OCR of the others, for as long as it takes (measured: p90
32 s with 8 clients, docs/reliability.md). Here each worker admits at most
``MAX_ACTIVE_REQUESTS`` OCR/extraction requests at once; up to
``MAX_QUEUED_REQUESTS`` more wait for a slot, each at most ``QUEUE_TIMEOUT``
seconds; any other is refused at once. Refusals are
:class:`app.errors.Overloaded` (503, ``Retry-After``), which callers retry.

The slot is taken after the request body has been read (a slow upload holds a
thread, never a processing slot) and given back when the response is done.
``/health`` and ``/ready`` are not admitted through here, so they answer while
every slot is busy as long as the worker has threads to spare: run gunicorn
with ``GUNICORN_THREADS`` > ``MAX_ACTIVE_REQUESTS + MAX_QUEUED_REQUESTS``.
"""

from __future__ import annotations

import threading
import time

from app.errors import Overloaded


class AdmissionControl:
    """Counting gate with a bounded wait queue (one per worker process).

    Args:
        max_active: requests processed at once (>= 1); 0 disables the gate.
        max_queued: requests that may wait for a slot (>= 0).
        queue_timeout: seconds a queued request waits at most.
        retry_after: seconds suggested to refused callers (``Retry-After``).
    """

    def __init__(self, max_active: int, max_queued: int, queue_timeout: float, retry_after: int = 2):
        self.max_active = max_active
        self.max_queued = max_queued
        self.queue_timeout = queue_timeout
        self.retry_after = retry_after
        self._cond = threading.Condition()
        self.active = 0
        self.queued = 0
        self.refused = 0

    @property
    def enabled(self) -> bool:
        return self.max_active > 0

    def acquire(self, deadline: float | None = None) -> None:
        """Take a processing slot, waiting in the queue if there is room.

        Args:
            deadline: ``time.monotonic()`` instant the request must be answered by;
                the wait ends there too when it comes before ``queue_timeout``.

        Raises:
            Overloaded: the queue is full, or no slot came free within ``queue_timeout``.
        """
        if not self.enabled:
            return
        with self._cond:
            if self.active < self.max_active and self.queued == 0:
                self.active += 1
                return
            if self.queued >= self.max_queued:
                self.refused += 1
                raise Overloaded(
                    f"All {self.max_active} processing slots of this worker are busy and {self.queued} requests "
                    "are waiting; retry later", retry_after=self.retry_after)
            self.queued += 1
            until = time.monotonic() + self.queue_timeout
            if deadline is not None:
                until = min(until, deadline)
            try:
                while self.active >= self.max_active:
                    left = until - time.monotonic()
                    if left <= 0:
                        self.refused += 1
                        raise Overloaded(f"No processing slot came free within {self.queue_timeout:g} s "
                                         "(QUEUE_TIMEOUT); retry later", retry_after=self.retry_after)
                    self._cond.wait(left)
                self.active += 1
            finally:
                self.queued -= 1

    def release(self) -> None:
        """Give a slot back (once per successful :meth:`acquire`)."""
        if not self.enabled:
            return
        with self._cond:
            self.active -= 1
            self._cond.notify()

    def snapshot(self) -> dict:
        """``{"active", "queued", "max_active", "max_queued", "refused"}`` for ``/ready``."""
        with self._cond:
            return {"active": self.active, "queued": self.queued, "max_active": self.max_active,
                    "max_queued": self.max_queued, "refused": self.refused}
