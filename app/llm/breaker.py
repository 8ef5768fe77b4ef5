"""Circuit breaker in front of the LLM server.

The pattern of Nygard, *Release It!* (2nd ed., ch. 5 "Circuit Breaker"), as
described by Fowler (https://martinfowler.com/bliki/CircuitBreaker.html):

* **closed**: calls go through; consecutive failures are counted, a success
  resets the count. After ``fail_max`` consecutive failures the circuit opens.
* **open**: calls fail at once (:class:`CircuitOpen`) without touching the
  server, for ``reset_timeout`` seconds.
* **half-open**: after that, exactly one call (the probe) goes through while the
  others still fail fast. The probe's success closes the circuit, its failure
  opens it for another ``reset_timeout``. A probe that neither succeeds nor fails
  within ``reset_timeout`` (a hung call) no longer blocks the next probe.

Why not a library: ``pybreaker`` (1.4.1, BSD) holds one lock around the guarded
call itself (``CircuitBreaker.call``: ``with self._lock: return
self.state.call(...)``), which would serialise every LLM call of a worker's
threads; ``circuitbreaker`` (2.x) keeps its state without any lock. This class
holds its lock only for the state transitions, never during the call.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable

log = logging.getLogger(__name__)

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"


class CircuitOpen(Exception):
    """The circuit is open: the call was not attempted.

    Attributes:
        retry_after: seconds until the next probe may go through (>= 0).
        failures: consecutive failures that opened the circuit.
    """

    def __init__(self, retry_after: float, failures: int):
        self.retry_after = max(0.0, retry_after)
        self.failures = failures
        super().__init__(f"circuit open after {failures} consecutive failures; next probe in {self.retry_after:.1f} s")


class CircuitBreaker:
    """Thread-safe three-state circuit breaker (see the module docstring).

    Use: ``breaker.before_call()`` (raises :class:`CircuitOpen`), then the call,
    then ``breaker.record_success()`` or ``breaker.record_failure()``; outcomes
    that say nothing about the server's health (a caller's own short timeout)
    are recorded with neither, through ``breaker.record_neutral()``.

    Args:
        fail_max: consecutive failures that open the circuit (>= 1).
        reset_timeout: seconds the circuit stays open before a probe.
        clock: monotonic clock in seconds (tests inject a fake one).
        name: for log lines.
    """

    def __init__(self, fail_max: int = 3, reset_timeout: float = 2.0, clock: Callable[[], float] = time.monotonic,
                 name: str = "llm"):
        if fail_max < 1:
            raise ValueError("fail_max must be >= 1")
        self.fail_max = fail_max
        self.reset_timeout = reset_timeout
        self.name = name
        self._clock = clock
        self._lock = threading.Lock()
        self._state = CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probe_started: float | None = None

    @property
    def state(self) -> str:
        """``closed``, ``open`` or ``half_open`` (open turns half-open only when a probe is let through)."""
        with self._lock:
            return self._state

    def before_call(self) -> None:
        """Let a call through, or raise :class:`CircuitOpen`.

        Raises:
            CircuitOpen: the circuit is open, or half-open with its probe in flight.
        """
        with self._lock:
            if self._state == CLOSED:
                return
            now = self._clock()
            if self._state == OPEN:
                wait = self._opened_at + self.reset_timeout - now
                if wait > 0:
                    raise CircuitOpen(wait, self._failures)
                self._state = HALF_OPEN
                self._probe_started = now
                log.info("circuit %s half-open: probing the server", self.name)
                return
            # HALF_OPEN: one probe at a time, unless the last one hung past reset_timeout.
            if self._probe_started is not None and now - self._probe_started < self.reset_timeout:
                raise CircuitOpen(self._probe_started + self.reset_timeout - now, self._failures)
            self._probe_started = now

    def record_success(self) -> None:
        """The server answered: close the circuit."""
        with self._lock:
            if self._state != CLOSED:
                log.info("circuit %s closed: the server answers again", self.name)
            self._state = CLOSED
            self._failures = 0
            self._probe_started = None

    def record_failure(self) -> None:
        """The server failed (unreachable, 5xx): count it; open at ``fail_max`` or on a failed probe."""
        with self._lock:
            self._failures += 1
            # Already open: counted only (the next probe stays due at opened_at + reset_timeout).
            if self._state == HALF_OPEN or (self._state == CLOSED and self._failures >= self.fail_max):
                log.warning("circuit %s open after %d consecutive failures; next probe in %.1f s",
                            self.name, self._failures, self.reset_timeout)
                self._state = OPEN
                self._opened_at = self._clock()
                self._probe_started = None

    def record_neutral(self) -> None:
        """The call ended without telling whether the server is healthy: free the probe slot."""
        with self._lock:
            if self._state == HALF_OPEN:
                self._probe_started = None
