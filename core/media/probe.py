"""What a video file holds, from its header (no decoding): size, frame rate, frames, sound."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import DecodeError


@dataclass(frozen=True)
class VideoInfo:
    width: int
    height: int
    fps: float
    frame_count: int
    duration: float
    has_audio: bool
    #: False when ``frame_count`` is estimated from duration x fps (no count in the header)
    frame_count_exact: bool = True


def probe_video(path) -> VideoInfo:
    """Read the container header (no decoding). ``DecodeError`` for anything not a video."""
    import av  # PyAV: reads the header faster and more reliably than opencv's property guesses

    name = Path(path).name
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise DecodeError(f"{name} contains no video stream")
            stream = container.streams.video[0]
            width, height = stream.codec_context.width, stream.codec_context.height
            rate = stream.average_rate or stream.guessed_rate or stream.base_rate
            fps = float(rate) if rate else 0.0
            if stream.duration and stream.time_base:
                duration = float(stream.duration * stream.time_base)
            elif container.duration:
                duration = container.duration / 1_000_000
            else:
                duration = 0.0
            count, exact = int(stream.frames or 0), bool(stream.frames)
            if not exact:
                count = int(round(duration * fps))
            has_audio = bool(container.streams.audio)
    except DecodeError:
        raise
    except (av.FFmpegError, OSError, ValueError, UnicodeDecodeError) as exc:
        raise DecodeError(f"{name} could not be opened as a video: {_reason(exc)}") from None
    if width <= 0 or height <= 0 or fps <= 0:
        raise DecodeError(f"{name} has an unreadable video stream (size {width}x{height}, {fps:g} fps)")
    if duration <= 0 and count > 0:
        duration = count / fps
    return VideoInfo(width, height, fps, count, duration, has_audio, exact)


def _reason(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.split(": '")[0]  # PyAV appends the file path; the name is already shown


