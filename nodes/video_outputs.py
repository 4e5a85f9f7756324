"""From a downloaded mp4 to the node's outputs: IMAGE, AUDIO, fps, frame_count, VIDEO.

Decoding runs in the worker thread (numpy only); ``to_comfy_outputs`` wraps the arrays as torch
tensors without copying (``torch.from_numpy`` shares the decoder's own pre-faulted mmap buffer).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..core.audio import AudioTrack, decode_audio
from ..core.errors import InvalidInputError, NotEnoughMemoryError
from ..core.frames import (DecodedFrames, FrameSelection, VideoInfo, check_memory, decode_frames,
                           selected_count)
from ..core.kling_request import EXPECTED_FPS, OUTPUT_SIZES, TextToVideoRequest
from ..core.generation import Progress
from .comfy_bridge import video_object

FRAME_OPTION_INPUTS = {
    "frame_load_cap": ("INT", {"default": 0, "min": 0, "max": 100000, "step": 1, "advanced": True,
                               "tooltip": "Load at most this many frames (0 = all). Counted after skipping."}),
    "skip_first_frames": ("INT", {"default": 0, "min": 0, "max": 100000, "step": 1, "advanced": True,
                                  "tooltip": "Leave out this many frames at the start."}),
    "select_every_nth": ("INT", {"default": 1, "min": 1, "max": 1000, "step": 1, "advanced": True,
                                 "tooltip": "Keep one frame in every n (2 halves the frames and the fps)."}),
    "custom_width": ("INT", {"default": 0, "min": 0, "max": 8192, "step": 8, "advanced": True,
                             "tooltip": "Resize frames to this width (0 = keep; with height 0 the aspect ratio is kept)."}),
    "custom_height": ("INT", {"default": 0, "min": 0, "max": 8192, "step": 8, "advanced": True,
                              "tooltip": "Resize frames to this height (0 = keep; both set = scale and centre-crop)."}),
}


def frame_selection(frame_load_cap=0, skip_first_frames=0, select_every_nth=1, custom_width=0,
                    custom_height=0) -> FrameSelection:
    return FrameSelection(frame_load_cap=int(frame_load_cap), skip_first_frames=int(skip_first_frames),
                          select_every_nth=int(select_every_nth), custom_width=int(custom_width),
                          custom_height=int(custom_height)).validate()


def check_selection_before_submit(request: TextToVideoRequest, selection: FrameSelection) -> None:
    """Fail before paying for a clip whose selected frames would be none, or would not fit in
    this machine's memory once decoded."""
    width, height = OUTPUT_SIZES[request.aspect_ratio]
    expected = VideoInfo(width=width, height=height, fps=float(EXPECTED_FPS),
                         frame_count=request.duration * EXPECTED_FPS, duration=float(request.duration),
                         has_audio=request.sound)
    if selected_count(expected.frame_count, selection) == 0:
        raise InvalidInputError("skip_first_frames", f"must leave frames to load: the {request.duration} s clip has "
                                f"about {expected.frame_count} frames", selection.skip_first_frames)
    try:
        check_memory(expected, selection)
    except NotEnoughMemoryError as exc:
        raise NotEnoughMemoryError(f"Nothing was submitted: the {request.duration} s {width}x{height} clip "
                                   f"would not fit in memory once decoded. {exc.reason}") from None


@dataclass
class DecodedVideo:
    path: Path
    frames: DecodedFrames
    audio: AudioTrack


def decode_video(path: Path, selection: FrameSelection, progress: Progress,
                 should_stop: Callable[[], bool], request_id: str | None) -> DecodedVideo:
    progress.phase, progress.percent = "decoding", 0.0
    frames = decode_frames(path, selection, request_id=request_id, should_stop=should_stop,
                           progress=lambda done, total: setattr(progress, "percent", 100.0 * done / max(1, total)))
    # Keep the sound in step with the selected frames.
    source_fps = frames.source.fps or 24.0
    start = selection.skip_first_frames / source_fps
    end = start + frames.frame_count * selection.select_every_nth / source_fps
    audio = decode_audio(path, duration=frames.source.duration, start=start, end=end)
    return DecodedVideo(Path(path), frames, audio)


def to_comfy_outputs(decoded: DecodedVideo) -> tuple:
    import torch  # only the ComfyUI layer uses torch

    image = torch.from_numpy(decoded.frames.frames)
    waveform = torch.from_numpy(decoded.audio.samples).unsqueeze(0)
    audio = {"waveform": waveform, "sample_rate": int(decoded.audio.sample_rate)}
    return (image, audio, float(decoded.frames.fps), int(decoded.frames.frame_count),
            video_object(decoded.path))
