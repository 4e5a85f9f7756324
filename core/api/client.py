"""The RunComfy Model API client: submit an input, get a ``RequestHandle`` back.

    client = RunComfyClient.from_env()
    handle = client.submit(MODEL_ID, body)        # POST /v1/models/{model_id}
    result = handle.wait(on_update=print)          # polls /v1/requests/{id}/status
    client.handle(request_id).result()             # re-attach to an earlier request
"""
from __future__ import annotations

import logging
from typing import Mapping

import requests
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, ProxyError, SSLError

from .. import stopping
from ..errors import (ApiUnreachableError, AuthenticationError, ProtocolError, ServerError,
                      SubmissionOutcomeUnknownError)
from .answers import read_json
from .handle import RequestHandle, is_request_id, shown_request_id
from .rate_gate import SHARED as RATE_GATE
from .session import DEFAULT_ATTEMPTS, READS, SUBMITS, api_session, transport_cause
from .settings import ApiSettings, load_settings

log = logging.getLogger("runcomfy_kling3")

#: (connect, read) seconds
READ_TIMEOUT = (10.0, 30.0)
SUBMIT_TIMEOUT = (10.0, 60.0)


class RunComfyClient:
    def __init__(self, settings: ApiSettings, *, attempts: int = DEFAULT_ATTEMPTS,
                 read_timeout: tuple[float, float] = READ_TIMEOUT,
                 submit_timeout: tuple[float, float] = SUBMIT_TIMEOUT):
        self.settings = settings
        self.read_timeout = read_timeout
        self.submit_timeout = submit_timeout
        self._reads = api_session(settings, READS, attempts)
        self._submits = api_session(settings, SUBMITS, attempts)

    @classmethod
    def from_env(cls, saved_token: str | None = None, environ: Mapping[str, str] | None = None,
                 **kwargs) -> "RunComfyClient":
        """A client configured from the environment (raises ``MissingTokenError`` first)."""
        return cls(load_settings(saved_token, environ), **kwargs)

    def __repr__(self) -> str:
        return f"RunComfyClient(base_url={self.settings.base_url!r})"

    def __enter__(self) -> "RunComfyClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._reads.close()
        self._submits.close()

    def url(self, path: str) -> str:
        return self.settings.base_url + path

    def handle(self, request_id: str) -> RequestHandle:
        return RequestHandle(self, request_id)

    def model_info(self, model_id: str) -> dict:
        """``GET /v1/models/{model_id}``: read-only, also a cheap token check."""
        return self.call("GET", f"/v1/models/{model_id}")

    def submit(self, model_id: str, body: dict) -> RequestHandle:
        """Start a job. Sent again only when the API provably did not create one."""
        RATE_GATE.wait()  # after a 429 of any job, the whole batch slows down (rate_gate.py)
        try:
            response = self._submits.post(self.url(f"/v1/models/{model_id}"), json=body,
                                          timeout=self.submit_timeout, allow_redirects=False)
        except requests.RequestException as exc:
            if _never_sent(exc):
                raise ApiUnreachableError(f"Could not connect to the RunComfy API at "
                                          f"{self.settings.base_url}: {transport_cause(exc)}") from None
            raise SubmissionOutcomeUnknownError(
                f"No answer to the submission ({transport_cause(exc)})") from None
        try:
            answer = self._read(response)
        except ProtocolError as exc:
            # A 2xx whose body we cannot read: the job probably exists, we just lost its id.
            raise SubmissionOutcomeUnknownError(f"Unreadable answer to the submission: {exc.reason}") from None
        except ServerError as exc:
            if response.status_code == 503:
                raise  # 503 means the request was not taken (and was already retried)
            # Any other server error may come after the API accepted the job (a gateway 502/504).
            raise SubmissionOutcomeUnknownError(f"The API answered the submission with an error "
                                                f"({exc.reason})") from None
        request_id = answer.get("request_id")
        if not isinstance(request_id, str) or not request_id:
            raise SubmissionOutcomeUnknownError("The answer to the submission holds no request id")
        if not is_request_id(request_id):
            # never put it in a URL (``../../x`` or ``x?a=b#`` would send the token elsewhere)
            raise SubmissionOutcomeUnknownError(f"The answer to the submission holds a malformed request "
                                                f"id {shown_request_id(request_id)}; it was not used")
        log.info("Submitted %s as request %s", model_id, request_id)
        return RequestHandle(self, request_id)

    def call(self, method: str, path: str, *, request_id: str | None = None,
             params: dict | None = None, timeout: tuple[float, float] | None = None) -> dict:
        """An idempotent API call (status, result, cancel, model info), with retries."""
        if not stopping.requested():  # a stopping job's one cancel request goes at once
            RATE_GATE.wait()
        try:
            response = self._reads.request(method, self.url(path), params=params, allow_redirects=False,
                                           timeout=timeout or self.read_timeout)
        except requests.RequestException as exc:
            raise ApiUnreachableError(f"The RunComfy API did not answer {method} {path.split('?')[0]}: "
                                      f"{transport_cause(exc)}", request_id=request_id) from None
        return self._read(response, request_id)

    def _read(self, response: requests.Response, request_id: str | None = None) -> dict:
        """``read_json``; a refused token's advice names where the token came from."""
        if response.status_code == 429:  # retries used up: the next request of any job waits too
            RATE_GATE.close_for(_seconds(response.headers.get("Retry-After")))
        try:
            return read_json(response, request_id, self.settings.token)
        except AuthenticationError as exc:
            raise exc.for_token_source(self.settings.token_source)


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None  # an HTTP date: the gate's default pause


def _never_sent(exc: requests.RequestException) -> bool:
    """True when the request cannot have reached the server: no connection was made, the proxy
    could not be reached, or the TLS handshake failed (the body goes out only after it)."""
    if isinstance(exc, (requests.ConnectTimeout, requests.exceptions.SSLError, requests.exceptions.ProxyError)):
        return True
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    # NewConnectionError (refused, DNS failure) is a ConnectTimeoutError too
    return isinstance(reason, (ConnectTimeoutError, SSLError, ProxyError))


__all__ = ["RunComfyClient"]
