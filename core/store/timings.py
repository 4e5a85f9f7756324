"""How long this user's generations took, per video duration, to estimate the time left.

The API gives no progress while a job runs, so the only honest estimate is this user's own
history: the median generating time of the last ``KEEP_PER_DURATION`` runs of the same length.
The file is small JSON, rewritten atomically under a lock file, because several nodes (and
several ComfyUI processes sharing a user directory) may finish at the same time. Recording is
best effort: a timing that cannot be saved never fails a generation.
"""
from __future__ import annotations

import contextlib
import json
import logging
import math
import statistics
import time
from pathlib import Path
from typing import Iterator

from ..errors import StoppedError
from .files import FileLock, atomic_write

log = logging.getLogger("runcomfy_kling3")

KEEP_PER_DURATION = 20
FORMAT_VERSION = 1
#: a stuck lock holder must not stall a finished generation: after this long, write anyway
#: (the worst case is one lost sample)
LOCK_TIMEOUT_S = 5.0
#: a sample past this is not a generation time (a damaged or edited file)
MAX_SECONDS = 24 * 3600.0
#: 20 samples for each of 13 durations fit in a few KiB
MAX_FILE_BYTES = 256 * 1024


class GenerationTimes:
    """``record`` after each generation, ``estimate`` before the next one."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"GenerationTimes({str(self.path)!r})"

    def record(self, duration_s: int, generating_s: float, queued_s: float = 0.0) -> None:
        """Remember one finished generation; silently ignores values that cannot be real."""
        if not _positive(generating_s) or isinstance(duration_s, bool):
            return
        try:
            key = str(int(duration_s))
        except (TypeError, ValueError):
            return
        sample = {"generating_s": round(float(generating_s), 3),
                  "queued_s": round(float(queued_s), 3) if _positive(queued_s) else 0.0,
                  "at": int(time.time())}
        try:
            with self._locked():
                data = self._read()
                samples = data["durations"].setdefault(key, [])
                samples.append(sample)
                del samples[:-KEEP_PER_DURATION]
                self._write(data)
        except (OSError, StoppedError) as exc:  # a full disk, a folder in its place: one sample lost
            log.warning("RunComfy: could not save the generation time to %s (%s); remove that file if "
                        "this repeats", self.path, type(exc).__name__)

    def estimate(self, duration_s: int) -> float | None:
        """Typical generating seconds (median) for this duration, or ``None`` with no history."""
        try:
            key = str(int(duration_s))
        except (TypeError, ValueError):
            return None
        values = [s["generating_s"] for s in self._read()["durations"].get(key, [])]
        return float(statistics.median(values)) if values else None

    # -- file handling ------------------------------------------------------------------------

    def _read(self) -> dict:
        """The stored data; an empty history when the file is missing or damaged."""
        try:
            with open(self.path, "rb") as handle:
                text = handle.read(MAX_FILE_BYTES + 1)
            if len(text) > MAX_FILE_BYTES:
                raise ValueError(f"over {MAX_FILE_BYTES // 1024} KiB")
            raw = json.loads(text.decode("utf-8"))
        except FileNotFoundError:
            raw = None
        except (OSError, ValueError, RecursionError) as exc:
            # only the time-left estimate depends on it: never block a generation for it
            log.warning("RunComfy: ignoring unreadable generation times in %s (%s); it is rewritten "
                        "with the next generation", self.path, type(exc).__name__)
            raw = None
        durations: dict[str, list[dict]] = {}
        if isinstance(raw, dict) and isinstance(raw.get("durations"), dict):
            for key, samples in raw["durations"].items():
                if isinstance(samples, list):
                    kept = [s for s in samples if isinstance(s, dict) and _positive(s.get("generating_s"))]
                    if kept:
                        durations[str(key)] = kept[-KEEP_PER_DURATION:]
        return {"version": FORMAT_VERSION, "durations": durations}

    def _write(self, data: dict) -> None:
        atomic_write(self.path, json.dumps(data, separators=(",", ":")).encode("utf-8"))

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(self.path.with_name(self.path.name + ".lock")).held(give_up_after_s=LOCK_TIMEOUT_S):
            yield


def _positive(value: object) -> bool:
    """A plausible number of seconds: over 0 and under a day."""
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value) and 0 < value < MAX_SECONDS)
