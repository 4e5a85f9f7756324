"""How many jobs of this ComfyUI may be in flight at the API at once, and the queue for a slot.

A prompt list runs the text-to-video node once per prompt, all at the same time (ComfyUI starts
one coroutine per list item). The API and the account have their own limits, and ten jobs
queued at once mostly wait there anyway, so at most ``max_parallel`` jobs are submitted and
waited for together; the others wait here, first come first served, showing "waiting for a
slot". The limit is read each time a job asks (``RUNCOMFY_KLING3_MAX_PARALLEL`` wins, then the
saved setting, else 4), so a change applies to the next job without a restart.

A slot is taken only for a new submission (never for a cached result or a re-attached job) and
given back once the job's video is downloaded. Waiting honours Cancel (``core.stopping``).
A ``threading`` condition rather than a semaphore: the limit may change while jobs wait, and
the waiters are served in order.
"""
from __future__ import annotations

import itertools
import os
import threading
from typing import Callable, Mapping

from . import stopping
from .errors import ConfigurationError
from .status import Phase, Progress
from .store.database import Database

MAX_PARALLEL_ENV = "RUNCOMFY_KLING3_MAX_PARALLEL"
SETTING_NAME = "max_parallel"
DEFAULT_MAX_PARALLEL = 4
LIMIT_RANGE = (1, 32)
#: how often a waiting job looks at Cancel and at a changed limit
STEP_S = stopping.STEP_S


def parse_limit(value: object, where: str) -> int | None:
    """A limit: blank means the default; otherwise a whole number in ``LIMIT_RANGE``."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        number = 0
    if isinstance(value, bool) or not LIMIT_RANGE[0] <= number <= LIMIT_RANGE[1]:
        raise ConfigurationError(f"{where}: must be a whole number of jobs from {LIMIT_RANGE[0]} to "
                                 f"{LIMIT_RANGE[1]}, or empty for the default {DEFAULT_MAX_PARALLEL} "
                                 f"(got {str(value)[:40]!r})")
    return number


def read_limit(database: Database | None, environ: Mapping[str, str] | None = None) -> tuple[int, str]:
    """(limit, where it comes from: the variable's name, "settings" or "default")."""
    environ = os.environ if environ is None else environ
    raw = (environ.get(MAX_PARALLEL_ENV) or "").strip()
    if raw:
        return parse_limit(raw, MAX_PARALLEL_ENV) or DEFAULT_MAX_PARALLEL, MAX_PARALLEL_ENV
    if database is not None:
        with database.read() as db:
            row = db.execute("SELECT value FROM settings WHERE name = ?", (SETTING_NAME,)).fetchone()
        saved = parse_limit(row[0] if row is not None else None, "max_parallel in ComfyUI's settings")
        if saved is not None:
            return saved, "settings"
    return DEFAULT_MAX_PARALLEL, "default"


def save_limit(database: Database, limit: int | None) -> None:
    with database.write() as db:
        db.execute("INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = "
                   "excluded.value", (SETTING_NAME, None if limit is None else str(limit)))


class Slots:
    """A process-wide count of jobs in flight, with a first-come-first-served queue."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._tickets = itertools.count()
        self._waiting: list[int] = []
        self.in_use = 0

    def acquire(self, limit: Callable[[], int], on_wait: Callable[[int], None] | None = None) -> "Slot":
        """Block until a slot is free (``limit()`` is asked on every look); ``on_wait(ahead)``
        is called once when the job has to wait and whenever the number ahead of it changes.
        Raises ``StoppedError`` within ``STEP_S`` of Cancel (at once when stopped already),
        leaving the queue as it was."""
        with self._cond:
            ticket = next(self._tickets)
            self._waiting.append(ticket)
            shown = None
            try:
                while True:
                    # first: a job stopped before its turn (Cancel) never takes a slot, even one
                    # that is free, so nothing of a cancelled batch is submitted afterwards
                    stopping.check("Stopped while waiting for a slot; nothing was submitted")
                    ahead = self._waiting.index(ticket)
                    if ahead == 0 and self.in_use < max(1, limit()):
                        self._waiting.pop(0)
                        self.in_use += 1
                        self._cond.notify_all()  # the next in line may fit too
                        return Slot(self)
                    if on_wait is not None and ahead != shown:
                        shown = ahead
                        on_wait(ahead)
                    self._cond.wait(STEP_S)
            except BaseException:
                if ticket in self._waiting:
                    self._waiting.remove(ticket)
                    self._cond.notify_all()
                raise

    def _release(self) -> None:
        with self._cond:
            self.in_use = max(0, self.in_use - 1)
            self._cond.notify_all()

    @property
    def waiting(self) -> int:
        with self._cond:
            return len(self._waiting)


class Slot:
    """One taken slot; ``release`` is idempotent."""

    def __init__(self, slots: Slots):
        self._slots: Slots | None = slots

    def release(self) -> None:
        slots, self._slots = self._slots, None
        if slots is not None:
            slots._release()


class SlotHolder:
    """What a generation hands to ``submit_or_attach``: takes a slot right before a new submit
    (``take``; the job's progress shows "waiting" meanwhile), and gives it back once the job is
    no longer in flight (``release``, also on leaving the ``with`` block)."""

    def __init__(self, slots: Slots, limit: Callable[[], int], progress: Progress | None = None):
        self.slots, self.limit, self.progress = slots, limit, progress
        self.slot: Slot | None = None

    def _waiting(self, ahead: int) -> None:
        if self.progress is not None:  # ``ahead``: jobs of this process before it in line
            self.progress.phase, self.progress.queue_position = Phase.WAITING_FOR_SLOT, ahead or None

    def take(self) -> None:
        if self.slot is None:
            self.slot = self.slots.acquire(self.limit, self._waiting)
            if self.progress is not None:
                self.progress.queue_position = None  # a place in this line, not in the API's queue

    def release(self) -> None:
        if self.slot is not None:
            self.slot.release()
            self.slot = None

    def __enter__(self) -> "SlotHolder":
        return self

    def __exit__(self, *exc) -> None:
        self.release()


#: the one limiter of this process (every node of every graph)
SHARED = Slots()
