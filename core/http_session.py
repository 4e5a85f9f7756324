"""HTTP sessions for the API: retry policies (urllib3 ``Retry``) and token handling.

Two policies, because a submit is not idempotent (there is no idempotency key: re-sending a
submit whose body may have been accepted can start and bill a second job):

* reads (status, result, cancel, model info): retried on connection errors, read errors,
  429 and 5xx, with capped exponential backoff plus jitter, honouring ``Retry-After``;
* submit: retried only when it provably created no job: the connection could not be made
  (refused, connect timeout), or the API answered 429 or 503. A read error after the body
  went out is never retried.

Retry sleeps happen inside urllib3; ``StoppableRetry`` makes them wake up (and raise
``StoppedError``) when the current thread's stop callback says so, so ComfyUI's Cancel is
honoured even during a long ``Retry-After``.
"""
from __future__ import annotations

import contextlib
import contextvars
import logging
import time
from typing import Callable, Iterator

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from .config import ApiSettings, origin_of
from .errors import StoppedError

log = logging.getLogger("runcomfy_kling3")

USER_AGENT = "ComfyUI-RunComfy-Kling3"
RETRY_STATUSES = (429, 500, 502, 503, 504)
SUBMIT_RETRY_STATUSES = (429, 503)
MAX_BACKOFF_S = 20.0
MAX_RETRY_AFTER_S = 120.0  # a server asking for longer is treated as an error, not a wait

_should_stop: contextvars.ContextVar[Callable[[], bool] | None] = contextvars.ContextVar(
    "runcomfy_should_stop", default=None)


@contextlib.contextmanager
def stop_callback(should_stop: Callable[[], bool] | None) -> Iterator[None]:
    """Within this block, retry sleeps of this thread end early when ``should_stop()``."""
    token = _should_stop.set(should_stop)
    try:
        yield
    finally:
        _should_stop.reset(token)


def interruptible_sleep(seconds: float, should_stop: Callable[[], bool] | None = None,
                        step: float = 0.2) -> None:
    should_stop = should_stop or _should_stop.get()
    deadline = time.monotonic() + max(0.0, seconds)
    while True:
        if should_stop is not None and should_stop():
            raise StoppedError("Stopped while waiting to retry")
        left = deadline - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(step, left))


class StoppableRetry(Retry):
    """urllib3 ``Retry`` whose waits can be interrupted and whose Retry-After is bounded."""

    def parse_retry_after(self, retry_after: str) -> float:
        return min(super().parse_retry_after(retry_after), MAX_RETRY_AFTER_S)

    def sleep_for_retry(self, response=None) -> bool:
        seconds = self.get_retry_after(response) if response is not None else None
        if not seconds:
            return False
        log.info("RunComfy API asked to retry after %.1f s", seconds)
        interruptible_sleep(seconds)
        return True

    def _sleep_backoff(self) -> None:
        interruptible_sleep(self.get_backoff_time())


def read_retry(attempts: int = 5) -> Retry:
    return StoppableRetry(
        total=attempts, connect=attempts, read=attempts, status=attempts, other=0,
        backoff_factor=0.5, backoff_max=MAX_BACKOFF_S, backoff_jitter=0.5,
        status_forcelist=RETRY_STATUSES, allowed_methods=frozenset({"GET", "HEAD", "POST"}),
        respect_retry_after_header=True, raise_on_status=False, raise_on_redirect=False)


def submit_retry(attempts: int = 5) -> Retry:
    # read=0 and other=0: once the body may have reached the server, never send it again.
    return StoppableRetry(
        total=attempts, connect=attempts, read=0, status=attempts, other=0,
        backoff_factor=0.5, backoff_max=MAX_BACKOFF_S, backoff_jitter=0.5,
        status_forcelist=SUBMIT_RETRY_STATUSES, allowed_methods=frozenset({"POST"}),
        respect_retry_after_header=True, raise_on_status=False, raise_on_redirect=False)


class BearerAuth(requests.auth.AuthBase):
    """Adds the token only to requests for the API's own origin (never to a file host)."""

    def __init__(self, settings: ApiSettings):
        self._token = settings.token
        self._origin = origin_of(settings.base_url)

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if origin_of(request.url) == self._origin:
            request.headers["Authorization"] = f"Bearer {self._token}"
        else:
            request.headers.pop("Authorization", None)
        return request

    def __repr__(self) -> str:
        return "BearerAuth(<token hidden>)"


def make_session(settings: ApiSettings, retry: Retry) -> requests.Session:
    """A session for API calls. ``trust_env`` stays on so proxy variables keep working;
    the explicit auth object keeps requests from reading credentials from ``.netrc``."""
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry, pool_connections=2, pool_maxsize=8)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.auth = BearerAuth(settings)
    session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})
    return session
