"""How long this user's generations took, per video duration, to estimate the time left.

The API gives no progress while a job runs, so the only honest estimate is this user's own
history: the median generating time of the last ``KEEP_PER_DURATION`` runs of the same length,
kept in the state database. Recording is best effort and reading never fails: a timing that
cannot be saved or read never blocks a generation.
"""
from __future__ import annotations

import logging
import math
import statistics
import time

from ..errors import StateFileError
from .database import Database

log = logging.getLogger("runcomfy_kling3")

KEEP_PER_DURATION = 20
#: a sample past this is not a generation time
MAX_SECONDS = 24 * 3600.0


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
        if isinstance(duration_s, bool) or not isinstance(duration_s, int):
            return None
        try:
            with self.database.read() as db:
                rows = db.execute("SELECT generating_s FROM timings WHERE duration_s = ? ORDER BY id DESC "
                                  "LIMIT ?", (duration_s, KEEP_PER_DURATION)).fetchall()
        except StateFileError as exc:
            log.warning("RunComfy: no time-left estimate (%s)", exc.reason)
            return None
        values = [row[0] for row in rows if _plausible(row[0])]
        return float(statistics.median(values)) if values else None


def _plausible(value: object) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value) and 0 < value < MAX_SECONDS)
