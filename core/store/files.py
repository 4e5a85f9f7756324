"""Durable file writes and cross-process locks: the one implementation the pack's state files use
(journal, result cache descriptions, saved token, generation times).

``atomic_write`` writes to a temporary file in the same folder, flushes and fsyncs it, renames it
over the target and fsyncs the folder: a crash at any moment leaves the old or the new version,
never a mix. Temporary files are named ``.<name>.<pid>.<random>.tmp`` so that
``remove_stale_temp_files`` can sweep those of writers that were killed mid-write.

``FileLock`` is an exclusive lock on a lock file, shared by every process using the folder
(``flock`` on POSIX, ``msvcrt.locking`` on Windows, only a thread lock where neither exists); the
operating system releases it when its holder dies, so a killed ComfyUI never leaves a stale lock.
"""
from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
import uuid
from pathlib import Path
from typing import Callable, Iterator

from .. import stopping

try:  # POSIX
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]
try:
    import msvcrt
except ImportError:
    msvcrt = None  # type: ignore[assignment]

log = logging.getLogger("runcomfy_kling3")

LOCK_POLL_S = 0.05
_POSIX = os.name == "posix"


def atomic_write(path: str | Path, data: bytes, mode: int | None = None) -> None:
    """Write ``data`` to ``path`` so that a crash leaves either the old file or the new one.

    ``mode`` (e.g. ``0o600``) applies to the file from its first byte on POSIX, whatever the
    umask; without it the file gets the usual ``0o666`` less the umask.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    fd = os.open(tmp, flags, 0o666 if mode is None else mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            if mode is not None and _POSIX:
                os.fchmod(handle.fileno(), mode)  # os.open's mode is narrowed by the umask
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    fsync_directory(path.parent)


def fsync_directory(directory: str | Path) -> None:
    """Make a rename or removal in ``directory`` durable (POSIX; Windows has no directory handles
    to sync). Best effort: the rename itself already happened."""
    if not _POSIX:
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems refuse to sync a directory
        pass
    finally:
        os.close(fd)


def remove_stale_temp_files(directory: str | Path, older_than_s: float) -> None:
    """Remove ``atomic_write`` temporary files older than ``older_than_s`` (their writers died);
    harmless, but they would pile up."""
    cutoff = time.time() - older_than_s
    for path in Path(directory).glob(".*.tmp"):
        with contextlib.suppress(OSError):
            if path.stat().st_mtime < cutoff:
                path.unlink()


class FileLock:
    """An exclusive lock on a lock file, between processes and between threads of this one.

        with FileLock(folder / "name.lock").held():
            ...

    Lock files are never deleted: deleting one while another process waits on it would let two
    processes hold "the" lock at once.
    """

    _thread_locks: dict[str, threading.Lock] = {}
    _registry_lock = threading.Lock()

    def __init__(self, path: str | Path):
        self.path = Path(path)
        with self._registry_lock:
            self._thread_lock = self._thread_locks.setdefault(str(self.path.resolve()), threading.Lock())

    def __repr__(self) -> str:
        return f"FileLock({str(self.path)!r})"

    @contextlib.contextmanager
    def held(self, give_up_after_s: float | None = None) -> Iterator[None]:
        """Hold the lock for the ``with`` block.

        A stop request (``core.stopping``) while waiting raises ``StoppedError``.
        ``give_up_after_s``: for best-effort writers whose worst case is one lost update, go on
        without the other process's lock after waiting this long (a stuck holder must not
        stall them); threads of this process are still kept apart.
        """
        # Threads of this process queue on a threading lock first: POSIX record locks (and
        # msvcrt) do not exclude two threads of one process from each other.
        _wait_for(lambda: self._thread_lock.acquire(blocking=False))
        try:
            with open(self.path, "a+b") as handle:
                locked = _wait_for(lambda: _try_lock(handle, self.path), give_up_after_s)
                if not locked:
                    log.warning("RunComfy: %s is held by another process for over %.0f s; going on "
                                "without it", self.path.name, give_up_after_s)
                try:
                    yield
                finally:
                    if locked:
                        _unlock(handle)
        finally:
            self._thread_lock.release()


def _wait_for(attempt: Callable[[], bool], give_up_after_s: float | None = None) -> bool:
    """Poll ``attempt`` until it succeeds (True), ``give_up_after_s`` passes (False) or a stop
    is requested (``StoppedError``)."""
    deadline = None if give_up_after_s is None else time.monotonic() + give_up_after_s
    while not attempt():
        stopping.check("Stopped while waiting for another run with the same inputs")
        if deadline is not None and time.monotonic() >= deadline:
            return False
        time.sleep(LOCK_POLL_S)
    return True


def _try_lock(handle, path: Path) -> bool:
    if fcntl is not None:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except (BlockingIOError, PermissionError):
            return False
        except OSError as exc:  # a file system without locks (some network mounts)
            log.warning("RunComfy: file locking is not available for %s (%s); only threads of "
                        "this process are kept apart", path, exc)
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
