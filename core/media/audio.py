"""mp4 file -> the sound as float32 ``[channels, samples]`` at its native rate (PyAV).

A clip without sound still gives a track: silence of the clip's length, so nodes downstream
(SaveVideo, audio mixers) need no special case. ``start``/``end`` cut the track to the span of
the selected frames, so the sound stays in sync when frames are skipped or capped.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DecodeError

log = logging.getLogger("runcomfy_kling3")

SILENT_RATE = 48000
SILENT_CHANNELS = 2


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
    """The first audio track of ``path``, from ``start`` to ``end`` seconds (the whole track
    by default). Without an audio track: stereo silence at 48 kHz lasting ``end - start``, or
    ``duration - start`` (``duration`` defaults to the container's)."""
    import av

    name = Path(path).name
    if start < 0 or (end is not None and end < start):
        raise ValueError(f"audio span: need 0 <= start <= end (got start={start}, end={end})")
    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError, ValueError, UnicodeDecodeError) as exc:
        raise DecodeError(f"{name} could not be opened to read its sound: {exc}") from None
    with container:
        if not container.streams.audio:
            if duration is None:
                duration = (container.duration or 0) / 1_000_000
            length = (end if end is not None else max(duration, start)) - start
            samples = np.zeros((SILENT_CHANNELS, int(round(length * SILENT_RATE))), np.float32)
            return AudioTrack(samples, SILENT_RATE, True)
        stream = container.streams.audio[0]
        rate, track = _decode_stream(container, stream, name)
    first = int(round(start * rate))
    if end is None:
        return AudioTrack(np.ascontiguousarray(track[:, first:]), rate, False)
    last = int(round(end * rate))
    cut = track[:, first:last]
    if cut.shape[1] < last - first:  # the sound ends before the frames do: pad with silence
        cut = np.pad(cut, ((0, 0), (0, last - first - cut.shape[1])))
    return AudioTrack(np.ascontiguousarray(cut), rate, False)


def _decode_stream(container, stream, name: str) -> tuple[int, np.ndarray]:
    """(rate, float32 [channels, n]) of the whole stream, placed on the file's timeline: a
    track that starts late gets leading silence, decoder priming before 0 is dropped."""
    import av

    rate = int(stream.rate or stream.codec_context.sample_rate or 0)
    resampler = None
    chunks: list[np.ndarray] = []
    first_time = None
    try:
        for frame in container.decode(stream):
            if first_time is None and frame.time is not None:
                first_time = float(frame.time)
            rate = rate or frame.sample_rate
            if frame.format.name not in ("fltp", "flt"):
                # only the sample format changes: same rate, same channel layout
                if resampler is None:
                    resampler = av.AudioResampler(format="fltp", layout=frame.layout,
                                                  rate=frame.sample_rate)
                chunks.extend(_planar(out) for out in resampler.resample(frame))
            else:
                chunks.append(_planar(frame))
        if resampler is not None:
            chunks.extend(_planar(out) for out in resampler.resample(None))
    except av.FFmpegError as exc:
        if not chunks:
            raise DecodeError(f"The sound of {name} could not be decoded: {exc}") from None
        log.warning("%s: the sound is damaged after %d chunks (%s); keeping what was read",
                    name, len(chunks), exc)
    channels = stream.codec_context.channels or (chunks[0].shape[0] if chunks else 1)
    track = np.concatenate(chunks, axis=1) if chunks else np.zeros((channels, 0), np.float32)
    origin = container.streams.video[0].start_time if container.streams.video else None
    video_start = float(origin * container.streams.video[0].time_base) if origin else 0.0
    offset = int(round(((first_time or 0.0) - video_start) * rate))
    if offset > 0:
        track = np.pad(track, ((0, 0), (offset, 0)))
    elif offset < 0:
        track = track[:, -offset:]
    return rate, track.astype(np.float32, copy=False)


def _planar(frame) -> np.ndarray:
    """float32 [channels, samples] of one decoded frame, planar or packed."""
    data = frame.to_ndarray()
    if frame.format.is_planar:
        return data.astype(np.float32, copy=False)
    channels = len(frame.layout.channels)
    return data.reshape(-1, channels).T.astype(np.float32, copy=False)
