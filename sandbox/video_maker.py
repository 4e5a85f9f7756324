"""Synthetic Kling-like clips: real H.264/AAC mp4 files whose every frame says what it is.

Each frame shows "SHOT k/n", the shot's prompt and a timecode ("t=MM:SS.hh frame N", hh =
hundredths of a second), on a solid background colour that is different for every shot
(``SHOT_COLORS``), so a test can find shot boundaries by sampling a pixel near a corner, where no
text is ever drawn. With sound, each shot has its own tone pitch so cuts are audible too.

Speed matters (a 15 s 1080p clip must encode in well under a minute on two cores): the
background and the shot text are drawn once per shot; per frame only a small timecode strip is
drawn and pasted into a copy of that shot frame.

``footage="realistic"`` draws the same labels over moving, textured, grainy pictures encoded at
a bitrate like Kling's 1080p output (sandbox/realistic_footage.py), for benchmarks: decoding it
costs what real footage costs. ``faststart=False`` leaves the mp4 index (moov) at the end.
"""
from __future__ import annotations

import math
import os
import uuid
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw

from .frame_text import Layout, font, text_color, timecode_label
from .realistic_footage import encoder_settings, realistic_frames

SIZES = {"16:9": (1920, 1080), "9:16": (1080, 1920), "1:1": (1440, 1440)}

#: background colour (RGB) of shot k (0-based, cycling); far apart in colour space so that a
#: sampled pixel identifies its shot even after yuv420p subsampling and lossy coding
SHOT_COLORS = [
    (200, 40, 40),    # red
    (40, 160, 60),    # green
    (40, 70, 200),    # blue
    (220, 190, 40),   # yellow
    (150, 50, 170),   # purple
    (30, 170, 180),   # teal
]

#: tone pitch (Hz) of shot k (cycling); a musical step apart so every cut is audible
SHOT_TONES_HZ = [440.0, 554.37, 659.25, 880.0, 987.77, 1174.66]

AUDIO_RATE = 48000
_AUDIO_LEVEL = 0.2
_CRF = "23"
_MAX_PROMPT_LINES = 6
FOOTAGE = ("light", "realistic")


def shot_color(index: int) -> tuple[int, int, int]:
    """Background colour of the 0-based shot ``index``."""
    return SHOT_COLORS[index % len(SHOT_COLORS)]


def frame_size(aspect_ratio: str, resolution_scale: float = 1.0) -> tuple[int, int]:
    """(width, height) of a clip: the documented 1080p size scaled, rounded to even numbers
    (yuv420p needs even sizes), at least 16 pixels."""
    if aspect_ratio not in SIZES:
        raise ValueError(f"aspect_ratio: must be one of {sorted(SIZES)} (got {aspect_ratio!r})")
    if not resolution_scale > 0:
        raise ValueError(f"resolution_scale: must be > 0 (got {resolution_scale!r})")
    width, height = SIZES[aspect_ratio]
    return tuple(max(16, int(v * resolution_scale / 2 + 0.5) * 2) for v in (width, height))


def shot_frame_ranges(shots: list[tuple[str, int]], fps: int) -> list[range]:
    """Frame indexes of each shot: shot k covers ``ranges[k]``."""
    ranges, start = [], 0
    for _, seconds in shots:
        ranges.append(range(start, start + seconds * fps))
        start += seconds * fps
    return ranges


def make_clip(path, *, duration: int, aspect_ratio: str = "16:9", sound: bool = True,
              shots: list[tuple[str, int]] | None = None, resolution_scale: float = 1.0,
              fps: int = 24, prompt: str = "", footage: str = "light",
              faststart: bool = True) -> Path:
    """Write a ``duration`` second mp4 to ``path`` (atomically) and return its Path.

    ``shots`` is a list of (prompt, seconds) adding up to ``duration``; without it the clip is
    one shot showing ``prompt``. ``footage`` is "light" (flat shot colours: small, fast) or
    "realistic" (texture, motion and grain at ~16 Mbit/s at 1080p); ``faststart`` puts the mp4
    index (moov atom) before the media data, else after it.
    """
    if footage not in FOOTAGE:
        raise ValueError(f"footage: must be one of {FOOTAGE} (got {footage!r})")
    if not isinstance(duration, int) or isinstance(duration, bool) or duration < 1:
        raise ValueError(f"duration: must be a positive integer of seconds (got {duration!r})")
    if not isinstance(fps, int) or fps < 1:
        raise ValueError(f"fps: must be a positive integer (got {fps!r})")
    shots = [(str(p), int(s)) for p, s in shots] if shots else [(prompt, duration)]
    if sum(s for _, s in shots) != duration or any(s < 1 for _, s in shots):
        raise ValueError(f"shots: durations {[s for _, s in shots]} must be positive and add up "
                         f"to duration {duration}")
    width, height = frame_size(aspect_ratio, resolution_scale)

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # same directory, so the final rename is atomic; dot-prefixed so nobody mistakes it for a clip
    tmp = path.with_name(f".{path.stem}.{uuid.uuid4().hex[:8]}.part")
    try:
        _encode(tmp, shots, width, height, fps, sound, footage, faststart)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


# --- light footage ------------------------------------------------------------------------------

def _shot_background(layout: Layout, index: int, count: int, prompt: str) -> np.ndarray:
    color = shot_color(index)
    ink = text_color(color)
    image = Image.new("RGB", (layout.width, layout.height), color)
    draw = ImageDraw.Draw(image)
    x, y = layout.margin, layout.margin
    draw.text((x, y), f"SHOT {index + 1}/{count}", fill=ink, font=font(layout.title_size))
    y += int(layout.title_size * 1.4)
    for line in layout.prompt_lines(prompt, y, _MAX_PROMPT_LINES):
        draw.text((x, y), line, fill=ink, font=font(layout.body_size))
        y += int(layout.body_size * 1.3)
    return np.asarray(image, dtype=np.uint8).copy()


def _timecode_strip(layout: Layout, color, frame_index: int, fps: int) -> np.ndarray:
    strip = Image.new("RGB", (layout.time_w, layout.time_h), color)
    ImageDraw.Draw(strip).text((0, 0), timecode_label(frame_index, fps), fill=text_color(color),
                               font=font(layout.time_size))
    return np.asarray(strip, dtype=np.uint8)


def _light_frames(shots, ranges, width: int, height: int, fps: int):
    """(frame_index, av.VideoFrame) of flat-colour labelled frames."""
    layout = Layout(width, height)
    for shot_index, ((text, _), frames) in enumerate(zip(shots, ranges)):
        base = _shot_background(layout, shot_index, len(shots), text)
        color = shot_color(shot_index)
        y0, x0 = layout.time_y, layout.time_x
        for frame_index in frames:
            pixels = base.copy()
            pixels[y0:y0 + layout.time_h, x0:x0 + layout.time_w] = _timecode_strip(
                layout, color, frame_index, fps)
            yield frame_index, av.VideoFrame.from_ndarray(pixels, format="rgb24")


# --- encoding ----------------------------------------------------------------------------------

def _tone(frequency: float, start_sample: int, count: int, noise: float = 0.0) -> np.ndarray:
    t = (np.arange(start_sample, start_sample + count, dtype=np.float64)) / AUDIO_RATE
    mono = _AUDIO_LEVEL * np.sin(2 * math.pi * frequency * t)
    if noise:   # like a real soundtrack: the AAC encoder has something to spend bits on
        mono = mono + np.random.default_rng(start_sample).normal(0.0, noise, count)
    return np.vstack([mono, mono]).astype(np.float32)  # planar stereo (fltp)


def _encode(target: Path, shots, width: int, height: int, fps: int, sound: bool,
            footage: str, faststart: bool) -> None:
    ranges = shot_frame_ranges(shots, fps)
    options = {"movflags": "+faststart"} if faststart else {}
    with av.open(str(target), mode="w", format="mp4", options=options) as out:
        video = out.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        if footage == "realistic":
            bit_rate, video.options = encoder_settings(width, height, fps)
            video.bit_rate = bit_rate
            frames = realistic_frames(shots, ranges, width, height, fps, shot_color)
        else:
            # a keyframe every second keeps seeking cheap for decoders
            video.options = {"preset": "ultrafast", "crf": _CRF, "g": str(fps)}
            frames = _light_frames(shots, ranges, width, height, fps)
        video.codec_context.time_base = Fraction(1, fps)
        audio = None
        if sound:
            audio = out.add_stream("aac", rate=AUDIO_RATE, layout="stereo")
        noise = 0.05 if footage == "realistic" else 0.0
        audio_done = 0
        shot_of = {i: k for k, frames_ in enumerate(ranges) for i in frames_}

        for frame_index, frame in frames:
            frame.pts = frame_index
            frame.time_base = Fraction(1, fps)
            for packet in video.encode(frame):
                out.mux(packet)
            if audio is not None:
                # audio up to the end of this frame, interleaved with video for streaming
                until = (frame_index + 1) * AUDIO_RATE // fps
                tone = SHOT_TONES_HZ[shot_of[frame_index] % len(SHOT_TONES_HZ)]
                chunk = av.AudioFrame.from_ndarray(_tone(tone, audio_done, until - audio_done,
                                                         noise),
                                                   format="fltp", layout="stereo")
                chunk.sample_rate = AUDIO_RATE
                chunk.pts = audio_done
                chunk.time_base = Fraction(1, AUDIO_RATE)
                audio_done = until
                for packet in audio.encode(chunk):
                    out.mux(packet)
        for packet in video.encode(None):
            out.mux(packet)
        if audio is not None:
            for packet in audio.encode(None):
                out.mux(packet)
