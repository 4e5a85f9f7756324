"""mp4 file -> the sound as float32 ``[channels, samples]`` at its native rate (PyAV).

A clip without sound still gives a track: silence of the clip's length, so nodes downstream
(SaveVideo, audio mixers) need no special case. ``start``/``end`` cut the track to the span of
the selected frames, so the sound stays in sync when frames are skipped or capped.

Memory is planned, never taken from the file's timestamps: the span is known before anything is
decoded, its array is allocated once at that size, and each decoded frame is copied into it at
its place on the video's timeline. Frames before the span are skipped (after a seek near it),
decoding stops at the first frame past it, and a gap (sound starting late) stays silent. A file
whose sound starts 24 hours in therefore costs the span's few MB, not 31 GiB.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .probe import MAX_CHANNELS, MAX_DURATION_S, MAX_SAMPLE_RATE, MIN_SAMPLE_RATE
from ..errors import DecodeError

log = logging.getLogger("runcomfy_kling3")

SILENT_RATE = 48000
SILENT_CHANNELS = 2
#: a span starting later than this is sought to, this long before it, so the decoder has
#: settled; an earlier one is decoded from the start (cheap, and sample-exact with the whole track)
SEEK_MARGIN_S = 5.0
#: a frame this close to where the previous one ended is taken as contiguous (timestamp rounding)
JITTER_SAMPLES = 2


@dataclass
class AudioTrack:
    samples: np.ndarray   # float32 [channels, n_samples]
    sample_rate: int
    is_silent_fill: bool

    @property
    def duration(self) -> float:
        return self.samples.shape[1] / self.sample_rate if self.sample_rate else 0.0


def decode_audio(path, *, duration: float | None = None, start: float = 0.0,
                 end: float | None = None) -> AudioTrack:
    """The first audio track of ``path``, from ``start`` to ``end`` seconds of the video's
    timeline (by default to the end of the video, or of the sound when there is no video).
    Without an audio track: stereo silence at 48 kHz lasting ``end - start``, or
    ``duration - start`` (``duration`` defaults to the video stream's)."""
    import av

    name = Path(path).name
    if start < 0 or (end is not None and end < start):
        raise ValueError(f"audio span: need 0 <= start <= end (got start={start}, end={end})")
    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError, ValueError, UnicodeDecodeError) as exc:
        raise DecodeError(f"{name} could not be opened to read its sound: {exc}") from None
    with container:
        if end is None:
            end = max(start, duration if duration is not None else _natural_end(container))
        _check_span(name, end - start)
        if not container.streams.audio:
            samples = np.zeros((SILENT_CHANNELS, _count(end - start, SILENT_RATE)), np.float32)
            return AudioTrack(samples, SILENT_RATE, True)
        stream = container.streams.audio[0]
        rate = int(stream.rate or stream.codec_context.sample_rate or 0)
        channels = int(stream.codec_context.channels or 0)
        if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE or not 1 <= channels <= MAX_CHANNELS:
            raise DecodeError(f"{name} declares implausible sound ({rate} Hz, {channels} channels); "
                              f"it is refused rather than decoded")
        samples = np.zeros((channels, _count(end - start, rate)), np.float32)
        _fill(container, stream, samples, rate, start, name)
    return AudioTrack(samples, rate, False)


class SoundAhead:
    """The whole sound of a complete file, decoded in a thread of its own while the frames
    decode (after them, it added ~0.1 s to every clip), then cut to the frames' span by
    ``span``. A cut from the start is sample-exact with decoding just that span (every frame
    lands at the same place), so it serves spans from 0 only; any other span, or a failure, is
    decoded then as before (which reports the error). Use it when the span is about the whole
    clip: the whole track is held until the cut."""

    def __init__(self, path):
        self.path = path
        self._track: AudioTrack | None = None
        self._thread = threading.Thread(target=self._run, name="sound-ahead", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._track = decode_audio(self.path)
        except Exception:  # noqa: BLE001 - span() decodes again and reports it
            self._track = None

    def span(self, *, duration: float | None, start: float, end: float) -> AudioTrack:
        self._thread.join()
        whole, self._track = self._track, None
        if whole is not None and start == 0:
            wanted = _count(end, whole.sample_rate)
            if wanted <= whole.samples.shape[1]:
                samples = whole.samples[:, :wanted]
                if wanted < whole.samples.shape[1]:
                    samples = np.ascontiguousarray(samples)
                return AudioTrack(samples, whole.sample_rate, whole.is_silent_fill)
        return decode_audio(self.path, duration=duration, start=start, end=end)


def _natural_end(container) -> float:
    """Seconds the video stream lasts, from the file's start (the sound's own length when there
    is no video): never the container's, which a late-starting sound stretches to hours."""
    streams = container.streams.video or container.streams.audio
    if streams and streams[0].duration and streams[0].time_base:
        return float(streams[0].duration * streams[0].time_base)
    return (container.duration or 0) / 1_000_000


def _check_span(name: str, seconds: float) -> None:
    if not seconds <= MAX_DURATION_S:
        raise DecodeError(f"{name}: {seconds:.0f} s of sound were asked for (at most "
                          f"{MAX_DURATION_S:.0f} s are read); the file's header is implausible")


def _count(seconds: float, rate: int) -> int:
    return max(0, int(round(seconds * rate)))


def _fill(container, stream, samples: np.ndarray, rate: int, start: float, name: str) -> None:
    """Decode the frames of ``stream`` that overlap the span into ``samples`` by their time."""
    import av

    video = container.streams.video[0] if container.streams.video else None
    origin = float(video.start_time * video.time_base) if video and video.start_time else 0.0
    if start > SEEK_MARGIN_S and stream.time_base:
        # a seek lands on a packet at or before the target; the frames up to start are skipped
        target = int((origin + start - SEEK_MARGIN_S) / stream.time_base)
        try:
            container.seek(target, stream=stream, backward=True)
        except av.FFmpegError:
            container.seek(0, stream=stream)  # unseekable: read from the start instead
    total = samples.shape[1]
    resampler, cursor, placed = None, None, 0
    try:
        for frame in container.decode(stream):
            if frame.time is not None:
                at = int(round((float(frame.time) - origin - start) * rate))
                if cursor is not None and abs(at - cursor) <= JITTER_SAMPLES:
                    at = cursor
            else:
                at = cursor or 0
            if at >= total:
                break   # past the span: nothing later is wanted
            if frame.format.name not in ("fltp", "flt"):
                # only the sample format changes: same rate, same channel layout
                if resampler is None:
                    resampler = av.AudioResampler(format="fltp", layout=frame.layout, rate=frame.sample_rate)
                chunks = [_planar(out) for out in resampler.resample(frame)]
                data = np.concatenate(chunks, axis=1) if chunks else np.zeros((1, 0), np.float32)
            else:
                data = _planar(frame)
            cursor = at + data.shape[1]
            placed += _place(samples, data, at)
    except av.FFmpegError as exc:
        if not placed:
            raise DecodeError(f"The sound of {name} could not be decoded: {exc}") from None
        log.warning("%s: the sound is damaged after %d samples (%s); keeping what was read",
                    name, placed, exc)


def _place(samples: np.ndarray, data: np.ndarray, at: int) -> int:
    """Copy ``data`` into ``samples`` from index ``at`` (clipped to both); samples copied."""
    first, last = max(at, 0), min(at + data.shape[1], samples.shape[1])
    if last <= first:
        return 0
    channels = min(samples.shape[0], data.shape[0])
    samples[:channels, first:last] = data[:channels, first - at:last - at]
    return last - first


def _planar(frame) -> np.ndarray:
    """float32 [channels, samples] of one decoded frame, planar or packed."""
    data = frame.to_ndarray()
    if frame.format.is_planar:
        return data.astype(np.float32, copy=False)
    channels = len(frame.layout.channels)
    return data.reshape(-1, channels).T.astype(np.float32, copy=False)
