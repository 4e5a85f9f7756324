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
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Iterator

log = logging.getLogger("runcomfy_kling3")

KEEP_PER_DURATION = 20
FORMAT_VERSION = 1
LOCK_TIMEOUT_S = 5.0

try:  # POSIX
    import fcntl
except ImportError:  # Windows: the in-process lock still holds; cross-process races are tolerated
    fcntl = None  # type: ignore[assignment]


class GenerationTimes:
    """``record`` after each generation, ``estimate`` before the next one."""

    _thread_lock = threading.Lock()  # one per process: fcntl locks do not exclude threads

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
        except OSError as exc:
            log.warning("RunComfy: could not save the generation time to %s (%s)", self.path, exc)

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
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raw = None
        except (OSError, ValueError) as exc:
            log.warning("RunComfy: ignoring unreadable generation times in %s (%s)", self.path, exc)
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
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=".times-", suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle, separators=(",", ":"))
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp_name, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)
            raise

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with self._thread_lock:
            if fcntl is None:
                yield
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            lock_path = self.path.with_name(self.path.name + ".lock")
            with open(lock_path, "a+") as lock_file:
                _acquire(lock_file.fileno())
                try:
                    yield
                finally:
                    fcntl.flock(lock_file.fileno(), fcntl.LOCK_UN)


def _acquire(fd: int) -> None:
    """Take the exclusive lock; after ``LOCK_TIMEOUT_S`` go on without it (a stuck lock holder
    must not stall a finished generation; the worst case is one lost sample)."""
    deadline = time.monotonic() + LOCK_TIMEOUT_S
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                log.warning("RunComfy: generation times are locked by another process; writing anyway")
                return
            time.sleep(0.05)


def _positive(value: object) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value) and value > 0)
