"""What a job is doing now: its phase (one enum for the whole pack) and its progress.

The pipeline's worker thread writes a ``Progress``; the ComfyUI layer reads it from its event
loop to draw the node's status. Single attribute writes only, so no lock is needed.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from enum import Enum


class Phase(str, Enum):
    """Phases in the order a job goes through them, then how it ended. The values are the
    words the web extension receives."""

    VALIDATING = "validating"
    #: a new job waits for one of the process's slots for jobs in flight (core/slots.py)
    WAITING_FOR_SLOT = "waiting"
    SUBMITTING = "submitting"
    QUEUED = "queued"
    GENERATING = "generating"
    DOWNLOADING = "downloading"
    DECODING = "decoding"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"

    # plain text in f-strings and logs, like the str it is
    __str__ = str.__str__
    __format__ = str.__format__


@dataclass
class Progress:
    """Written by the worker, read by whoever draws it."""

    phase: Phase = Phase.VALIDATING
    request_id: str | None = None
    queue_position: int | None = None
    started_at: float | None = None      # time.monotonic() when the job was submitted
    generating_since: float | None = None
    percent: float | None = None
    #: the job was seen queued, so ``generating_since`` is when it really started generating
    #: (not when a restarted run re-attached to it mid-generation)
    seen_queued: bool = False
    #: what the API charged for the video, once known (a cached video keeps its recorded cost)
    cost_usd: float | None = None

    def elapsed(self) -> float | None:
        return None if self.started_at is None else time.monotonic() - self.started_at

    def submitted(self, request_id: str) -> None:
        self.request_id = request_id
        self.started_at = time.monotonic()
        self.phase = Phase.QUEUED

    def on_status(self, phase: str, queue_position: int | None = None) -> None:
        """A status answer of the API: "queued" (with its position) or "generating"."""
        if phase == Phase.QUEUED:
            self.phase, self.queue_position = Phase.QUEUED, queue_position
            self.seen_queued = True
        elif phase == Phase.GENERATING:
            self.phase, self.queue_position = Phase.GENERATING, None
            self.generating_since = self.generating_since or time.monotonic()

    def begin(self, phase: Phase) -> None:
        """Start a phase whose progress is counted in percent (download, decode)."""
        self.phase, self.percent = phase, 0.0

    def on_fraction(self, done: int, total: int | None) -> None:
        self.percent = 100.0 * done / total if total else None

    def generating_seconds(self) -> float | None:
        """How long the job generated, when it was seen from its queue on (else unknown)."""
        if self.generating_since and self.seen_queued:
            return time.monotonic() - self.generating_since
        return None
