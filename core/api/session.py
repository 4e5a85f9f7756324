"""HTTP sessions: the one retry-policy builder (urllib3 ``Retry``) and token handling.

Three policies from one builder, because a submit is not idempotent (there is no idempotency
key: re-sending a submit whose body may have been accepted can start and bill a second job):

* ``READS`` (status, result, cancel, model info): retried on connection errors, read errors,
  429 and 5xx, with capped exponential backoff plus jitter, honouring ``Retry-After``;
* ``SUBMITS``: retried only when it provably created no job: the connection could not be made
  (refused, connect timeout), or the API answered 429 or 503. A read error after the body
  went out is never retried;
* ``FILES`` (the result download from a storage host): like reads, GET and HEAD only.

Retry sleeps happen inside urllib3; ``StoppableRetry`` makes them wake up (and raise
``StoppedError``) when the job's stop callback says so (``core.stopping``), so ComfyUI's Cancel is
honoured even during a long ``Retry-After``.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError
from urllib3.util.retry import Retry

from .. import stopping
from .rate_gate import SHARED as RATE_GATE
from .settings import ApiSettings, origin_of

log = logging.getLogger("runcomfy_kling3")

USER_AGENT = "ComfyUI-RunComfy-Kling3"
MAX_BACKOFF_S = 20.0
MAX_RETRY_AFTER_S = 120.0  # a server asking for longer is treated as an error, not a wait
DEFAULT_ATTEMPTS = 5


@dataclass(frozen=True)
class RetryPolicy:
    statuses: tuple[int, ...]
    methods: frozenset
    #: False: once the request may have reached the server, never send it again
    retry_reads: bool


READS = RetryPolicy((429, 500, 502, 503, 504), frozenset({"GET", "HEAD", "POST"}), True)
SUBMITS = RetryPolicy((429, 503), frozenset({"POST"}), False)
FILES = RetryPolicy((429, 500, 502, 503, 504), frozenset({"GET", "HEAD"}), True)


class StoppableRetry(Retry):
    """urllib3 ``Retry`` whose waits can be interrupted and whose Retry-After is bounded."""

    def parse_retry_after(self, retry_after: str) -> float:
        return min(super().parse_retry_after(retry_after), MAX_RETRY_AFTER_S)

    def sleep(self, response=None) -> None:
        if response is not None and getattr(response, "status", None) == 429:
            # every job of this process waits too, not only this request (rate_gate.py)
            RATE_GATE.close_for(self.get_retry_after(response) or self.get_backoff_time())
        super().sleep(response)

    def sleep_for_retry(self, response=None) -> bool:
        seconds = self.get_retry_after(response) if response is not None else None
        if not seconds:
            return False
        log.info("RunComfy API asked to retry after %.1f s", seconds)
        stopping.sleep(seconds)
        return True

    def _sleep_backoff(self) -> None:
        stopping.sleep(self.get_backoff_time())


def build_retry(policy: RetryPolicy, attempts: int = DEFAULT_ATTEMPTS) -> Retry:
    return StoppableRetry(
        total=attempts, connect=attempts, read=attempts if policy.retry_reads else 0,
        status=attempts, other=0, backoff_factor=0.5, backoff_max=MAX_BACKOFF_S, backoff_jitter=0.5,
        status_forcelist=policy.statuses, allowed_methods=policy.methods,
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


class NoAuth(requests.auth.AuthBase):
    """Removes any Authorization header; being an auth object, it also stops requests from
    looking up ``.netrc`` credentials for the request."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers.pop("Authorization", None)
        return request


def make_session(policy: RetryPolicy, auth: requests.auth.AuthBase, *, attempts: int = DEFAULT_ATTEMPTS,
                 pool_size: int = 8) -> requests.Session:
    """A session retrying by ``policy``. ``trust_env`` stays on so proxy variables keep working;
    the explicit auth object keeps requests from reading credentials from ``.netrc``."""
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=build_retry(policy, attempts), pool_connections=2, pool_maxsize=pool_size)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.auth = auth
    session.headers["User-Agent"] = USER_AGENT
    return session


def api_session(settings: ApiSettings, policy: RetryPolicy, attempts: int = DEFAULT_ATTEMPTS) -> requests.Session:
    session = make_session(policy, BearerAuth(settings), attempts=attempts)
    session.headers["Accept"] = "application/json"
    return session


def transport_cause(exc: BaseException) -> str:
    """A short, token- and URL-free description of a transport error ("ConnectTimeoutError:
    timed out"); requests' own texts quote URLs, which may be signed."""
    reason = exc.args[0] if exc.args else exc
    if isinstance(reason, MaxRetryError) and reason.reason is not None:
        reason = reason.reason
    text = f"{type(reason).__name__}"
    detail = str(reason)
    if "Connection refused" in detail:
        text += ": connection refused"
    elif "timed out" in detail.lower():
        text += ": timed out"
    elif "RemoteDisconnected" in detail or "Connection aborted" in detail:
        text += ": connection closed without an answer"
    return text
