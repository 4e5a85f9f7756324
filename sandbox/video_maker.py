"""Synthetic Kling-like clips: real H.264/AAC mp4 files whose every frame says what it is.

Each frame shows "SHOT k/n", the shot's prompt and a timecode ("t=MM:SS.hh frame N", hh =
hundredths of a second), on a solid background colour that is different for every shot
(``SHOT_COLORS``), so a test can find shot boundaries by sampling a pixel near a corner, where no
text is ever drawn. With sound, each shot has its own tone pitch so cuts are audible too.

Speed matters (a 15 s 1080p clip must encode in well under a minute on two cores): the
background and the shot text are drawn once per shot; per frame only a small timecode strip is
drawn and pasted into a copy of that shot frame.
"""
from __future__ import annotations

import math
import os
import uuid
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw, ImageFont

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
              fps: int = 24, prompt: str = "") -> Path:
    """Write a ``duration`` second mp4 to ``path`` (atomically) and return its Path.

    ``shots`` is a list of (prompt, seconds) adding up to ``duration``; without it the clip is
    one shot showing ``prompt``.
    """
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
        _encode(tmp, shots, width, height, fps, sound)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


# --- drawing -----------------------------------------------------------------------------------

_font_cache: dict[int, ImageFont.ImageFont] = {}


def _font(size: int) -> ImageFont.ImageFont:
    size = max(6, int(size))
    if size not in _font_cache:
        try:
            _font_cache[size] = ImageFont.truetype("DejaVuSans.ttf", size)
        except OSError:
            # Pillow >= 10.1 ships a scalable default font
            _font_cache[size] = ImageFont.load_default(size=size)
    return _font_cache[size]


def _text_color(background: tuple[int, int, int]) -> tuple[int, int, int]:
    luma = 0.299 * background[0] + 0.587 * background[1] + 0.114 * background[2]
    return (0, 0, 0) if luma > 140 else (255, 255, 255)


class _Layout:
    """Where text goes. The margin keeps every corner's 16x16 macroblock free of text, so a
    corner pixel is the pure shot colour."""

    def __init__(self, width: int, height: int):
        short = min(width, height)
        self.margin = max(16, int(short * 0.08)) // 2 * 2
        self.title_size = max(6, int(short * 0.09))
        self.body_size = max(6, int(short * 0.045))
        self.time_size = max(6, int(short * 0.06))
        self.width, self.height = width, height
        # the timecode strip sits at the bottom, inside the margins; even offsets and sizes keep
        # it aligned to chroma pixels
        self.time_h = (int(self.time_size * 1.4) + 1) // 2 * 2
        self.time_w = (width - 2 * self.margin) // 2 * 2
        self.time_y = (height - self.margin - self.time_h) // 2 * 2
        self.time_x = self.margin


def _wrap(text: str, font, max_width: float, max_lines: int) -> list[str]:
    """Greedy word wrap by measured width; the last line ends in an ellipsis when cut short."""
    lines: list[str] = []
    current = ""
    for word in text.split(" "):
        candidate = f"{current} {word}" if current else word
        if font.getlength(candidate) <= max_width or not current:
            current = candidate
            continue
        lines.append(current)
        current = word
        if len(lines) == max_lines:
            break
    else:
        lines.append(current)
    lines = lines[:max_lines]
    truncated = sum(len(line) + 1 for line in lines) < len(text) + 1
    if truncated:
        last = lines[-1]
        while last and font.getlength(last + "…") > max_width:
            last = last[:-1]
        lines[-1] = last.rstrip() + "…"
    # a single word wider than the frame: cut it by characters
    return [line if font.getlength(line) <= max_width else _cut(line, font, max_width)
            for line in lines]


def _cut(line: str, font, max_width: float) -> str:
    while len(line) > 1 and font.getlength(line + "…") > max_width:
        line = line[:-1]
    return line + "…"


def _shot_background(layout: _Layout, index: int, count: int, prompt: str) -> np.ndarray:
    color = shot_color(index)
    ink = _text_color(color)
    image = Image.new("RGB", (layout.width, layout.height), color)
    draw = ImageDraw.Draw(image)
    x, y = layout.margin, layout.margin
    draw.text((x, y), f"SHOT {index + 1}/{count}", fill=ink, font=_font(layout.title_size))
    y += int(layout.title_size * 1.4)

    body_font = _font(layout.body_size)
    room_lines = max(1, (layout.time_y - y) // int(layout.body_size * 1.3))
    lines = _wrap(" ".join(prompt.split()) or "(no prompt)", body_font,
                  layout.width - 2 * layout.margin, min(_MAX_PROMPT_LINES, room_lines))
    for line in lines:
        draw.text((x, y), line, fill=ink, font=body_font)
        y += int(layout.body_size * 1.3)
    return np.asarray(image, dtype=np.uint8).copy()


def _timecode_strip(layout: _Layout, color, frame_index: int, fps: int) -> np.ndarray:
    seconds = frame_index / fps
    minutes, secs = divmod(seconds, 60)
    label = f"t={int(minutes):02d}:{secs:05.2f} frame {frame_index}"
    strip = Image.new("RGB", (layout.time_w, layout.time_h), color)
    ImageDraw.Draw(strip).text((0, 0), label, fill=_text_color(color), font=_font(layout.time_size))
    return np.asarray(strip, dtype=np.uint8)


# --- encoding ----------------------------------------------------------------------------------

def _tone(frequency: float, start_sample: int, count: int) -> np.ndarray:
    t = (np.arange(start_sample, start_sample + count, dtype=np.float64)) / AUDIO_RATE
    mono = (_AUDIO_LEVEL * np.sin(2 * math.pi * frequency * t)).astype(np.float32)
    return np.vstack([mono, mono])  # planar stereo (fltp)


def _encode(target: Path, shots, width: int, height: int, fps: int, sound: bool) -> None:
    layout = _Layout(width, height)
    ranges = shot_frame_ranges(shots, fps)
    with av.open(str(target), mode="w", format="mp4", options={"movflags": "+faststart"}) as out:
        video = out.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        # a keyframe every second keeps seeking cheap for decoders
        video.options = {"preset": "ultrafast", "crf": _CRF, "g": str(fps)}
        video.codec_context.time_base = Fraction(1, fps)
        audio = None
        if sound:
            audio = out.add_stream("aac", rate=AUDIO_RATE, layout="stereo")
        audio_done = 0

        for shot_index, ((text, _), frames) in enumerate(zip(shots, ranges)):
            base = _shot_background(layout, shot_index, len(shots), text)
            color = shot_color(shot_index)
            y0, x0 = layout.time_y, layout.time_x
            for frame_index in frames:
                pixels = base.copy()
                pixels[y0:y0 + layout.time_h, x0:x0 + layout.time_w] = _timecode_strip(
                    layout, color, frame_index, fps)
                frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
                frame.pts = frame_index
                frame.time_base = Fraction(1, fps)
                for packet in video.encode(frame):
                    out.mux(packet)
                if audio is not None:
                    # audio up to the end of this frame, interleaved with video for streaming
                    until = (frame_index + 1) * AUDIO_RATE // fps
                    samples = _tone(SHOT_TONES_HZ[shot_index % len(SHOT_TONES_HZ)],
                                    audio_done, until - audio_done)
                    chunk = av.AudioFrame.from_ndarray(samples, format="fltp", layout="stereo")
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
