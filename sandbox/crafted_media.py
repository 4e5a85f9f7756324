"""Tiny hostile mp4 files (a few KB) for ``settings.media``: timestamps and headers that a
client reading the file must not trust (a frame count or buffer size computed from them).

Made with PyAV on first use and kept in the sandbox's state folder.
"""
from __future__ import annotations

import os
import struct
import threading
import uuid
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from .media_names import CRAFTED_MEDIA, CRAFTED_MEDIA_DESCRIPTIONS

__all__ = ["CraftedMedia", "CRAFTED_MEDIA", "CRAFTED_MEDIA_DESCRIPTIONS", "make_crafted"]

WIDTH, HEIGHT = 64, 36
AUDIO_RATE = 48000
HOUR = 3600
YEAR = 365 * 24 * HOUR


class CraftedMedia:
    """Crafted files by name, made once per folder."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self._lock = threading.Lock()

    def path(self, name: str) -> Path:
        if name not in CRAFTED_MEDIA:
            raise ValueError(f"crafted media: must be one of {CRAFTED_MEDIA} (got {name!r})")
        target = self.directory / f"{name}.mp4"
        with self._lock:
            if not target.exists():
                make_crafted(name, target)
        return target


def make_crafted(name: str, path) -> Path:
    """Write the crafted file ``name`` to ``path`` (atomically)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{uuid.uuid4().hex[:8]}.part")
    try:
        if name in ("audio_starts_3h", "audio_starts_24h"):
            hours = 3 if name == "audio_starts_3h" else 24
            _write(tmp, [(i, Fraction(1, 24)) for i in range(48)], audio_start_s=hours * HOUR)
        elif name == "fps_1_per_3600":
            _write(tmp, [(i, Fraction(3600)) for i in range(3)], rate=Fraction(1, 3600))
        elif name == "frames_10h_apart":
            _write(tmp, [(i * 10 * HOUR * 24, Fraction(1, 24)) for i in range(3)])
        elif name == "duration_huge":
            # a 32-bit sample delta of 50 years at a 1 s timescale
            _write(tmp, [(0, 1), (1, 1), (2, 1), (50 * YEAR, 1)], rate=Fraction(1),
                   options={"video_track_timescale": "1"})
        elif name == "duration_zero":
            _write(tmp, [(i, Fraction(1, 24)) for i in range(24)])
            tmp.write_bytes(_zero_durations(tmp.read_bytes()))
        else:
            raise ValueError(f"crafted media: must be one of {CRAFTED_MEDIA} (got {name!r})")
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def _write(path: Path, frames: list[tuple[int, Fraction]], *, rate: Fraction = Fraction(24),
           audio_start_s: float | None = None, options: dict | None = None) -> None:
    """Video frames at (pts, time_base); optional 1 s of quiet stereo AAC from audio_start_s."""
    time_base = Fraction(frames[0][1])
    with av.open(str(path), mode="w", format="mp4", options=options or {}) as out:
        video = out.add_stream("libx264", rate=rate)
        video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        video.options = {"preset": "ultrafast", "crf": "35", "bf": "0"}
        video.codec_context.time_base = time_base
        audio = None
        if audio_start_s is not None:   # every stream must exist before the first packet
            audio = out.add_stream("aac", rate=AUDIO_RATE, layout="stereo")
        for index, (pts, _) in enumerate(frames):
            shade = np.full((HEIGHT, WIDTH, 3), (60 + 40 * index) % 256, np.uint8)
            frame = av.VideoFrame.from_ndarray(shade, format="rgb24")
            frame.pts, frame.time_base = pts, time_base
            for packet in video.encode(frame):
                out.mux(packet)
        for packet in video.encode(None):
            out.mux(packet)
        if audio is None:
            return
        start = int(audio_start_s * AUDIO_RATE)
        for done in range(0, AUDIO_RATE, 1024):
            quiet = np.zeros((2, 1024), np.float32)
            chunk = av.AudioFrame.from_ndarray(quiet, format="fltp", layout="stereo")
            chunk.sample_rate, chunk.pts = AUDIO_RATE, start + done
            chunk.time_base = Fraction(1, AUDIO_RATE)
            for packet in audio.encode(chunk):
                out.mux(packet)
        for packet in audio.encode(None):
            out.mux(packet)


def _boxes(data: bytearray, kind: bytes):
    """(offset just past version+flags, version) of every box of this type."""
    at = 0
    while (at := data.find(kind, at)) >= 0:
        yield at + 8, data[at + 4]
        at += 4


def _zero_durations(raw: bytes) -> bytes:
    """Set the durations in mvhd, tkhd, mdhd and the edit lists to 0 (version 0 boxes)."""
    data = bytearray(raw)
    for body, version in _boxes(data, b"mvhd"):
        if version == 0:
            struct.pack_into(">I", data, body + 12, 0)
    for body, version in _boxes(data, b"tkhd"):
        if version == 0:
            struct.pack_into(">I", data, body + 16, 0)
    for body, version in _boxes(data, b"mdhd"):
        if version == 0:
            struct.pack_into(">I", data, body + 12, 0)
    for body, version in _boxes(data, b"elst"):
        if version == 0 and struct.unpack_from(">I", data, body)[0]:
            struct.pack_into(">I", data, body + 4, 0)
    return bytes(data)
