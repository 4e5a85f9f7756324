"""mp4 file -> float32 RGB frames ``[N, H, W, 3]`` in 0..1, the layout of ComfyUI's IMAGE.

A 15 s 1080p clip is 8.3 GiB in that form, so the frames go straight into one preallocated
buffer of their own (``buffers.allocate``, faulted in ahead by helper threads): no list of
frames, no second full-size copy.
Selection (skip, every n-th, cap) and resizing happen per frame before a frame enters it.
Before anything is allocated, ``check_memory`` compares the size with the memory available and
says which option values would fit. The decode itself is in ``frame_pipeline``.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np

from . import buffers
from .errors import DecodeError, InvalidInputError, NotEnoughMemoryError

log = logging.getLogger("runcomfy_kling3")

BYTES_PER_VALUE = 4  # float32
#: memory kept free for everything else (ComfyUI, models, the OS), on top of 5 % of what is free
MEMORY_RESERVE_BYTES = 256 * 1024 ** 2
#: scratch frames of the decode pipeline, counted in the estimate
PIPELINE_SCRATCH_FRAMES = 8


@dataclass(frozen=True)
class FrameSelection:
    """Which frames, at what size. Meanings follow VideoHelperSuite's Load Video nodes."""

    frame_load_cap: int = 0        # at most this many frames; 0 = all
    skip_first_frames: int = 0     # leave out this many frames at the start
    select_every_nth: int = 1      # keep one frame in every n
    custom_width: int = 0          # 0 = keep; only one set: the other follows the aspect ratio
    custom_height: int = 0         # both set: scale to cover, then centre crop to exactly W x H

    def validate(self) -> "FrameSelection":
        for name in ("frame_load_cap", "skip_first_frames", "custom_width", "custom_height"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
                raise InvalidInputError(name, "must be a whole number >= 0", value,
                                        hint="Fix the frame options and run again")
        nth = self.select_every_nth
        if isinstance(nth, bool) or not isinstance(nth, (int, np.integer)) or nth < 1:
            raise InvalidInputError("select_every_nth", "must be a whole number >= 1", nth,
                                    hint="Fix the frame options and run again")
        return self


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


@dataclass
class DecodedFrames:
    frames: np.ndarray   # float32 [N, H, W, 3], RGB, 0..1, C-contiguous
    fps: float           # source fps / select_every_nth
    frame_count: int
    width: int
    height: int
    source: VideoInfo


# --- probing -----------------------------------------------------------------------------------

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


# --- planning ----------------------------------------------------------------------------------

def output_size(width: int, height: int, selection: FrameSelection) -> tuple[int, int]:
    """(width, height) of the output frames."""
    cw, ch = selection.custom_width, selection.custom_height
    if cw and ch:
        return cw, ch
    if cw:
        return cw, max(1, round(height * cw / width))
    if ch:
        return max(1, round(width * ch / height)), ch
    return width, height


def cover_crop(width: int, height: int, out_w: int, out_h: int) -> tuple[int, int, int, int]:
    """(x, y, w, h) of the centred source region with the output's aspect ratio: scaling it
    to the output size is "scale to cover, then centre crop"."""
    if out_w * height > width * out_h:        # output is wider: keep the width
        crop_h = min(height, max(1, round(width * out_h / out_w)))
        return 0, (height - crop_h) // 2, width, crop_h
    crop_w = min(width, max(1, round(height * out_w / out_h)))
    return (width - crop_w) // 2, 0, crop_w, height


def selected_count(frame_count: int, selection: FrameSelection) -> int:
    available = max(0, frame_count - selection.skip_first_frames)
    count = -(-available // selection.select_every_nth)
    if selection.frame_load_cap:
        count = min(count, selection.frame_load_cap)
    return count


def plan_frames(info: VideoInfo, selection: FrameSelection) -> tuple[int, int, int]:
    """(n_frames, out_h, out_w) that ``decode_frames`` will produce (per the header)."""
    selection.validate()
    out_w, out_h = output_size(info.width, info.height, selection)
    return selected_count(info.frame_count, selection), out_h, out_w


def estimate_bytes(info: VideoInfo, selection: FrameSelection) -> int:
    """Memory the decode needs: the output tensor plus the pipeline's scratch frames."""
    count, out_h, out_w = plan_frames(info, selection)
    scratch = PIPELINE_SCRATCH_FRAMES * (info.width * info.height + out_w * out_h) * 3
    return count * out_h * out_w * 3 * BYTES_PER_VALUE + scratch


def memory_budget(available_bytes: int) -> int:
    return max(0, int(available_bytes * 0.95) - MEMORY_RESERVE_BYTES)


def check_memory(info: VideoInfo, selection: FrameSelection, *, available_bytes: int | None = None,
                 request_id: str | None = None) -> None:
    """Raise ``NotEnoughMemoryError`` when the frames would not fit in available memory, naming
    the size, what is available, and option values that would fit."""
    need = estimate_bytes(info, selection)
    available = buffers.available_memory_bytes() if available_bytes is None else available_bytes
    budget = memory_budget(available)
    if need <= budget:
        return
    count, out_h, out_w = plan_frames(info, selection)
    ways = fitting_options(info, selection, budget)
    advice = ("Any one of these would fit: " + ", ".join(ways)) if ways else \
        "Free memory (close other programs or unload models) and run again"
    tensor = count * out_h * out_w * 3 * BYTES_PER_VALUE
    raise NotEnoughMemoryError(
        f"The frames would need {_gib(tensor)} ({count} frames of {out_w}x{out_h}, float32 RGB; "
        f"{_gib(need)} while decoding) but "
        f"only {_gib(available)} of memory is available (keeping {_gib(available - budget)} free "
        f"for everything else). {advice}", request_id=request_id)


def fitting_options(info: VideoInfo, selection: FrameSelection, budget: int) -> list[str]:
    """Single option changes (from ``selection``) whose estimate fits ``budget``."""
    count, out_h, out_w = plan_frames(info, selection)
    ways: list[str] = []

    def fits(**changes) -> bool:
        return estimate_bytes(info, replace(selection, **changes)) <= budget

    per_frame = out_h * out_w * 3 * BYTES_PER_VALUE
    scratch = estimate_bytes(info, replace(selection, frame_load_cap=1)) - per_frame
    cap = (budget - scratch) // per_frame if budget > scratch else 0
    if cap >= 1:
        ways.append(f"frame_load_cap <= {int(cap)}")
    for nth in range(selection.select_every_nth + 1, max(count, 1) * selection.select_every_nth + 1):
        if fits(select_every_nth=nth):
            ways.append(f"select_every_nth >= {nth}")
            break
    # a smaller width with the height following the aspect ratio (multiples of 8 like the widget)
    scale = math.sqrt(max(0.0, (budget - scratch)) / max(1, count * per_frame))
    width = int(out_w * scale) // 8 * 8
    while width >= 8 and not fits(custom_width=width, custom_height=0):
        width -= 8
    if width >= 8:
        ways.append(f"custom_width {width} (custom_height 0)")
    return ways


def _gib(value: int) -> str:
    return f"{value / 1024 ** 3:.1f} GiB"


# --- decoding ----------------------------------------------------------------------------------

def decode_frames(path, selection: FrameSelection = FrameSelection(), *,
                  progress: Callable[[int, int], None] | None = None,
                  should_stop: Callable[[], bool] | None = None, request_id: str | None = None,
                  available_bytes: int | None = None, prefault: bool = True) -> DecodedFrames:
    """Decode the selected frames of ``path`` into one float32 RGB array.

    ``available_bytes`` overrides the measured free memory (for tests); ``prefault`` lets
    helper threads fault the buffer in ahead of the writer (see ``buffers.Prefaulter``).
    """
    from .frame_pipeline import FramePipeline

    selection.validate()
    info = probe_video(path)
    try:
        with FramePipeline(path) as pipeline:
            if (pipeline.width, pipeline.height) != (info.width, info.height):
                # opencv applies rotation metadata; plan with the frames it really gives
                info = replace(info, width=pipeline.width, height=pipeline.height)
            count, out_h, out_w = plan_frames(info, selection)
            if count == 0 and selection.skip_first_frames == 0:
                raise DecodeError(f"{Path(path).name} announces no frames")
            if count == 0:
                raise InvalidInputError(
                    "skip_first_frames", f"leaves no frame to load: the video has {info.frame_count} "
                    f"frames", selection.skip_first_frames, hint="Lower skip_first_frames")
            check_memory(info, selection, available_bytes=available_bytes, request_id=request_id)
            # Spare frames in case the header undercounts: address space only, never touched
            # unless used. Not needed when the cap, not the file's length, sets the count.
            capped = selection.frame_load_cap and selected_count(info.frame_count, replace(
                selection, frame_load_cap=0)) > count
            spare = 0 if capped else (2 if info.frame_count_exact else 2 + count // 10)
            if selection.frame_load_cap:
                spare = min(spare, selection.frame_load_cap - count)
            frames = buffers.allocate((count + spare, out_h, out_w, 3), np.float32)
            done = pipeline.run(frames, selection, expected=count, progress=progress,
                                should_stop=should_stop, request_id=request_id, prefault=prefault)
    except DecodeError as exc:
        raise exc.with_request_id(request_id)
    if done == 0:
        raise DecodeError(f"No frame of {Path(path).name} could be decoded", request_id=request_id)
    if done < count:
        log.warning("%s: the header announced %d selected frames, %d could be decoded",
                    Path(path).name, count, done)
    frame_bytes = out_h * out_w * 3 * BYTES_PER_VALUE
    buffers.release_tail(frames, done * frame_bytes)
    frames = frames[:done]  # a view: the decoded frames are not copied
    return DecodedFrames(frames=frames, fps=info.fps / selection.select_every_nth,
                         frame_count=done, width=out_w, height=out_h, source=info)
