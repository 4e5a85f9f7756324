"""What a video file holds, from its header (no decoding): size, frame rate, frames, sound.

A header is data from the network: values no real clip has (a 1/3600 fps rate, a duration of
years, a 100000 pixel wide frame) are refused with ``DecodeError`` here, before any buffer is
sized from them. ``verify_video`` also checks that the file holds what its header announces
(every packet present and whole), which a download cut short does not.
"""
from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path

from ..errors import DecodeError

#: the sane range of a header's values (Kling makes 24 fps clips of at most 15 s, 1080p)
MIN_FPS, MAX_FPS = 1.0, 240.0
MAX_DURATION_S = 3600.0
MAX_DIMENSION = 8192
MIN_SAMPLE_RATE, MAX_SAMPLE_RATE = 8000, 192000
MAX_CHANNELS = 32


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
    #: the sound's sample rate and channels (0: no sound, or unknown)
    audio_rate: int = 0
    audio_channels: int = 0


def probe_video(path) -> VideoInfo:
    """Read the container header (no decoding). ``DecodeError`` for anything not a video, or a
    header with values outside the sane range."""
    import av  # PyAV: reads the header faster and more reliably than opencv's property guesses

    name = Path(path).name
    try:
        with av.open(str(path)) as container:
            return read_header(container, name)
    except DecodeError:
        raise
    except (av.FFmpegError, OSError, ValueError, UnicodeDecodeError) as exc:
        raise open_failure(name, exc) from None


def open_failure(name: str, exc: Exception) -> DecodeError:
    """The error for a file PyAV could not open (not a video, or cut before its header)."""
    return DecodeError(f"{name} could not be opened as a video: {_reason(exc)}")


def read_header(container, name: str) -> VideoInfo:
    """``probe_video`` of a container already open: each open costs a decoded frame (FFmpeg's
    stream analysis, ~80 ms at 1080p), so a decode reads the header from its own container."""
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
    audio_rate = audio_channels = 0
    if has_audio:
        sound = container.streams.audio[0]
        audio_rate = int(sound.rate or sound.codec_context.sample_rate or 0)
        audio_channels = int(sound.codec_context.channels or 0)
    if width <= 0 or height <= 0 or fps <= 0:
        raise DecodeError(f"{name} has an unreadable video stream (size {width}x{height}, {fps:g} fps)")
    if duration <= 0 and count > 0:
        duration = count / fps
    info = VideoInfo(width, height, fps, count, duration, has_audio, exact, audio_rate, audio_channels)
    _check_sane(info, name)
    return info


def _check_sane(info: VideoInfo, name: str) -> None:
    problems = []
    if not MIN_FPS <= info.fps <= MAX_FPS:
        problems.append(f"a frame rate of {info.fps:.6g} fps (expected {MIN_FPS:g} to {MAX_FPS:g})")
    if info.duration > MAX_DURATION_S:
        problems.append(f"a duration of {info.duration:.0f} s (at most {MAX_DURATION_S:.0f} s expected)")
    if info.frame_count > MAX_DURATION_S * MAX_FPS:
        problems.append(f"{info.frame_count} frames")
    if max(info.width, info.height) > MAX_DIMENSION:
        problems.append(f"a frame size of {info.width}x{info.height} (at most {MAX_DIMENSION} expected)")
    if info.has_audio and info.audio_rate and not MIN_SAMPLE_RATE <= info.audio_rate <= MAX_SAMPLE_RATE:
        problems.append(f"a sound sample rate of {info.audio_rate} Hz (expected {MIN_SAMPLE_RATE} to "
                        f"{MAX_SAMPLE_RATE})")
    if info.audio_channels > MAX_CHANNELS:
        problems.append(f"{info.audio_channels} sound channels")
    if problems:
        raise DecodeError(f"{name} has an implausible header ({'; '.join(problems)}); it is refused "
                          f"rather than decoded")


def verify_video(path, *, name: str | None = None) -> VideoInfo:
    """``probe_video``, then read the file's packets to its end without decoding them (fast): a
    file is complete when every stream holds the packets its header counts, none is cut off,
    and the video's packets cover the duration the header states. ``DecodeError`` otherwise;
    ``name`` is how the file is called in messages (default: its file name)."""
    import av

    name = name or Path(path).name
    try:
        container = av.open(str(path))  # opened once: the header and the packets
    except (av.FFmpegError, OSError, ValueError, UnicodeDecodeError) as exc:
        raise open_failure(name, exc) from None
    with container:
        info = read_header(container, name)
        _read_to_the_end(container, path, info, name)
    return info


def _read_to_the_end(container, path, info: VideoInfo, name: str) -> None:
    import av

    size = os.path.getsize(path)
    boxes_end = _mp4_boxes_end(path, size)
    if boxes_end is not None and boxes_end != size:
        raise DecodeError(f"{name} is damaged: its mp4 boxes span {boxes_end} bytes, the file has {size} "
                          f"({'it was cut short' if boxes_end > size else 'bytes after its end'})")
    try:
        streams = [s for s in container.streams if s.type in ("video", "audio")]
        video = container.streams.video[0]
        held = {s.index: 0 for s in streams}
        video_end = None
        for packet in container.demux(*streams):
            if not packet.size:
                continue  # the demuxer's end-of-stream marker
            if packet.is_corrupt or (packet.pos is not None and packet.pos >= 0
                                     and packet.pos + packet.size > size):
                raise DecodeError(f"{name} ends inside one of its {packet.stream.type} packets "
                                  f"(the file was cut short)")
            held[packet.stream.index] += 1
            if packet.stream.index == video.index and packet.pts is not None:
                end = packet.pts + (packet.duration or 0)
                video_end = end if video_end is None else max(video_end, end)
        for stream in streams:
            if stream.frames and held[stream.index] < stream.frames:
                raise DecodeError(f"{name} is incomplete: its {stream.type} stream announces "
                                  f"{stream.frames} frames but holds {held[stream.index]}")
        if video.duration and video.time_base:
            covered = float((video_end or 0) - (video.start_time or 0)) * float(video.time_base)
            if covered < info.duration - 2.0 / info.fps:
                raise DecodeError(f"{name} is incomplete: its header states {info.duration:.2f} s "
                                  f"of video but the file holds {max(covered, 0.0):.2f} s")
    except DecodeError:
        raise
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise DecodeError(f"{name} could not be read to its end: {_reason(exc)}") from None


def _mp4_boxes_end(path, size: int) -> int | None:
    """Where the file's last top-level mp4 box ends, by the boxes' own size fields (None: not an
    mp4). A file cut anywhere, even in a trailing index box the demuxer can do without, ends
    before its last box does."""
    at = 0
    with open(path, "rb") as source:
        while at < size:
            source.seek(at)
            header = source.read(16)
            if len(header) < 8:
                return at + 8
            length, kind = struct.unpack(">I4s", header[:8])
            if at == 0 and kind not in (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip"):
                return None
            if length == 1:   # a 64-bit size follows the type
                length = struct.unpack(">Q", header[8:16])[0] if len(header) == 16 else 0
            elif length == 0:  # the box runs to the end of the file
                return size
            if length < 8:
                return at + 8  # a box size no valid file has: treat as cut
            at += length
    return at


def _reason(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.split(": '")[0]  # PyAV appends the file path; the name is already shown
