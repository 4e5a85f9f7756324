"""How long this user's generations took, per video duration, to estimate the time left.

The API gives no progress while a job runs, so the only honest estimate is this user's own
history: the median generating time of the last ``KEEP_PER_DURATION`` runs of the same length,
kept in the state database. Recording is best effort and reading never fails: a timing that
cannot be saved or read never blocks a generation.

``typical`` adds what the progress display needs before there is any history: a documented
prior (``PRIOR_BASE_S + PRIOR_PER_VIDEO_SECOND_S`` × the video's seconds, a deliberately
generous figure for Kling 3.0 Pro on the RunComfy API), replaced by this user's median as soon as
one run of that length was timed, and the point past which a run is slower than usual: the top
of the normal spread of this user's times (the larger of the 90th percentile and median + 3 ×
the scaled median absolute deviation, at least 20 % over the median), or 1.5 × the prior.
"""
from __future__ import annotations

import logging
import math
import statistics
import time
from dataclasses import dataclass

from ..errors import StateFileError
from .database import Database

log = logging.getLogger("runcomfy_kling3")

KEEP_PER_DURATION = 20
#: a sample past this is not a generation time
MAX_SECONDS = 24 * 3600.0
#: the prior, before this user has timed a run of that length: typical generating seconds
#: = PRIOR_BASE_S + PRIOR_PER_VIDEO_SECOND_S × video seconds (5 s -> 1:40, 15 s -> 3:00)
PRIOR_BASE_S = 60.0
PRIOR_PER_VIDEO_SECOND_S = 8.0
#: with no history, a run is "slower than usual" only past this multiple of the prior
PRIOR_LATE_FACTOR = 1.5
#: with history, never call a run late before this multiple of the median
MIN_LATE_FACTOR = 1.2


def prior_seconds(duration_s: int) -> float:
    """The documented prior: typical generating seconds of a ``duration_s``-second video."""
    return PRIOR_BASE_S + PRIOR_PER_VIDEO_SECOND_S * max(0, duration_s)


@dataclass(frozen=True)
class TypicalTime:
    """How long generating a video of one length usually takes, for the progress display."""

    expected_s: float      # this user's median, or the prior
    late_after_s: float    # past this a run is slower than usual (the top of the normal spread)
    source: str            # "history" or "prior"
    samples: int = 0


def typical_from(samples: list[float], duration_s: int) -> TypicalTime:
    """The typical time from timed runs (``samples``), or from the prior when there are none."""
    if not samples:
        prior = prior_seconds(duration_s)
        return TypicalTime(prior, prior * PRIOR_LATE_FACTOR, "prior")
    median = float(statistics.median(samples))
    spread = 1.4826 * float(statistics.median(abs(value - median) for value in samples))
    p90 = statistics.quantiles(samples, n=10, method="inclusive")[-1] if len(samples) > 1 else median
    late = max(p90, median + 3 * spread, median * MIN_LATE_FACTOR)
    return TypicalTime(median, late, "history", len(samples))


class GenerationTimes:
    """``record`` after each generation, ``estimate`` before the next one."""

    def __init__(self, database: Database):
        self.database = database

    def __repr__(self) -> str:
        return f"GenerationTimes({str(self.database.path)!r})"

    def record(self, duration_s: int, generating_s: float, queued_s: float = 0.0) -> None:
        """Remember one finished generation; silently ignores values that cannot be real."""
        if not _plausible(generating_s) or isinstance(duration_s, bool) or not isinstance(duration_s, int):
            return
        try:
            with self.database.write() as db:
                db.execute("INSERT INTO timings (duration_s, generating_s, queued_s, at) VALUES (?, ?, ?, ?)",
                           (duration_s, float(generating_s), float(queued_s) if _plausible(queued_s) else 0.0,
                            time.time()))
                db.execute("DELETE FROM timings WHERE duration_s = ? AND id NOT IN (SELECT id FROM timings "
                           "WHERE duration_s = ? ORDER BY id DESC LIMIT ?)", (duration_s, duration_s, KEEP_PER_DURATION))
        except StateFileError as exc:
            log.warning("RunComfy: could not save the generation time (%s)", exc.reason)

    def estimate(self, duration_s: int) -> float | None:
        """Typical generating seconds (median) for this duration, or ``None`` with no history."""
        values = self._samples(duration_s)
        return float(statistics.median(values)) if values else None

    def typical(self, duration_s: int) -> TypicalTime:
        """The typical time and the normal spread for this duration (the prior without history)."""
        duration = duration_s if isinstance(duration_s, int) and not isinstance(duration_s, bool) else 0
        return typical_from(self._samples(duration_s), duration)

    def _samples(self, duration_s: int) -> list[float]:
        if isinstance(duration_s, bool) or not isinstance(duration_s, int):
            return []
        try:
            with self.database.read() as db:
                rows = db.execute("SELECT generating_s FROM timings WHERE duration_s = ? ORDER BY id DESC "
                                  "LIMIT ?", (duration_s, KEEP_PER_DURATION)).fetchall()
        except StateFileError as exc:
            log.warning("RunComfy: no time-left estimate (%s)", exc.reason)
            return []
        return [float(row[0]) for row in rows if _plausible(row[0])]


def _plausible(value: object) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value) and 0 < value < MAX_SECONDS)
