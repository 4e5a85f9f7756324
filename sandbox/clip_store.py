"""Clips for finished jobs, made once per distinct input and kept on disk.

A job asks for its clip at submit (one background worker encodes, so two cores shared with
other work are not swamped); whoever needs the file first while it is still waiting encodes it
right away in its own thread instead of queueing behind other jobs.
"""
from __future__ import annotations

import hashlib
import json
import queue
import threading
from dataclasses import dataclass
from pathlib import Path

from .validation import DEFAULT_ASPECT_RATIO, DEFAULT_DURATION, DEFAULT_SOUND, shots_of
from .video_maker import make_clip

FPS = 24


@dataclass(frozen=True)
class ClipSpec:
    shots: tuple[tuple[str, int], ...]
    duration: int
    aspect_ratio: str
    sound: bool
    resolution_scale: float
    fps: int = FPS
    footage: str = "light"           # "light" or "realistic" (sandbox/video_maker.py)
    faststart: bool = True           # mp4 index (moov) before the media data

    @classmethod
    def for_job(cls, body: dict, resolution_scale: float, footage: str = "light",
                faststart: bool = True) -> "ClipSpec":
        return cls(shots=tuple(shots_of(body)),
                   duration=body.get("duration", DEFAULT_DURATION),
                   aspect_ratio=body.get("aspect_ratio", DEFAULT_ASPECT_RATIO),
                   sound=body.get("sound", DEFAULT_SOUND),
                   resolution_scale=resolution_scale, footage=footage, faststart=faststart)

    @property
    def digest(self) -> str:
        fields = [self.shots, self.duration, self.aspect_ratio, self.sound,
                  self.resolution_scale, self.fps]
        # light faststart clips keep the names earlier versions gave them (cached state dirs)
        if (self.footage, self.faststart) != ("light", True):
            fields += [self.footage, self.faststart]
        text = json.dumps(fields)
        return hashlib.sha256(text.encode()).hexdigest()[:20]


class _Entry:
    def __init__(self, path: Path):
        self.path = path
        self.state = "queued"          # queued -> running -> done | failed
        self.error: BaseException | None = None
        self.finished = threading.Event()


class ClipStore:
    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self._lock = threading.Lock()
        self._entries: dict[ClipSpec, _Entry] = {}
        self._queue: "queue.Queue[ClipSpec | None]" = queue.Queue()
        self._worker: threading.Thread | None = None

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        if self._worker is None:
            # daemon: a pending encode must never keep the process alive after Ctrl-C
            self._worker = threading.Thread(target=self._work, name="sandbox-clips", daemon=True)
            self._worker.start()

    def stop(self) -> None:
        if self._worker is not None:
            self.drop_queued()
            self._queue.put(None)
            self._worker = None

    def prepare(self, spec: ClipSpec) -> None:
        """Start making the clip in the background (no-op if made or on its way)."""
        if self._entry(spec).state == "queued":
            self._queue.put(spec)

    def get(self, spec: ClipSpec, timeout: float | None = None) -> Path:
        """Path of the finished clip; encodes now if nobody has started it."""
        entry = self._entry(spec)
        if self._claim(entry):
            self._make(spec, entry)
        if not entry.finished.wait(timeout):
            raise TimeoutError(f"clip {spec.digest} not ready after {timeout} s")
        if entry.state == "failed":
            raise RuntimeError(f"clip {spec.digest} could not be made: {entry.error!r}")
        return entry.path

    def drop_queued(self) -> None:
        """Forget clips not started yet (after a reset nobody will ask for them)."""
        with self._lock:
            for spec, entry in list(self._entries.items()):
                if entry.state == "queued":
                    del self._entries[spec]

    def _entry(self, spec: ClipSpec) -> _Entry:
        with self._lock:
            entry = self._entries.get(spec)
            if entry is None:
                entry = _Entry(self.directory / f"{spec.digest}.mp4")
                if entry.path.exists():      # made by an earlier run with the same state dir
                    entry.state = "done"
                    entry.finished.set()
                self._entries[spec] = entry
            return entry

    def _claim(self, entry: _Entry) -> bool:
        with self._lock:
            if entry.state != "queued":
                return False
            entry.state = "running"
            return True

    def _make(self, spec: ClipSpec, entry: _Entry) -> None:
        try:
            make_clip(entry.path, duration=spec.duration, aspect_ratio=spec.aspect_ratio,
                      sound=spec.sound, shots=list(spec.shots),
                      resolution_scale=spec.resolution_scale, fps=spec.fps,
                      footage=spec.footage, faststart=spec.faststart)
            entry.state = "done"
        except BaseException as exc:  # the waiting request answers 500 with this
            entry.error = exc
            entry.state = "failed"
        finally:
            entry.finished.set()

    def _work(self) -> None:
        while True:
            spec = self._queue.get()
            if spec is None:
                return
            with self._lock:
                entry = self._entries.get(spec)
            if entry is not None and self._claim(entry):
                self._make(spec, entry)
