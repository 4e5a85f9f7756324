"""mp4 file -> float32 RGB frames ``[N, H, W, 3]`` in 0..1, the layout of ComfyUI's IMAGE.

A 15 s 1080p clip is 8.3 GiB in that form, so the frames go straight into one preallocated
buffer of their own (``buffers.allocate``, faulted in ahead by helper threads): no list of
frames, no second full-size copy. Selection (skip, every n-th, cap) and resizing happen per frame
before a frame enters it. Before anything is allocated, ``memory.check_memory`` compares the size
with the memory available. The decode loop itself is in ``frame_pipeline``.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np

from . import buffers
from .memory import BYTES_PER_VALUE, check_memory, plan_frames
from .probe import VideoInfo, probe_video
from .selection import FrameSelection, selected_count
from ..errors import DecodeError, InvalidInputError

log = logging.getLogger("runcomfy_kling3")


@dataclass
class DecodedFrames:
    frames: np.ndarray   # float32 [N, H, W, 3], RGB, 0..1, C-contiguous
    fps: float           # source fps / select_every_nth
    frame_count: int
    width: int
    height: int
    source: VideoInfo


def decode_frames(path, selection: FrameSelection = FrameSelection(), *,
                  progress: Callable[[int, int], None] | None = None, request_id: str | None = None,
                  available_bytes: int | None = None, prefault: bool = True) -> DecodedFrames:
    """Decode the selected frames of ``path`` into one float32 RGB array.

    ``available_bytes`` overrides the measured free memory (for tests); ``prefault`` lets
    helper threads fault the buffer in ahead of the writer (see ``buffers.Prefaulter``).
    """
    # opencv loads when the first video is decoded, not when ComfyUI starts
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
                                request_id=request_id, prefault=prefault)
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
