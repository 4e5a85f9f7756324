"""Kling 3.0 Pro Text to Video (RunComfy): validate, submit, wait, download, decode."""
from __future__ import annotations

from ..core.api.handle import DEFAULT_POLL_INTERVAL_S
from ..core.errors import InvalidInputError
from ..core.kling.request import (ASPECT_RATIOS, DEFAULT_DURATION_S, MAX_DURATION_S, MAX_PROMPT_CHARS,
                                  MIN_DURATION_S, Segment, TextToVideoRequest)
from ..core.pipeline import Pipeline
from ..core.status import Progress
from .comfy_bridge import state_folder
from .job_runner import StatusView, run_job
from .preview import preview_ui
from .prompt_node import CATEGORY
from .segment_node import SEGMENTS_TYPE
from .video_io import FRAME_OPTION_INPUTS, OUTPUT_NAMES, OUTPUT_TOOLTIPS, OUTPUT_TYPES, frame_selection, video_outputs

POLL_INTERVAL_S = DEFAULT_POLL_INTERVAL_S  # at most one status request per interval (tests shorten it)


class Kling3TextToVideoNode:
    DESCRIPTION = ("Generates a video with Kling 3.0 Pro through the RunComfy Model API (paid per second "
                   "of video) and decodes it into frames, sound and fps. Inputs are checked before "
                   "anything is sent. The API token comes from ComfyUI's settings (RunComfy) or the "
                   "RUNCOMFY_API_TOKEN environment variable, never from the workflow. A new seed makes a "
                   "new generation; the same seed and inputs reuse the previous result.")
    CATEGORY = CATEGORY
    FUNCTION = "generate"
    RETURN_TYPES = OUTPUT_TYPES
    RETURN_NAMES = OUTPUT_NAMES
    OUTPUT_TOOLTIPS = OUTPUT_TOOLTIPS

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "prompt": ("STRING", {"multiline": True, "default": "",
                                      "tooltip": f"Scene, motion, camera and mood (required, at most {MAX_PROMPT_CHARS} characters)."}),
                "negative_prompt": ("STRING", {"multiline": True, "default": "",
                                               "tooltip": "What to keep out of the video (optional)."}),
                "duration": ("INT", {"default": DEFAULT_DURATION_S, "min": MIN_DURATION_S, "max": MAX_DURATION_S, "step": 1,
                                     "tooltip": "Video length in seconds (3 to 15). With multi_prompt, the shots' durations must add up to it."}),
                "aspect_ratio": (list(ASPECT_RATIOS), {"default": "16:9",
                                                       "tooltip": "16:9 (1920x1080), 9:16 (1080x1920) or 1:1 (1440x1440)."}),
                "cfg_scale": ("FLOAT", {"default": 0.5, "min": 0.0, "max": 1.0, "step": 0.01,
                                        "tooltip": "How closely to follow the prompt (0 to 1; higher follows more closely)."}),
                "sound": ("BOOLEAN", {"default": True,
                                      "tooltip": "Generate synchronised sound (costs more per second)."}),
                "seed": ("INT", {"default": 0, "min": 0, "max": 0xFFFFFFFFFFFFFFFF, "control_after_generate": "fixed",
                                 "tooltip": "Not sent to the API. A new value makes a new (paid) generation; the same value and inputs reuse the last result (also after a restart). 'fixed' by default so re-queueing never pays twice."}),
                **FRAME_OPTION_INPUTS,
            },
            "optional": {
                "multi_prompt": (SEGMENTS_TYPE, {"tooltip": "Shots from chained 'Kling 3.0 Multi-Prompt Segment' nodes (multi-shot video)."}),
            },
            "hidden": {"unique_id": "UNIQUE_ID"},
        }

    async def generate(self, prompt, negative_prompt, duration, aspect_ratio, cfg_scale, sound, seed,
                       frame_load_cap=0, skip_first_frames=0, select_every_nth=1, custom_width=0,
                       custom_height=0, multi_prompt=None, unique_id=None):
        request = build_request(prompt, negative_prompt, duration, aspect_ratio, cfg_scale, sound, multi_prompt)
        selection = frame_selection(frame_load_cap, skip_first_frames, select_every_nth, custom_width, custom_height)
        pipeline = Pipeline(state_folder(), poll_interval=POLL_INTERVAL_S)
        settings = pipeline.check_generation(request, selection)
        progress = Progress()
        view = StatusView(unique_id, typical=pipeline.state.timings().typical(request.duration))
        # the journal and the result cache make a re-run (also after a restart) reuse or
        # re-attach to the paid job instead of paying again
        result = await run_job(lambda should_stop: pipeline.generate(
            request, selection, settings, seed=seed, progress=progress, should_stop=should_stop), progress, view)
        return {"ui": preview_ui(result.video.path), "result": video_outputs(result)}


def build_request(prompt, negative_prompt, duration, aspect_ratio, cfg_scale, sound, multi_prompt) -> TextToVideoRequest:
    segments = tuple(multi_prompt or ())
    for index, segment in enumerate(segments, start=1):
        if not isinstance(segment, Segment):
            raise InvalidInputError(f"multi_prompt segment {index}", "must come from a 'Kling 3.0 Multi-Prompt Segment' node", segment)
    return TextToVideoRequest(prompt=prompt, negative_prompt=negative_prompt or "", duration=duration,
                              aspect_ratio=aspect_ratio, cfg_scale=cfg_scale, sound=sound,
                              segments=segments).validate()
