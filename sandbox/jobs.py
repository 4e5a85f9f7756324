"""Sandbox jobs: a timeline driven by the wall clock since submission.

in_queue (queue_seconds, queue_position counting down) -> in_progress (run_seconds) ->
completed | failed. Only a queued job can be cancelled. Finished results can expire (a TTL, or
``expire()``), after which the job answers 404 like an unknown one.
"""
from __future__ import annotations

import math
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone

from .settings import SandboxSettings

PRICE_PER_SECOND = 0.112
PRICE_PER_SECOND_WITH_SOUND = 0.168

#: statuses a job can show; "expired" is internal and answered as 404
IN_QUEUE, IN_PROGRESS, COMPLETED, FAILED, CANCELLED = (
    "in_queue", "in_progress", "completed", "failed", "cancelled")
EXPIRED = "expired"


def iso_time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat(timespec="milliseconds") \
        .replace("+00:00", "Z")


@dataclass
class Job:
    request_id: str
    owner: str
    body: dict
    settings: SandboxSettings
    submitted_mono: float = field(default_factory=time.monotonic)
    submitted_wall: float = field(default_factory=time.time)
    cancelled_mono: float | None = None
    expired: bool = False

    @property
    def queue_end(self) -> float:
        return self.submitted_mono + self.settings.queue_seconds

    @property
    def run_end(self) -> float:
        return self.queue_end + self.settings.run_seconds

    @property
    def cancelled_wall(self) -> float | None:
        if self.cancelled_mono is None:
            return None
        return self.submitted_wall + (self.cancelled_mono - self.submitted_mono)

    @property
    def finished_wall(self) -> float:
        return self.submitted_wall + self.settings.queue_seconds + self.settings.run_seconds

    def status(self, now: float | None = None) -> tuple[str, int | None]:
        """(status, queue_position or None) at monotonic time ``now``."""
        now = time.monotonic() if now is None else now
        if self.expired:
            return EXPIRED, None
        if self.cancelled_mono is not None:
            return CANCELLED, None
        if now < self.queue_end:
            # equal slices of the queue time for start, start-1, ..., 0
            start = self.settings.queue_position_start
            left = (self.queue_end - now) / self.settings.queue_seconds
            return IN_QUEUE, min(start, math.floor(left * (start + 1)))
        if now < self.run_end:
            return IN_PROGRESS, None
        ttl = self.settings.result_ttl_seconds
        if ttl is not None and now >= self.run_end + ttl:
            return EXPIRED, None
        return self.settings.job_outcome, None

    @property
    def cost(self) -> float:
        duration = self.body.get("duration", 5)
        rate = PRICE_PER_SECOND_WITH_SOUND if self.body.get("sound", True) else PRICE_PER_SECOND
        return round(duration * rate, 4)

    def view(self) -> dict:
        status, position = self.status()
        return {"request_id": self.request_id, "status": status, "queue_position": position,
                "owner": self.owner, "body": dict(self.body),
                "submitted_at": iso_time(self.submitted_wall),
                "finished_at": iso_time(self.finished_wall),
                # the clock of RecordedRequest.time, to relate requests to the job's timeline
                "submitted_at_monotonic": self.submitted_mono,
                "started_at_monotonic": self.queue_end,
                "finished_at_monotonic": self.run_end,
                "queue_seconds": self.settings.queue_seconds,
                "run_seconds": self.settings.run_seconds,
                "outcome": self.settings.job_outcome,
                "cancelled": self.cancelled_mono is not None, "expired": status == EXPIRED}


class JobStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}

    def create(self, owner: str, body: dict, settings: SandboxSettings) -> Job:
        job = Job(str(uuid.uuid4()), owner, dict(body), settings.snapshot())
        with self._lock:
            self._jobs[job.request_id] = job
        return job

    def get(self, request_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(request_id)

    def cancel(self, job: Job) -> str:
        """"cancelled" if the job was (or already is) cancelled, else "not_cancellable"."""
        with self._lock:
            status, _ = job.status()
            if status == IN_QUEUE:
                job.cancelled_mono = time.monotonic()
                return "cancelled"
            # a repeated cancel (e.g. a client retrying after a lost answer) reports the same
            return "cancelled" if status == CANCELLED else "not_cancellable"

    def expire(self, request_id: str) -> bool:
        with self._lock:
            job = self._jobs.get(request_id)
            if job is None:
                return False
            job.expired = True
            return True

    def clear(self) -> None:
        with self._lock:
            self._jobs.clear()
