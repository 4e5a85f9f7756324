"""When to look at a job, when to get its frames' memory ready, and decoding while downloading.

Polling every ``poll_interval`` (2 s) notices a finished job 1 s late on average. Near the
moment the job is expected to finish (this user's median generating time for the duration,
``store.timings``), the pace goes up to one status request a second, never more, which halves
that delay; far from it, nothing changes. Without a history the pace stays as it is.

Before that moment the output buffer of the expected clip is allocated and faulted in
(``frames.reserve_frames``): on virtual machines faulting in 8 GiB costs about as much CPU as
decoding it, and while the job generates the CPU is idle. The buffer is the one the frames will
fill, so the peak does not grow; if the file turns out different it is let go before another is
allocated. Reserved only at completion (no generation time to expect yet), it is faulted in once
the file's header matches, so a file that differs costs nothing.
"""
from __future__ import annotations

import logging
import time

from .api.handle import MIN_POLL_INTERVAL_S
from .media.decode import StreamingDecode
from .media.frames import Reservation, reserve_frames
from .media.growing_file import streaming_supported
from .media.probe import VideoInfo
from .media.selection import FrameSelection
from .status import Phase, Progress

log = logging.getLogger("runcomfy_kling3")

#: from this long before the expected end of the generation on: poll every second
NEAR_END_S = 15.0
#: and from this long before it: get the output's memory ready (faulting 8 GiB in takes 2-4 s of
#: CPU, many more on a machine busy with other work; a job runs for minutes)
RESERVE_BEFORE_END_S = 45.0


class Pacer:
    def __init__(self, progress: Progress, poll_interval: float, *, eta_s: float | None = None,
                 expected: VideoInfo | None = None, selection: FrameSelection | None = None):
        self.progress = progress
        self.poll_interval = poll_interval
        self.eta_s = eta_s
        self.expected, self.selection = expected, selection
        self.reservation: Reservation | None = None
        self._reserved = False

    def near_end(self, within: float = NEAR_END_S) -> bool:
        since = self.progress.generating_since
        return bool(self.eta_s and since and time.monotonic() >= since + self.eta_s - within)

    def interval(self, _status=None) -> float:
        """Seconds until the next status request (``RequestHandle.wait``'s ``next_interval``)."""
        if self.near_end(RESERVE_BEFORE_END_S):
            self.reserve()
        if self.near_end():
            return min(self.poll_interval, MIN_POLL_INTERVAL_S)
        return self.poll_interval

    def reserve(self, *, prefault_now: bool = True) -> Reservation | None:
        """Reserve the expected output now (once); the reservation, or None. At completion
        (``prefault_now=False``) its memory is faulted in only once the file's header matches."""
        if not self._reserved and self.expected is not None and self.selection is not None:
            self._reserved = True
            self.reservation = reserve_frames(self.expected, self.selection, prefault_now=prefault_now)
        return self.reservation

    def release(self) -> None:
        if self.reservation is not None:
            self.reservation.release()
            self.reservation = None

    def __enter__(self) -> "Pacer":
        return self

    def __exit__(self, *exc) -> None:
        self.release()  # a reserved buffer no decode took (an error, a cached result) is let go


def streaming_decode(selection: FrameSelection, progress: Progress) -> StreamingDecode | None:
    """Decoding while downloading, where the platform allows it (see media/growing_file.py)."""
    if not streaming_supported():
        return None

    def decoding(done: int, total: int) -> None:
        if progress.phase == Phase.DECODING:  # the download's percentage shows until it ends
            progress.on_fraction(done, total)

    return StreamingDecode(selection, request_id=progress.request_id, progress=decoding)
