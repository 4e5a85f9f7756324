"""A submitted request: its status values, and a handle to poll, wait for, fetch or cancel it.

Status values are small typed objects (``Queued(position=2)``, ``InProgress()``, ...), so the
code that reacts to them reads as a plain ``isinstance`` check.
"""
from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field
from typing import Callable, ClassVar, Protocol

from .. import stopping
from ..errors import (ApiUnreachableError, JobCancelledError, JobFailedError, ProtocolError,
                      RateLimitedError, RunComfyError, ServerError, StoppedError, WaitTimeoutError)
from ..redaction import network_text


log = logging.getLogger("runcomfy_kling3")

DEFAULT_POLL_INTERVAL_S = 2.0
MIN_POLL_INTERVAL_S = 1.0  # a pacing callback never makes it more than one status request a second
DEFAULT_TIMEOUT_S = 30 * 60.0
MAX_FAILED_POLLS = 8  # consecutive polls that failed even after the HTTP-level retries
MAX_REASON_CHARS = 500  # a failure reason from the API, as shown
CANCEL_TIMEOUT = (3.0, 5.0)  # (connect, read) seconds for the cancel sent when the user stops
#: what a RunComfy request id looks like; anything else never goes into a URL path
REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,128}")


def is_request_id(value: object) -> bool:
    """True for a well-formed request id (the API's and the Fetch Result node's input alike)."""
    return isinstance(value, str) and REQUEST_ID_PATTERN.fullmatch(value) is not None


def shown_request_id(value: object) -> str:
    """A request id that failed ``is_request_id``, fit to quote: escaped, redacted and short."""
    return network_text(repr(value), limit=40)


def check_request_id(value: object, request_id: str | None = None) -> str:
    """``value`` when it is a well-formed request id, else ``ProtocolError`` (the API's answer)."""
    if not is_request_id(value):
        raise ProtocolError(f"The API answered a malformed request id {shown_request_id(value)}; it was "
                            f"not used", request_id=request_id)
    return value  # type: ignore[return-value]


@dataclass(frozen=True)
class Status:
    #: the API's word for it; "queued" and "generating" are also ``Phase`` values of the progress
    phase: ClassVar[str] = "unknown"
    terminal: ClassVar[bool] = False


@dataclass(frozen=True)
class Queued(Status):
    position: int | None = None
    phase: ClassVar[str] = "queued"


@dataclass(frozen=True)
class InProgress(Status):
    phase: ClassVar[str] = "generating"


@dataclass(frozen=True)
class Completed(Status):
    phase: ClassVar[str] = "completed"
    terminal: ClassVar[bool] = True


@dataclass(frozen=True)
class Failed(Status):
    error: object = None
    phase: ClassVar[str] = "failed"
    terminal: ClassVar[bool] = True


@dataclass(frozen=True)
class Cancelled(Status):
    phase: ClassVar[str] = "cancelled"
    terminal: ClassVar[bool] = True


_STATUS_NAMES = {
    "in_queue": Queued, "queued": Queued, "pending": Queued,
    "in_progress": InProgress, "running": InProgress, "processing": InProgress,
    "completed": Completed, "succeeded": Completed, "success": Completed,
    "failed": Failed, "error": Failed,
    "cancelled": Cancelled, "canceled": Cancelled,
}


def parse_status(body: dict, request_id: str | None = None) -> Status:
    name = str(body.get("status") or "").strip().lower()
    kind = _STATUS_NAMES.get(name)
    if kind is None:
        raise ProtocolError(f"The API reported an unknown job status {network_text(name, limit=60)!r}",
                            request_id=request_id)
    if kind is Queued:
        position = body.get("queue_position")
        return Queued(position=int(position) if isinstance(position, (int, float)) else None)
    if kind is Failed:
        return Failed(error=body.get("error") or body.get("error_message"))
    return kind()


@dataclass(frozen=True)
class JobUpdate:
    """What ``wait`` reports on every change of status or queue position."""

    request_id: str
    status: Status
    elapsed_s: float


@dataclass(frozen=True)
class JobResult:
    request_id: str
    video_url: str
    output: dict = field(repr=False)
    cost_usd: float | None = None
    created_at: str | None = None
    finished_at: str | None = None


def video_url_of(output: object, request_id: str) -> str:
    if isinstance(output, dict):
        if isinstance(output.get("video"), str) and output["video"]:
            return output["video"]
        videos = output.get("videos")
        if isinstance(videos, list) and videos and isinstance(videos[0], str):
            return videos[0]
    raise ProtocolError("The finished job's output holds no video URL", request_id=request_id)


def failure_text(error: object) -> str:
    """The reason of a failure as one short line: a string, or the message of an error object."""
    if isinstance(error, dict):
        error = error.get("message") or error.get("error_message") or error.get("detail") or error
    return network_text(error, limit=MAX_REASON_CHARS) if error else "no reason given"


class ApiCaller(Protocol):
    """What a handle needs of the client: one idempotent, retried API call."""

    def call(self, method: str, path: str, *, request_id: str | None = None, params: dict | None = None,
             timeout: tuple[float, float] | None = None) -> dict: ...


class RequestHandle:
    """One request on the API. Cheap to make: ``client.handle(request_id)`` re-attaches."""

    def __init__(self, client: ApiCaller, request_id: str):
        self.client = client
        self.request_id = check_request_id(request_id)

    def __repr__(self) -> str:
        return f"RequestHandle(request_id={self.request_id!r})"

    def status(self) -> Status:
        return parse_status(self._get("status"), self.request_id)

    def result(self) -> JobResult | None:
        """The result when the job completed, ``None`` while it is still queued or running."""
        body = self._get("result", params={"include_cost": "true"})
        answered = body.get("request_id")
        if answered is not None and answered != self.request_id:
            check_request_id(answered, self.request_id)
            raise ProtocolError(f"The API answered with the result of another request ({answered})",
                                request_id=self.request_id)
        status = parse_status(body, self.request_id)
        if isinstance(status, Failed):
            raise JobFailedError(f"The job failed: {failure_text(status.error)}",
                                 reason=status.error, request_id=self.request_id)
        if isinstance(status, Cancelled):
            raise JobCancelledError("The job was cancelled", request_id=self.request_id)
        if not isinstance(status, Completed):
            return None
        cost = body.get("cost")
        return JobResult(request_id=self.request_id, video_url=video_url_of(body.get("output"), self.request_id),
                         output=body.get("output") or {}, cost_usd=float(cost) if isinstance(cost, (int, float)) else None,
                         created_at=body.get("created_at"), finished_at=body.get("finished_at"))

    def cancel(self, timeout: tuple[float, float] | None = None) -> bool:
        """Ask the API to cancel. True when it did; False when the job was no longer queued."""
        body = self.client.call("POST", f"/v1/requests/{self.request_id}/cancel", request_id=self.request_id,
                                timeout=timeout)
        outcome = str(body.get("outcome") or body.get("status") or "").lower()
        return outcome in ("cancelled", "canceled")

    def wait(self, on_update: Callable[[JobUpdate], None] | None = None, *,
             poll_interval: float = DEFAULT_POLL_INTERVAL_S, timeout: float = DEFAULT_TIMEOUT_S,
             cancel_on_stop: bool = True,
             next_interval: Callable[[Status | None], float] | None = None) -> JobResult:
        """Poll until the job finishes; at most one status request per ``poll_interval``, or per
        ``next_interval(last_status)`` seconds when given (never under ``MIN_POLL_INTERVAL_S``
        unless ``poll_interval`` itself is shorter).

        ``on_update`` is called on every change of status or queue position. A stop request
        (``core.stopping``) is seen within 0.2 s (also during retry back-off); then the job is
        cancelled if it is still queued (``cancel_on_stop``) and ``StoppedError`` is raised.
        """
        start = time.monotonic()
        last: Status | None = None
        failed_polls = 0
        next_poll = start
        try:
            while True:
                stopping.sleep(next_poll - time.monotonic())
                if time.monotonic() - start > timeout:
                    raise WaitTimeoutError(f"Gave up waiting after {timeout / 60:.0f} min "
                                           f"(last status: {last.phase if last else 'unknown'})",
                                           request_id=self.request_id)
                pace = poll_interval if next_interval is None else \
                    max(min(poll_interval, MIN_POLL_INTERVAL_S), next_interval(last))
                next_poll = time.monotonic() + pace
                try:
                    status = self.status()
                    # counted from the answer too, so even a slow answer never brings two closer
                    next_poll = max(next_poll, time.monotonic() + pace)
                    result = self.result() if isinstance(status, Completed) else None
                    failed_polls = 0
                except (ServerError, ProtocolError, RateLimitedError, ApiUnreachableError) as exc:
                    failed_polls += 1
                    log.warning("Status check %d for request %s failed: %s",
                                failed_polls, self.request_id, exc)
                    if failed_polls >= MAX_FAILED_POLLS:
                        raise exc.with_request_id(self.request_id)
                    continue
                if status != last:
                    last = status
                    log.info("Request %s: %s", self.request_id,
                             f"failed ({failure_text(status.error)})" if isinstance(status, Failed) else status)
                    if on_update is not None:
                        on_update(JobUpdate(self.request_id, status, time.monotonic() - start))
                if result is not None:
                    return result
                if isinstance(status, (Failed, Cancelled)):
                    raise self._ended(status)
        except StoppedError:
            raise self._stopped(cancel_on_stop and not isinstance(last, Completed)) from None

    def _ended(self, status: Status) -> RunComfyError:
        """The error of a failed or cancelled job. A status answer may say only "failed": then
        the result answer is read once for the reason (where RunComfy's own nodes find it)."""
        reason = status.error if isinstance(status, Failed) else None
        if not reason:
            try:
                body = self._get("result")
                reason = body.get("error") or body.get("error_message")
            except RunComfyError as exc:
                log.info("Request %s ended (%s); its result answer gave no reason: %s",
                         self.request_id, status.phase, exc.reason)
        if isinstance(status, Failed):
            return JobFailedError(f"The job failed: {failure_text(reason)}", reason=reason,
                                  request_id=self.request_id)
        suffix = f": {failure_text(reason)}" if reason else ""
        return JobCancelledError(f"The job was cancelled{suffix}", request_id=self.request_id)

    def _stopped(self, cancel: bool) -> StoppedError:
        if not cancel:
            return StoppedError("Stopped waiting for the job", request_id=self.request_id)
        try:
            # One quick attempt: the user is waiting for ComfyUI to give control back, and a
            # stop callback that is already true ends any retry back-off at once.
            with stopping.scope(lambda: True):
                cancelled = self.cancel(timeout=CANCEL_TIMEOUT)
        except StoppedError:
            return StoppedError("Stopped waiting; the API did not confirm the cancellation, so the job may "
                                "still run and be charged", request_id=self.request_id)
        except RunComfyError as exc:
            return StoppedError(f"Stopped waiting; cancelling the job failed ({exc.reason}), so it may "
                                f"still run and be charged", request_id=self.request_id)
        if cancelled:
            return StoppedError("Stopped; the queued job was cancelled, nothing is charged",
                                request_id=self.request_id, remote_cancelled=True)
        return StoppedError("Stopped waiting, but the job was already generating and can no longer be "
                            "cancelled: it will finish and be charged. Its result can be recovered with "
                            "the request id", request_id=self.request_id, remote_cancelled=False)

    def _get(self, what: str, params: dict | None = None) -> dict:
        return self.client.call("GET", f"/v1/requests/{self.request_id}/{what}",
                                request_id=self.request_id, params=params)

