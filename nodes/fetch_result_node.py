"""Kling 3.0 Fetch Result (RunComfy): the video of an earlier request, by its request id."""
from __future__ import annotations

from ..core.api.handle import DEFAULT_POLL_INTERVAL_S, is_request_id
from ..core.errors import InvalidInputError
from ..core.pipeline import Pipeline
from ..core.status import Progress
from .comfy_bridge import state_folder
from .job_runner import StatusView, run_job
from .preview import preview_ui
from .prompt_node import CATEGORY
from .video_io import FRAME_OPTION_INPUTS, OUTPUT_NAMES, OUTPUT_TOOLTIPS, OUTPUT_TYPES, frame_selection, video_outputs

POLL_INTERVAL_S = DEFAULT_POLL_INTERVAL_S  # at most one status request per interval (tests shorten it)


class Kling3FetchResultNode:
    DESCRIPTION = ("Gets the video of an earlier Kling 3.0 request on RunComfy by its request id (from the "
                   "text-to-video node's request_id output, an error message, or your RunComfy request "
                   "history) and decodes it like 'Kling 3.0 Pro Text to Video (RunComfy)'. Waits while the "
                   "job still runs. Never starts a new job, so it costs nothing; a video downloaded before "
                   "is read from the local cache without contacting RunComfy.")
    CATEGORY = CATEGORY
    FUNCTION = "fetch"
    RETURN_TYPES = OUTPUT_TYPES
    RETURN_NAMES = OUTPUT_NAMES
    OUTPUT_TOOLTIPS = OUTPUT_TOOLTIPS

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "request_id": ("STRING", {"default": "", "tooltip": "The RunComfy request id of the generation to fetch."}),
                **FRAME_OPTION_INPUTS,
            },
            "hidden": {"unique_id": "UNIQUE_ID"},
        }

    async def fetch(self, request_id, frame_load_cap=0, skip_first_frames=0, select_every_nth=1,
                    custom_width=0, custom_height=0, unique_id=None):
        request_id = checked_request_id(request_id)
        selection = frame_selection(frame_load_cap, skip_first_frames, select_every_nth, custom_width, custom_height)
        pipeline = Pipeline(state_folder(), poll_interval=POLL_INTERVAL_S)
        # a cached video needs no token and no request
        settings = None if pipeline.cached(request_id) else pipeline.api_settings()
        progress = Progress(request_id=request_id)
        result = await run_job(lambda should_stop: pipeline.fetch(
            request_id, selection, settings, progress=progress, should_stop=should_stop), progress, StatusView(unique_id))
        return {"ui": preview_ui(result.video.path), "result": video_outputs(result)}


def checked_request_id(value) -> str:
    text = value.strip() if isinstance(value, str) else value
    if not is_request_id(text):
        raise InvalidInputError("request_id", "must be a RunComfy request id (letters, digits, '-' and '_', "
                                "as shown by the request_id output or in the request history)", value,
                                hint="Nothing was sent")
    return text
