"""Kling 3.0 Prompt: a prompt / negative prompt pair to wire into the text-to-video node."""
from __future__ import annotations

from ..core.kling.request import MAX_PROMPT_CHARS, check_text

CATEGORY = "RunComfy/Kling 3.0"


class Kling3PromptNode:
    DESCRIPTION = ("Writes a Kling 3.0 prompt and negative prompt. Connect the outputs to the inputs of "
                   "the same names on 'Kling 3.0 Pro Text to Video (RunComfy)', or to any text input.")
    CATEGORY = CATEGORY
    FUNCTION = "build"
    RETURN_TYPES = ("STRING", "STRING")
    RETURN_NAMES = ("prompt", "negative_prompt")
    OUTPUT_TOOLTIPS = ("The prompt text.", "The negative prompt text (may be empty).")

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "prompt": ("STRING", {"multiline": True, "default": "",
                                  "tooltip": f"Scene, motion, camera and mood. At most {MAX_PROMPT_CHARS} characters."}),
            "negative_prompt": ("STRING", {"multiline": True, "default": "",
                                           "tooltip": f"What to keep out of the video (optional). At most {MAX_PROMPT_CHARS} characters."}),
        }}

    def build(self, prompt: str, negative_prompt: str):
        check_text("prompt", prompt, MAX_PROMPT_CHARS, required=False)
        check_text("negative_prompt", negative_prompt, MAX_PROMPT_CHARS, required=False)
        return (prompt, negative_prompt)
