"""The result cache: downloaded mp4s by request id under a size limit (least recently used goes
first), so a paid video is decoded again (other frame options, a restart) without any request.

    <dir>/<request id>.mp4    the video, complete or absent (``download_file`` renames it in place)
    <dir>/<request id>.json   what the API said (video URL, cost), then the mp4's size and SHA-256
    <dir>/.<request id>.mp4.pin-<pid>-<tag>   a pin: a process handed the mp4 to a node output

``commit`` follows a download that checked out; ``get`` checks size and checksum before every
reuse and drops a changed file (or one whose description is unreadable), so the caller fetches it
again instead of serving it for good. Hashing every reuse is deliberate: SHA-256 takes about 30 ms
for a 15 s 1080p clip, next to seconds of decoding, and an mtime check would miss edits.
Eviction (after every ``commit``; the last use is the file's mtime) never removes the file just
committed, nor one handed to a node output by any process sharing the folder: a pin is a marker
whose mtime is a lease of ``PIN_LEASE_S``, refreshed at every use (a time lease, because whether the
pinning process lives has no portable check). The limit is ``RUNCOMFY_KLING3_CACHE_MAX_GB``
(GiB, default 4; 0 keeps only the files in use).
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from ..errors import StateFileError
from .files import atomic_write

#: a description is a few hundred bytes
MAX_META_BYTES = 64 * 1024
log = logging.getLogger("runcomfy_kling3")

CACHE_MAX_ENV = "RUNCOMFY_KLING3_CACHE_MAX_GB"
DEFAULT_MAX_GIB = 4.0
#: how many files last handed to node outputs by this process eviction leaves alone
PINNED_FILES = 4
#: partial downloads whose writer is gone (killed mid-download) are removed after this long
STALE_PART_S = 3600.0
#: how long a pin protects a file from every process's eviction after its last use
PIN_LEASE_S = 24 * 3600.0
_PIN_MARK = ".pin-"
_PROCESS_TAG = uuid.uuid4().hex[:8]

_pinned: "OrderedDict[str, None]" = OrderedDict()
_pinned_lock = threading.Lock()


def max_bytes_from_env(environ: Mapping[str, str] | None = None) -> int:
    environ = os.environ if environ is None else environ
    raw = (environ.get(CACHE_MAX_ENV) or "").strip()
    if not raw:
        return int(DEFAULT_MAX_GIB * 1024 ** 3)
    try:
        gib = float(raw)
        if not gib >= 0 or gib == float("inf"):
            raise ValueError
    except ValueError:
        log.warning("RunComfy: %s must be a number of GiB >= 0 (got %r); using %g", CACHE_MAX_ENV,
                    raw, DEFAULT_MAX_GIB)
        gib = DEFAULT_MAX_GIB
    return int(gib * 1024 ** 3)


def safe_name(request_id: str) -> str:
    """A file name for a request id; ids that are not plain get a hash so two never collide."""
    plain = "".join(c if c.isalnum() or c in "-_" else "_" for c in request_id)
    if plain == request_id and 0 < len(plain) <= 120:
        return plain
    return f"{plain[:100]}-{hashlib.sha256(request_id.encode('utf-8')).hexdigest()[:12]}"


@dataclass(frozen=True)
class CachedResult:
    request_id: str
    path: Path
    video_url: str | None = None
    cost_usd: float | None = None


class ResultCache:
    def __init__(self, directory: str | Path, max_bytes: int | None = None):
        self.directory = Path(directory)
        self.max_bytes = max_bytes_from_env() if max_bytes is None else int(max_bytes)

    def __repr__(self) -> str:
        return f"ResultCache({str(self.directory)!r}, max_bytes={self.max_bytes})"

    def video_path(self, request_id: str) -> Path:
        return self.directory / f"{safe_name(request_id)}.mp4"

    def _meta_path(self, request_id: str) -> Path:
        return self.directory / f"{safe_name(request_id)}.json"

    def get(self, request_id: str, *, pin: bool = False) -> CachedResult | None:
        """The cached video of ``request_id`` (marked as just used), or None; a file that is not
        the one committed is removed and None returned. ``pin``: it goes to a node output, so
        no eviction removes it while it is among the last few (see the module's note)."""
        path, meta = self.video_path(request_id), self._read_meta(request_id)
        if not self._checks_out(request_id, path, meta):
            return None
        return self._use(request_id, path, meta, pin)

    def _use(self, request_id: str, path: Path, meta: dict, pin: bool) -> CachedResult | None:
        try:
            os.utime(path)
        except FileNotFoundError:
            return None
        except OSError:  # read-only, or held open on Windows: still usable, just not re-dated
            if not path.is_file():
                return None
        if pin:
            _pin(path)
        cost = meta.get("cost_usd")
        return CachedResult(request_id, path, meta.get("video_url") or None,
                            float(cost) if isinstance(cost, (int, float)) else None)

    def _checks_out(self, request_id: str, path: Path, meta: dict) -> bool:
        try:
            size = path.stat().st_size
            recorded = meta.get("sha256")
            if meta.get("damaged"):
                problem = f"its description {self._meta_path(request_id)} cannot be read"
            elif not isinstance(recorded, str):
                # stored by an older version, which recorded no checksum: only empty is known bad
                problem = "it is empty" if size == 0 else ""
            elif size != meta.get("size"):
                problem = f"it has {size} bytes, {meta.get('size')} when stored"
            else:
                problem = "its content changed since it was stored" if file_checksum(path) != recorded else ""
        except OSError:  # gone, or unreadable (then decoding it would fail too)
            return False
        if not problem:
            return True
        log.warning("RunComfy cache: the video of %s is damaged (%s); it is removed and will be "
                    "downloaded again", request_id, problem)
        with contextlib.suppress(OSError):
            path.unlink()
        return False

    def prepare(self, request_id: str, video_url: str, cost_usd: float | None = None) -> Path:
        """Record what is known about the result; return where its download must go."""
        self.directory.mkdir(parents=True, exist_ok=True)
        meta = {"request_id": request_id, "video_url": video_url, "cost_usd": cost_usd,
                "saved_at": time.time()}
        try:
            atomic_write(self._meta_path(request_id), json.dumps(meta, ensure_ascii=False).encode("utf-8"))
        except OSError as exc:  # a folder in its place, a full disk
            raise StateFileError(f"The result cache cannot write {self._meta_path(request_id)} ({type(exc).__name__})",
                                 request_id=request_id, hint="Remove that entry or free disk space, then run "
                                 "again: the paid video is downloaded again, not paid again") from None
        return self.video_path(request_id)

    def commit(self, request_id: str, *, pin: bool = False) -> CachedResult:
        """After the download landed at ``video_path`` and checked out: record its size and
        checksum, mark it used and evict down to the limit."""
        path = self.video_path(request_id)
        meta = self._read_meta(request_id) or {"request_id": request_id}
        meta.update(size=path.stat().st_size, sha256=file_checksum(path))
        atomic_write(self._meta_path(request_id), json.dumps(meta, ensure_ascii=False).encode("utf-8"))
        result = self._use(request_id, path, meta, pin)
        if result is None:
            raise FileNotFoundError(path)
        self.evict(keep=(result.path,))
        return result

    def total_bytes(self) -> int:
        return sum(size for _, size, _ in self._videos())

    def evict(self, keep: tuple[Path, ...] = ()) -> list[Path]:
        """Remove least recently used videos until the total fits ``max_bytes``; return them."""
        videos = self._videos()
        total = sum(size for _, size, _ in videos)
        spared = {str(p) for p in keep} | _pinned_paths() | self._leased()
        removed: list[Path] = []
        for path, size, _ in sorted(videos, key=lambda item: item[2]):
            if total <= self.max_bytes:
                break
            if str(path) in spared:
                continue
            try:
                path.unlink()
            except FileNotFoundError:   # another process evicted it first
                pass
            except OSError as exc:      # open elsewhere on Windows: try the next one
                log.info("RunComfy cache: could not remove %s (%s)", path.name, exc)
                continue
            with contextlib.suppress(OSError):
                path.with_suffix(".json").unlink()
            total -= size
            removed.append(path)
        if removed:
            log.info("RunComfy cache: removed %d old video(s) to stay under %.2f GiB", len(removed),
                     self.max_bytes / 1024 ** 3)
        if total > self.max_bytes:
            log.info("RunComfy cache: %.2f GiB in use is over the %.2f GiB limit; the rest is in use",
                     total / 1024 ** 3, self.max_bytes / 1024 ** 3)
        self._sweep_leftovers()
        return removed

    def _videos(self) -> list[tuple[Path, int, float]]:
        found = []
        if not self.directory.is_dir():
            return found
        for path in self.directory.glob("*.mp4"):
            with contextlib.suppress(OSError):
                stat = path.stat()
                found.append((path, stat.st_size, stat.st_mtime))
        return found

    def _leased(self) -> set[str]:
        """Videos pinned by any process within the lease; expired or orphaned pins are removed."""
        found: set[str] = set()
        now = time.time()
        for marker in self.directory.glob(f".*.mp4{_PIN_MARK}*"):
            video = self.directory / marker.name[1:].rsplit(_PIN_MARK, 1)[0]
            with contextlib.suppress(OSError):
                if now - marker.stat().st_mtime < PIN_LEASE_S and video.exists():
                    found.add(str(video))
                else:
                    marker.unlink()
        return found

    def _read_meta(self, request_id: str) -> dict:
        """The description of a cached video; ``{"damaged": True}`` when there is one that cannot
        be read (the video is then unverifiable: fetched again rather than trusted)."""
        path = self._meta_path(request_id)
        try:
            with open(path, "rb") as handle:
                raw = handle.read(MAX_META_BYTES + 1)
        except FileNotFoundError:
            return {}
        except OSError:  # a folder in its place, no permission
            return {"damaged": True}
        try:
            if len(raw) > MAX_META_BYTES:
                raise ValueError("too large")
            data = json.loads(raw.decode("utf-8"))
        except (ValueError, RecursionError):
            return {"damaged": True}
        if not isinstance(data, dict) or data.get("request_id") != request_id or not all(
                isinstance(data.get(k), t) or data.get(k) is None
                for k, t in (("sha256", str), ("size", int), ("video_url", str), ("cost_usd", (int, float)))):
            return {"damaged": True}
        return data

    def _sweep_leftovers(self) -> None:
        """Descriptions without a video (evicted by an older version, or a download that never
        finished) and partial downloads of killed processes."""
        now = time.time()
        for path in self.directory.glob("*.json"):
            with contextlib.suppress(OSError):
                if not path.with_suffix(".mp4").exists() and now - path.stat().st_mtime > STALE_PART_S:
                    path.unlink()
        for path in self.directory.glob(".*.part"):
            with contextlib.suppress(OSError):
                if now - path.stat().st_mtime > STALE_PART_S:
                    path.unlink()


def file_checksum(path: Path) -> str:
    """SHA-256 of a file, streamed (hardware-accelerated on current x86 and ARM CPUs)."""
    digest = hashlib.sha256()
    with open(path, "rb") as source:
        while block := source.read(1024 * 1024):
            digest.update(block)
    return digest.hexdigest()


def _pin_marker(path: Path) -> Path:
    return path.with_name(f".{path.name}{_PIN_MARK}{os.getpid()}-{_PROCESS_TAG}")


def _pin(path: Path) -> None:
    with _pinned_lock:
        _pinned[str(path)] = None
        _pinned.move_to_end(str(path))
        released = []
        while len(_pinned) > max(0, PINNED_FILES):
            released.append(_pinned.popitem(last=False)[0])
    for old in released:
        with contextlib.suppress(OSError):
            _pin_marker(Path(old)).unlink()
    if str(path) not in released:
        try:
            _pin_marker(path).touch()  # creates the pin, or renews its lease
        except OSError as exc:  # a read-only folder: only this process's own memory protects it
            log.info("RunComfy cache: could not pin %s for other processes (%s)", path.name, exc)


def _pinned_paths() -> set[str]:
    with _pinned_lock:
        return set(_pinned)
