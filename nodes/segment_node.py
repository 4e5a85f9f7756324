"""Kling 3.0 Multi-Prompt Segment: one shot of a multi-shot video; chain them in order."""
from __future__ import annotations

from ..core.kling.request import (DEFAULT_DURATION_S, MAX_DURATION_S, MAX_SEGMENT_PROMPT_CHARS,
                                  MIN_DURATION_S, Segment, check_duration, check_text)
from .prompt_node import CATEGORY

SEGMENTS_TYPE = "RUNCOMFY_KLING3_SEGMENTS"


class Kling3MultiPromptSegmentNode:
    DESCRIPTION = ("One shot of a Kling 3.0 multi-shot video. Chain segments through 'previous' "
                   "(upstream shots come first) and connect the last one to the text-to-video node's "
                   "'multi_prompt'. The durations must add up to the video's duration.")
    CATEGORY = CATEGORY
    FUNCTION = "build"
    RETURN_TYPES = (SEGMENTS_TYPE,)
    RETURN_NAMES = ("segments",)
    OUTPUT_TOOLTIPS = ("The ordered list of shots so far: the upstream segments, then this one.",)

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "prompt": ("STRING", {"multiline": True, "default": "",
                                      "tooltip": f"What happens in this shot. At most {MAX_SEGMENT_PROMPT_CHARS} characters."}),
                "duration": ("INT", {"default": DEFAULT_DURATION_S, "min": MIN_DURATION_S, "max": MAX_DURATION_S,
                                     "step": 1, "tooltip": "Length of this shot in seconds (3 to 15)."}),
            },
            "optional": {
                "previous": (SEGMENTS_TYPE, {"tooltip": "The shots that come before this one (another segment node)."}),
            },
        }

    def build(self, prompt: str, duration: int, previous=None):
        check_text("prompt", prompt, MAX_SEGMENT_PROMPT_CHARS, required=True)
        check_duration("duration", duration)
        # A new tuple: upstream outputs are cached by ComfyUI and must never be mutated.
        return (tuple(previous or ()) + (Segment(prompt=prompt, duration=int(duration)),),)
