"""Memory planning: will the selected frames fit, and if not, which option values would.

A 15 s 1080p clip is 8.3 GiB as float32 frames, so the size is compared with the memory
available before anything is allocated (and, for a generation, before anything is paid).
"""
from __future__ import annotations

import math
from dataclasses import replace

from . import buffers
from .probe import VideoInfo
from .selection import FrameSelection, output_size, selected_count
from ..errors import NotEnoughMemoryError

BYTES_PER_VALUE = 4  # float32
#: memory kept free for everything else (ComfyUI, models, the OS), on top of 5 % of what is free
MEMORY_RESERVE_BYTES = 256 * 1024 ** 2
#: scratch frames of the decode pipeline, counted in the estimate
PIPELINE_SCRATCH_FRAMES = 8
#: the sound counted when the header does not say (also what a clip without sound gets: silence)
DEFAULT_AUDIO_RATE, DEFAULT_AUDIO_CHANNELS = 48000, 2


def plan_frames(info: VideoInfo, selection: FrameSelection) -> tuple[int, int, int]:
    """(n_frames, out_h, out_w) that ``decode_frames`` will produce (per the header)."""
    selection.validate()
    out_w, out_h = output_size(info.width, info.height, selection)
    return selected_count(info.frame_count, selection), out_h, out_w


def audio_bytes(info: VideoInfo, selection: FrameSelection) -> int:
    """The sound's float32 array: the span of the selected frames at the file's rate."""
    count = plan_frames(info, selection)[0]
    span_s = count * selection.select_every_nth / info.fps if info.fps > 0 else 0.0
    rate = info.audio_rate or DEFAULT_AUDIO_RATE
    return int(round(span_s * rate)) * (info.audio_channels or DEFAULT_AUDIO_CHANNELS) * BYTES_PER_VALUE


def estimate_bytes(info: VideoInfo, selection: FrameSelection) -> int:
    """Memory the decode needs: the output tensor, the pipeline's scratch frames and the sound."""
    count, out_h, out_w = plan_frames(info, selection)
    scratch = PIPELINE_SCRATCH_FRAMES * (info.width * info.height + out_w * out_h) * 3
    return count * out_h * out_w * 3 * BYTES_PER_VALUE + scratch + audio_bytes(info, selection)


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
