"""Kling 3.0 Select Shot: the frames and sound of one shot of a (multi-shot) video.

Thin: where the shots lie is computed in the core (core/media/shots.py) and handed over by the
video node's ``shots`` output; this node only slices. The IMAGE output is a view of the input
tensor and the AUDIO a view of its waveform (no copy), so picking a shot costs no memory.
"""
from __future__ import annotations

from ..core.errors import InvalidInputError
from ..core.media.shots import SHOTS_TYPE, Shots
from .prompt_node import CATEGORY

#: the output fps may differ from the shots' by rounding only
FPS_TOLERANCE = 1e-3


class Kling3SelectShotNode:
    DESCRIPTION = ("Picks one shot of a Kling 3.0 video: connect images, audio, fps and shots of "
                   "'Kling 3.0 Pro Text to Video (RunComfy)' (or Fetch Result) and choose the shot "
                   "number. Outputs that shot's frames, its sound (the same span) and the fps. A video "
                   "made without multi_prompt is one shot.")
    CATEGORY = CATEGORY
    FUNCTION = "select"
    RETURN_TYPES = ("IMAGE", "AUDIO", "FLOAT", "INT")
    RETURN_NAMES = ("images", "audio", "fps", "frame_count")
    OUTPUT_TOOLTIPS = ("The shot's frames (a view of the input frames, not a copy).",
                       "The shot's sound: exactly the span of its frames.",
                       "Frames per second (as the input).",
                       "Number of frames of the shot.")

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "images": ("IMAGE", {"tooltip": "The video node's images output."}),
            "audio": ("AUDIO", {"tooltip": "The video node's audio output."}),
            "fps": ("FLOAT", {"forceInput": True, "tooltip": "The video node's fps output."}),
            "shots": (SHOTS_TYPE, {"tooltip": "The video node's shots output."}),
            "shot": ("INT", {"default": 1, "min": 1, "max": 20, "step": 1,
                             "tooltip": "Which shot: 1 is the first."}),
        }}

    def select(self, images, audio, fps, shots, shot):
        if not isinstance(shots, Shots):
            raise InvalidInputError("shots", "must come from the shots output of a Kling 3.0 video node", shots)
        frames = int(images.shape[0])
        if frames != shots.frame_count:
            raise InvalidInputError("images", f"has {frames} frames, but the shots describe a video of "
                                    f"{shots.frame_count}: connect images and shots of the same video node",
                                    frames)
        if abs(float(fps) - shots.fps) > FPS_TOLERANCE * max(1.0, shots.fps):
            raise InvalidInputError("fps", f"is {fps:g}, but the shots were cut at {shots.fps:g} fps: connect fps "
                                    f"and shots of the same video node", fps)
        chosen = shots.shot(int(shot))
        waveform, rate = audio["waveform"], int(audio["sample_rate"])
        first, last = shots.sample_range(chosen.number, rate, int(waveform.shape[-1]))
        sound = {"waveform": waveform[..., first:last], "sample_rate": rate}
        return (images[chosen.start:chosen.end], sound, float(fps), chosen.frame_count)
