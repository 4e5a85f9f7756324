"""mp4 file -> float32 RGB frames ``[N, H, W, 3]`` in 0..1, the layout of ComfyUI's IMAGE.

A 15 s 1080p clip is 8.3 GiB in that form, so the frames go straight into one preallocated
buffer of their own (``buffers.allocate``, faulted in ahead by helper threads): no list of
frames, no second full-size copy. Selection (skip, every n-th, cap) and resizing happen per frame
before a frame enters it. Before anything is allocated, ``memory.check_memory`` compares the size
with the memory available. The decode loop itself is in ``frame_pipeline``.

Faulting the buffer in costs about as much CPU as decoding on a virtual machine, so when the
size is known before the file exists (a generation: aspect ratio and duration), ``reserve_frames``
allocates and faults it in while the job is still generating, and ``decode_frames`` takes it.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np

from . import buffers
from .memory import BYTES_PER_VALUE, check_memory, plan_frames
from .probe import VideoInfo, probe_video, read_header  # probe_video: part of this module's API
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


class Reservation:
    """An output buffer allocated before its file exists, and faulted in: from now on
    (``prefault_now``, while the job generates and the CPU is idle), or only once a decode
    takes it (reserved at completion: a file that turns out different, small or hostile, then
    costs no memory, not the gigabytes of the clip that was asked for)."""

    def __init__(self, shape: tuple[int, int, int, int], fault_bytes: int, *, prefault_now: bool = True):
        self.array: np.ndarray | None = buffers.allocate(shape, np.float32)
        self.prefaulter: buffers.Prefaulter | None = buffers.Prefaulter(self.array, fault_bytes)
        if prefault_now:
            self.prefaulter.__enter__()

    def take(self, shape: tuple[int, int, int, int]):
        """(array, prefaulter) when the buffer fits ``shape`` (same frame size, at least as many
        frames), else None; either way the reservation lets go of the buffer."""
        array, prefaulter, self.array, self.prefaulter = self.array, self.prefaulter, None, None
        if array is not None and array.shape[1:] == shape[1:] and array.shape[0] >= shape[0]:
            if prefaulter is not None and not prefaulter.started:
                prefaulter.__enter__()
            return array, prefaulter
        self._drop(prefaulter)
        return None

    def release(self) -> None:
        prefaulter, self.array, self.prefaulter = self.prefaulter, None, None
        self._drop(prefaulter)

    @staticmethod
    def _drop(prefaulter) -> None:
        if prefaulter is not None:
            prefaulter.stop()


def reserve_frames(expected: VideoInfo, selection: FrameSelection, *,
                   prefault_now: bool = True) -> Reservation | None:
    """Allocate the output of ``expected`` (the clip a request will make) and fault it in (see
    ``Reservation``). None when nothing would be reserved (no frames, or memory is short: the
    decode then reports that with the real file's sizes)."""
    try:
        check_memory(expected, selection)
    except Exception:  # NotEnoughMemoryError, bad selection: decode_frames says it properly
        return None
    count, out_h, out_w = plan_frames(expected, selection)
    if count == 0:
        return None
    return Reservation((count + _spare(count, selection, capped=True), out_h, out_w, 3),
                       count * out_h * out_w * 3 * BYTES_PER_VALUE, prefault_now=prefault_now)


def _spare(count: int, selection: FrameSelection, *, capped: bool, exact: bool = False) -> int:
    """Spare frames in case the header undercounts: address space only, never touched unless
    used. Not needed when the cap, not the file's length, sets the count."""
    spare = 0 if capped and selection.frame_load_cap else (2 if exact else 2 + count // 10)
    if selection.frame_load_cap:
        spare = min(spare, max(0, selection.frame_load_cap - count))
    return spare


def decode_frames(path, selection: FrameSelection = FrameSelection(), *,
                  progress: Callable[[int, int], None] | None = None, request_id: str | None = None,
                  available_bytes: int | None = None, prefault: bool = True, source=None,
                  reserved: Reservation | None = None, info: VideoInfo | None = None) -> DecodedFrames:
    """Decode the selected frames of ``path`` into one float32 RGB array.

    ``available_bytes`` overrides the measured free memory (for tests); ``prefault`` lets
    helper threads fault the buffer in ahead of the writer (see ``buffers.Prefaulter``).
    ``source``: a readable file object with the bytes of ``path`` to decode from instead (a
    download still landing; ``path`` must already hold the header). ``reserved``: a buffer
    from ``reserve_frames``, used when it fits and released otherwise. ``info``: the file's
    header, when already read (``probe_video``).
    """
    # PyAV and opencv load when the first video is decoded, not when ComfyUI starts
    from .frame_pipeline import FramePipeline

    selection.validate()
    try:
        with FramePipeline(path if source is None else source, name=Path(path).name) as pipeline:
            info = info or read_header(pipeline.container, Path(path).name)  # no second open
            if (pipeline.width, pipeline.height) != (info.width, info.height):
                info = replace(info, width=pipeline.width, height=pipeline.height)
            count, out_h, out_w = plan_frames(info, selection)
            if count == 0 and selection.skip_first_frames == 0:
                raise DecodeError(f"{Path(path).name} announces no frames")
            if count == 0:
                raise InvalidInputError(
                    "skip_first_frames", f"leaves no frame to load: the video has {info.frame_count} "
                    f"frames", selection.skip_first_frames, hint="Lower skip_first_frames")
            capped = bool(selection.frame_load_cap) and selected_count(info.frame_count, replace(
                selection, frame_load_cap=0)) > count
            shape = (count + _spare(count, selection, capped=capped, exact=info.frame_count_exact),
                     out_h, out_w, 3)
            taken = reserved.take(shape) if reserved is not None else None
            if taken is None:
                check_memory(info, selection, available_bytes=available_bytes, request_id=request_id)
                frames, prefaulter = buffers.allocate(shape, np.float32), None
            else:
                frames, prefaulter = taken
            done = pipeline.run(frames, selection, expected=count, progress=progress,
                                request_id=request_id, prefault=prefault, prefaulter=prefaulter)
    except DecodeError as exc:
        raise exc.with_request_id(request_id)
    finally:
        if reserved is not None:
            reserved.release()
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
