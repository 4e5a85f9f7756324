"""Frames that cost what real footage costs: scrolling multi-octave texture (two layers moving
against each other, like a camera pan with parallax), moving discs and fresh grain every frame,
tinted with the shot's colour, encoded at a bitrate like Kling's 1080p output (~16 Mbit/s, about
30 MB for 15 s). The shot label and the timecode sit on dark panels so they stay readable.

Frames are built directly in yuv420p with numpy slices of textures made once per clip, so making
a frame costs a few additions over the picture, not a drawing pass.
"""
from __future__ import annotations

import math

import av
import numpy as np
from PIL import Image, ImageDraw

from .frame_text import Layout, font, timecode_label

#: bitrate of a 1920x1080 24 fps clip; other sizes and rates scale with pixels per second
BITS_PER_SECOND_1080P24 = 16_000_000
#: the fastest preset, with what makes real footage costly to decode put back: CABAC,
#: deblocking and B-frames (decoding then costs ~7x a flat-colour clip; "superfast" costs 2x
#: the encode time for the same effect)
PRESET = "ultrafast"
X264_PARAMS = "cabac=1:deblock=1:bframes=2"
_GRAIN = 14              # grain amplitude in luma steps
_MAX_PROMPT_LINES = 3


def encoder_settings(width: int, height: int, fps: int) -> tuple[int, dict]:
    """(bit rate, libx264 options) for realistic footage of this size and rate."""
    bit_rate = int(BITS_PER_SECOND_1080P24 * width * height * fps / (1920 * 1080 * 24))
    return bit_rate, {"preset": PRESET, "x264-params": X264_PARAMS, "g": str(2 * fps),
                      "maxrate": str(bit_rate * 5 // 4), "bufsize": str(bit_rate * 2)}


def yuv_of(rgb) -> tuple[float, float, float]:
    """BT.601 limited-range Y, Cb, Cr of an RGB colour (what decoders assume for these files)."""
    r, g, b = rgb
    return (16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255,
            128 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255,
            128 + (112.0 * r - 93.786 * g - 18.214 * b) / 255)


def _noise_texture(rng, height: int, width: int) -> np.ndarray:
    """Zero-centred multi-octave value noise (int16, std about 30 luma steps)."""
    total = np.zeros((height, width), np.float32)
    for cell, weight in ((2, 0.35), (6, 0.5), (24, 0.8), (96, 1.0), (384, 1.0)):
        grid = rng.standard_normal((height // cell + 2, width // cell + 2)).astype(np.float32)
        big = Image.fromarray(grid, mode="F").resize(((width // cell + 2) * cell,
                                                      (height // cell + 2) * cell),
                                                     Image.BICUBIC)
        total += weight * np.asarray(big)[:height, :width]
    total -= float(total.mean())       # the shot colour stays the average colour
    total *= 30.0 / max(float(total.std()), 1e-6)
    return total.astype(np.int16)


def _disc(radius: int) -> np.ndarray:
    yy, xx = np.mgrid[-radius:radius, -radius:radius]
    return (xx * xx + yy * yy) < radius * radius


class _Scene:
    """The textures and panels of one clip."""

    def __init__(self, width: int, height: int, fps: int):
        rng = np.random.default_rng(20260)
        self.width, self.height, self.fps = width, height, fps
        self.pad = max(8, min(width, height) // 4) // 2 * 2
        self.texture = _noise_texture(rng, height + 2 * self.pad, width + 2 * self.pad)
        self.grain = rng.integers(-_GRAIN, _GRAIN + 1, (height + 64, width + 64), dtype=np.int16)
        self.rng = rng
        self.radius = max(2, min(width, height) // 10)
        self.disc = _disc(self.radius)
        self.layout = Layout(width, height)

    def offsets(self, seconds: float, phase: float, speed: float, periods) -> tuple[int, int]:
        pad = self.pad
        x = pad * (1 + math.sin(2 * math.pi * seconds * speed / periods[0] + phase))
        y = pad * (1 + math.sin(2 * math.pi * seconds * speed / periods[1] + 2 * phase))
        return int(y) // 2 * 2, int(x) // 2 * 2

    def label_panel(self, index: int, count: int, prompt: str):
        """(top, left, mask) of the shot label: a bool mask of its text pixels."""
        layout = self.layout
        lines = [f"SHOT {index + 1}/{count}"]
        top = layout.margin + int(layout.title_size * 1.4)
        lines += layout.prompt_lines(prompt, top, _MAX_PROMPT_LINES)
        height = top - layout.margin + int(layout.body_size * 1.3) * (len(lines) - 1)
        height = min(height + layout.body_size // 2, layout.time_y - layout.margin) // 2 * 2
        image = Image.new("L", (layout.time_w, max(2, height)), 0)
        draw = ImageDraw.Draw(image)
        y = 0
        for number, line in enumerate(lines):
            size = layout.title_size if number == 0 else layout.body_size
            draw.text((0, y), line, fill=255, font=font(size))
            y += int(size * (1.4 if number == 0 else 1.3))
        text = np.asarray(image) > 127
        used = np.nonzero(text.any(axis=0))[0]
        right = min(text.shape[1], (int(used.max()) if used.size else 0) + layout.body_size)
        return layout.margin, layout.margin, text[:, :right]


def realistic_frames(shots, ranges, width: int, height: int, fps: int, shot_color):
    """(frame_index, av.VideoFrame) of realistic footage for ``shots``; ``shot_color(k)`` is
    the RGB tint of shot k."""
    scene = _Scene(width, height, fps)
    layout = scene.layout
    w2, h2 = width // 2, height // 2
    flat = np.empty(width * height * 3 // 2, np.uint8)
    y_plane = flat[:width * height].reshape(height, width)
    u_plane = flat[width * height:width * height * 5 // 4].reshape(h2, w2)
    v_plane = flat[width * height * 5 // 4:].reshape(h2, w2)
    luma = np.empty((height, width), np.int16)
    for shot_index, ((prompt, _), frames) in enumerate(zip(shots, ranges)):
        base_y, base_u, base_v = yuv_of(shot_color(shot_index))
        top, left, text = scene.label_panel(shot_index, len(shots), prompt)
        phase = 1.7 * shot_index
        for frame_index in frames:
            t = frame_index / fps
            # two texture layers drifting against each other, plus grain that never repeats
            ay, ax = scene.offsets(t, phase, 1.0, (7.0, 5.0))
            by, bx = scene.offsets(t, phase + 2.0, 1.6, (5.0, 9.0))
            np.add(scene.texture[ay:ay + height, ax:ax + width],
                   scene.texture[by:by + height, bx:bx + width] >> 1, out=luma)
            gy, gx = scene.rng.integers(0, 64, 2)
            luma += scene.grain[gy:gy + height, gx:gx + width]
            luma += int(base_y)
            _draw_discs(scene, luma, t)
            np.clip(luma, 16, 235, out=luma)
            y_plane[:] = luma
            cy, cx = ay // 2, ax // 2
            chroma = scene.texture[cy:cy + h2, cx:cx + w2]
            np.clip(chroma // 6 + int(base_u), 16, 240, out=u_plane, casting="unsafe")
            np.clip(int(base_v) - chroma // 6, 16, 240, out=v_plane, casting="unsafe")
            _draw_label(y_plane, top, left, text)
            _draw_timecode(y_plane, u_plane, v_plane, layout, frame_index, fps)
            yield frame_index, av.VideoFrame.from_ndarray(
                flat.reshape(height * 3 // 2, width), format="yuv420p")


def _draw_discs(scene: _Scene, luma: np.ndarray, t: float) -> None:
    size = 2 * scene.radius
    room_y, room_x = scene.height - size, scene.width - size
    if room_y <= 0 or room_x <= 0:
        return
    for k, (speed, level) in enumerate(((0.23, 70), (0.37, -60), (0.51, 45))):
        y = int(room_y * (0.5 + 0.5 * math.sin(2 * math.pi * speed * t + k)))
        x = int(room_x * (0.5 + 0.5 * math.sin(2 * math.pi * speed * 0.7 * t + 2 * k)))
        luma[y:y + size, x:x + size][scene.disc] += level


def _draw_label(y_plane: np.ndarray, top: int, left: int, text: np.ndarray) -> None:
    rows, cols = text.shape
    region = y_plane[top:top + rows, left:left + cols]
    region >>= 2              # a dark panel, still showing the texture through
    region += 16
    region[text[:region.shape[0], :region.shape[1]]] = 235


def _draw_timecode(y_plane, u_plane, v_plane, layout: Layout, frame_index: int, fps: int):
    strip = Image.new("L", (layout.time_w, layout.time_h), 16)
    ImageDraw.Draw(strip).text((0, 0), timecode_label(frame_index, fps), fill=235,
                               font=font(layout.time_size))
    y0, x0 = layout.time_y, layout.time_x
    y_plane[y0:y0 + layout.time_h, x0:x0 + layout.time_w] = np.asarray(strip)
    u_plane[y0 // 2:(y0 + layout.time_h) // 2, x0 // 2:(x0 + layout.time_w) // 2] = 128
    v_plane[y0 // 2:(y0 + layout.time_h) // 2, x0 // 2:(x0 + layout.time_w) // 2] = 128
