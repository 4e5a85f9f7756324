"""What the two video nodes share: the frame-option inputs and the outputs, declared once."""
from __future__ import annotations

from ..core.media.selection import FrameSelection
from ..core.media.shots import SHOTS_TYPE
from ..core.pipeline import PipelineResult
from .comfy_bridge import comfy_values

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

#: (name, type, tooltip) of each output, in order
VIDEO_OUTPUTS = (
    ("images", "IMAGE", "Every selected frame, float32 RGB 0..1, [frames, height, width, 3]."),
    ("audio", "AUDIO", "The clip's sound at its native rate; silence of the clip's length when it has none."),
    ("fps", "FLOAT", "Frames per second of the IMAGE output (follows select_every_nth)."),
    ("frame_count", "INT", "Number of frames in the IMAGE output."),
    ("video", "VIDEO", "The downloaded mp4 as a ComfyUI video, for SaveVideo without re-encoding."),
    ("video_url", "STRING", "Where RunComfy stored the video (expires after some days)."),
    ("request_id", "STRING", "The RunComfy request id, to recover this result later."),
    # appended last: saved workflows link outputs by position
    ("shots", SHOTS_TYPE, "Each shot's prompt and first/last frame in the IMAGE output (after the frame "
                          "options), for 'Kling 3.0 Select Shot'. Without multi_prompt: one shot, the whole clip."),
)
OUTPUT_NAMES = tuple(name for name, _, _ in VIDEO_OUTPUTS)
OUTPUT_TYPES = tuple(kind for _, kind, _ in VIDEO_OUTPUTS)
OUTPUT_TOOLTIPS = tuple(tip for _, _, tip in VIDEO_OUTPUTS)


def frame_selection(frame_load_cap=0, skip_first_frames=0, select_every_nth=1, custom_width=0,
                    custom_height=0) -> FrameSelection:
    return FrameSelection(frame_load_cap=int(frame_load_cap), skip_first_frames=int(skip_first_frames),
                          select_every_nth=int(select_every_nth), custom_width=int(custom_width),
                          custom_height=int(custom_height)).validate()


def video_outputs(result: PipelineResult) -> tuple:
    """The node's output tuple, in ``OUTPUT_NAMES`` order."""
    values = comfy_values(result.clip)
    values.update(video_url=result.video.video_url, request_id=result.video.request_id, shots=result.shots)
    return tuple(values[name] for name in OUTPUT_NAMES)
