"""One back-off for the whole process after the API says "too many requests" (HTTP 429).

The retry policy (``session.py``) makes the request that got the 429 wait its ``Retry-After``.
With a batch of jobs in flight, the others would go on polling at full pace and draw more 429s;
so a 429 also closes this gate for that long, and every API request of every job (submits,
status polls, cancels, price look-ups) waits for it to open first. A batch slows down as one.

Only API requests pass the gate: the file host of the results is another server with its own
limits. Waiting honours Cancel (``core.stopping``). ``core/pacing.py`` decides how often a job
polls; this gate only ever delays a request, never sends one sooner.
"""
from __future__ import annotations

import logging
import threading
import time

from .. import stopping

log = logging.getLogger("runcomfy_kling3")

#: the pause when a 429 names no Retry-After
DEFAULT_PAUSE_S = 2.0
#: a longer pause is cut to this (the retry policy refuses a longer Retry-After as an error)
MAX_PAUSE_S = 120.0


class RateGate:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open_at = 0.0  # time.monotonic() from which requests may go again
        self.closed_count = 0

    def close_for(self, seconds: float | None) -> None:
        """A 429 was answered: hold every API request for ``seconds`` (the default when unknown)."""
        pause = DEFAULT_PAUSE_S if not seconds or seconds <= 0 else min(float(seconds), MAX_PAUSE_S)
        with self._lock:
            until = time.monotonic() + pause
            if until > self._open_at:
                self._open_at = until
                self.closed_count += 1
                log.info("RunComfy API rate limit: every job waits %.1f s before its next request", pause)

    def remaining(self) -> float:
        with self._lock:
            return max(0.0, self._open_at - time.monotonic())

    def wait(self) -> None:
        """Return once the gate is open (at once when it is); ``StoppedError`` on Cancel."""
        while True:
            left = self.remaining()
            if left <= 0:
                return
            stopping.sleep(left, "Stopped while waiting out the API's rate limit")

    def reset(self) -> None:
        with self._lock:
            self._open_at = 0.0


#: the one gate of this process
SHARED = RateGate()
