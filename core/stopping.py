"""ComfyUI's Cancel, as seen from the core: one stop callback per job, held in a context variable.

The pipeline installs the caller's ``should_stop`` once (``scope``); everything below it (retry
back-off inside urllib3, polling, lock waits, the download and decode loops) asks ``requested()``
or sleeps with ``sleep()``, so no function has to pass the callback along. A context variable
rather than a global: several jobs run at once in their own threads, each with its own callback.
"""
from __future__ import annotations

import contextlib
import contextvars
import time
from typing import Callable, Iterator

from .errors import StoppedError

_should_stop: contextvars.ContextVar[Callable[[], bool] | None] = contextvars.ContextVar(
    "runcomfy_should_stop", default=None)

#: how often a sleep looks at the stop callback
STEP_S = 0.2


@contextlib.contextmanager
def scope(should_stop: Callable[[], bool] | None) -> Iterator[None]:
    """Within this block (in this thread), ``requested()`` asks ``should_stop``."""
    token = _should_stop.set(should_stop)
    try:
        yield
    finally:
        _should_stop.reset(token)


def requested() -> bool:
    should_stop = _should_stop.get()
    return bool(should_stop is not None and should_stop())


def check(message: str, request_id: str | None = None) -> None:
    """Raise ``StoppedError(message)`` when a stop was requested."""
    if requested():
        raise StoppedError(message, request_id=request_id)


def sleep(seconds: float, message: str = "Stopped while waiting to retry") -> None:
    """``time.sleep`` that ends with ``StoppedError`` within ``STEP_S`` of a stop request."""
    deadline = time.monotonic() + max(0.0, seconds)
    while True:
        check(message)
        left = deadline - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(STEP_S, left))
