"""mp4 file -> the selected frames, and the sound of exactly their span (kept in step)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .audio import AudioTrack, decode_audio
from .frames import DecodedFrames, decode_frames
from .selection import FrameSelection

#: when the file states no frame rate (never seen from Kling), the sound is cut as for 24 fps
FALLBACK_FPS = 24.0


@dataclass
class DecodedClip:
    path: Path
    frames: DecodedFrames
    audio: AudioTrack


def decode_clip(path: Path, selection: FrameSelection, *, progress: Callable[[int, int], None] | None = None,
                request_id: str | None = None) -> DecodedClip:
    frames = decode_frames(path, selection, request_id=request_id, progress=progress)
    source_fps = frames.source.fps or FALLBACK_FPS
    start = selection.skip_first_frames / source_fps
    end = start + frames.frame_count * selection.select_every_nth / source_fps
    audio = decode_audio(path, duration=frames.source.duration, start=start, end=end)
    return DecodedClip(Path(path), frames, audio)
