"""The journal: what happened to every paid request, on disk, so no result is lost or paid twice.

One small JSON file per request fingerprint (``<dir>/<fingerprint>.json``); the fingerprint is a
hash of exactly what would be sent (model id, JSON body), where (API base) and the node's seed.
Each file moves through these states:

    submitting  written (and fsynced) before the submit is sent: if it is still there on the next
                run, the process died during the submit and a job may exist unknown to us
    submitted   the request id is known; written and fsynced before anyone starts waiting
    completed   the video was downloaded into the result cache
    failed      the job failed on RunComfy's side (nothing to recover, not billed)
    cancelled   the job was cancelled while queued (nothing to recover, not billed)

Every write goes to a temporary file in the same folder that is flushed, fsynced and renamed
over the old one, then the folder is fsynced: a crash at any moment leaves the old or the new
version, never a mix. A file that still does not parse (edited or truncated by something else)
is moved aside with a warning and treated as missing.

``lock(fingerprint)`` is a lock file per fingerprint shared by every process using the folder
(``flock`` on POSIX, ``msvcrt.locking`` on Windows); the operating system releases it when its
holder dies, so a killed ComfyUI never leaves a stale lock behind.
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from .errors import StoppedError

try:  # POSIX
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]
try:
    import msvcrt
except ImportError:
    msvcrt = None  # type: ignore[assignment]

log = logging.getLogger("runcomfy_kling3")

JOURNAL_VERSION = 1
SUBMITTING, SUBMITTED, COMPLETED, FAILED, CANCELLED = (
    "submitting", "submitted", "completed", "failed", "cancelled")
STATES = (SUBMITTING, SUBMITTED, COMPLETED, FAILED, CANCELLED)
#: states that name a request that may hold (or become) a paid result
ATTACHABLE_STATES = (SUBMITTED, COMPLETED)
LOCK_POLL_S = 0.05
#: temporary files of writers that died are swept once they are this old
STALE_TEMP_S = 600.0


def fingerprint(model_id: str, body: dict, seed: object = None, api_base: str | None = None) -> str:
    """sha256 of the canonical JSON of what would be sent, where, and with which seed."""
    canonical = json.dumps({"model_id": model_id, "body": body, "seed": seed, "api_base": api_base},
                           sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class JournalEntry:
    fingerprint: str
    state: str
    model_id: str
    request_id: str | None = None
    seed: object = None
    api_base: str | None = None
    #: the JSON body as sent; kept so a person reading the folder can tell requests apart
    body: dict | None = None
    video_url: str | None = None
    cost_usd: float | None = None
    error: str | None = None
    created_at: float = 0.0     # time.time() of the first write
    updated_at: float = 0.0

    def to_json(self) -> dict:
        return {"version": JOURNAL_VERSION, **dataclasses.asdict(self)}

    @classmethod
    def from_json(cls, data: object, expected_fingerprint: str) -> "JournalEntry":
        """The entry, or ``ValueError`` saying what is wrong with ``data``."""
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        if data.get("fingerprint") != expected_fingerprint:
            raise ValueError("its fingerprint does not match its file name")
        if data.get("state") not in STATES:
            raise ValueError(f"unknown state {data.get('state')!r}")
        request_id = data.get("request_id")
        if data["state"] in ATTACHABLE_STATES and (not isinstance(request_id, str) or not request_id):
            raise ValueError(f"state {data['state']!r} without a request id")
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def moved_to(self, state: str, **changes) -> "JournalEntry":
        return dataclasses.replace(self, state=state, updated_at=time.time(), **changes)


class Journal:
    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        self._swept = False

    def __repr__(self) -> str:
        return f"Journal({str(self.directory)!r})"

    def path(self, key: str) -> Path:
        return self.directory / f"{key}.json"

    # --- reading ------------------------------------------------------------------------------
    def read(self, key: str) -> JournalEntry | None:
        """The entry for ``key``; None when there is none (or it was unreadable and moved aside)."""
        path = self.path(key)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            return JournalEntry.from_json(json.loads(raw.decode("utf-8")), key)
        except (ValueError, TypeError, UnicodeDecodeError) as exc:
            self._set_aside(path, str(exc))
            return None

    def entries(self) -> Iterator[JournalEntry]:
        """Every readable entry (for tools and tests; unreadable files are skipped)."""
        if not self.directory.is_dir():
            return
        for path in sorted(self.directory.glob("*.json")):
            entry = self.read(path.stem)
            if entry is not None:
                yield entry

    def _set_aside(self, path: Path, why: str) -> None:
        aside = path.with_name(f"{path.name}.unreadable-{int(time.time())}")
        try:
            os.replace(path, aside)
            where = f"moved to {aside.name}"
        except OSError as exc:
            where = f"could not be moved aside ({exc})"
        log.warning("RunComfy journal: ignoring %s (%s); it was %s", path.name, why, where)

    # --- writing ------------------------------------------------------------------------------
    def write(self, entry: JournalEntry) -> None:
        """Replace the entry atomically and durably (see the module docstring)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        data = json.dumps(entry.to_json(), ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8")
        atomic_write(self.path(entry.fingerprint), data)
        if not self._swept:
            self._swept = True
            self._sweep_temp_files()

    def remove(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path(key))
            fsync_directory(self.directory)

    def settle(self, key: str, request_id: str, state: str, **changes) -> JournalEntry | None:
        """Record the outcome of ``request_id``, unless the entry has since moved on to another
        request (a slow waiter must not overwrite a newer submission's record)."""
        with self.lock(key):
            current = self.read(key)
            if current is not None and current.request_id != request_id:
                log.info("RunComfy journal: %s now belongs to request %s; not recording %s for %s",
                         key[:12], current.request_id, state, request_id)
                return None
            if current is None:
                now = time.time()
                current = JournalEntry(key, state, changes.pop("model_id", ""), request_id=request_id,
                                       created_at=now, updated_at=now)
            entry = current.moved_to(state, **changes)
            self.write(entry)
            return entry

    def _sweep_temp_files(self) -> None:
        """Temporary files of writers killed mid-write; harmless, but they would pile up."""
        cutoff = time.time() - STALE_TEMP_S
        for path in self.directory.glob(".*.tmp"):
            with contextlib.suppress(OSError):
                if path.stat().st_mtime < cutoff:
                    path.unlink()

    # --- locking ------------------------------------------------------------------------------
    @contextlib.contextmanager
    def lock(self, key: str, should_stop: Callable[[], bool] | None = None) -> Iterator[None]:
        """Hold the cross-process lock of ``key``; ``StoppedError`` if ``should_stop`` while waiting."""
        self.directory.mkdir(parents=True, exist_ok=True)
        with FileLock(self.directory / f"{key}.lock").held(should_stop):
            yield


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a crash leaves either the old file or the new one."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    fsync_directory(path.parent)


def fsync_directory(directory: Path) -> None:
    """Make a rename in ``directory`` durable (POSIX; Windows has no directory handles to sync)."""
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:  # some file systems refuse to sync a directory; the rename still happened
        pass
    finally:
        os.close(fd)


class FileLock:
    """An exclusive lock on a lock file, between processes and between threads of this one.

    Lock files are never deleted: deleting one while another process waits on it would let two
    processes hold "the" lock at once.
    """

    _thread_locks: dict[str, threading.Lock] = {}
    _registry_lock = threading.Lock()

    def __init__(self, path: str | Path):
        self.path = Path(path)
        with self._registry_lock:
            self._thread_lock = self._thread_locks.setdefault(str(self.path.resolve()), threading.Lock())

    @contextlib.contextmanager
    def held(self, should_stop: Callable[[], bool] | None = None) -> Iterator[None]:
        # Threads of this process queue on a threading lock first: POSIX record locks (and
        # msvcrt) do not exclude two threads of one process from each other.
        _wait_for(lambda: self._thread_lock.acquire(blocking=False), should_stop)
        try:
            with open(self.path, "a+b") as handle:
                _wait_for(lambda: _try_lock(handle), should_stop)
                try:
                    yield
                finally:
                    _unlock(handle)
        finally:
            self._thread_lock.release()


def _wait_for(attempt: Callable[[], bool], should_stop: Callable[[], bool] | None) -> None:
    while not attempt():
        if should_stop is not None and should_stop():
            raise StoppedError("Stopped while waiting for another run with the same inputs")
        time.sleep(LOCK_POLL_S)


def _try_lock(handle) -> bool:
    if fcntl is not None:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except (BlockingIOError, PermissionError):
            return False
        except OSError as exc:  # a file system without locks (some network mounts)
            log.warning("RunComfy journal: file locking is not available here (%s); only runs "
                        "inside this process are kept from submitting the same request twice", exc)
            return True
    if msvcrt is not None:
        handle.seek(0)
        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False
    return True  # neither: only the thread lock protects


def _unlock(handle) -> None:
    with contextlib.suppress(OSError):
        if fcntl is not None:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        elif msvcrt is not None:
            handle.seek(0)
            msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
