"""Kling 3.0 Prompt List: many prompts in one queue press, checked and priced before any is sent.

Its ``prompt`` output is a ComfyUI list (``OUTPUT_IS_LIST``): ComfyUI runs a connected
text-to-video node once per prompt, each run as its own coroutine, so the jobs run at the same
time (at most ``max_parallel`` in flight, core/slots.py). This node runs first, so the batch is
refused here, whole, when a limit or a budget would be broken (core/batch.py); for that it reads
the text-to-video nodes it feeds from the queued graph (ComfyUI's hidden ``PROMPT`` input).
"""
from __future__ import annotations

import logging
import os

from ..core.api.settings import BASE_URL_ENV, DEFAULT_BASE_URL, check_base_url
from ..core.batch import MAX_PROMPTS, BatchJob, check_budget, check_prompts, estimate_batch, parse_prompts
from ..core.errors import RunComfyError
from ..core.kling.request import MAX_PROMPT_CHARS, TextToVideoRequest
from .comfy_bridge import prompt_server, state_folder
from .prompt_node import CATEGORY

log = logging.getLogger("runcomfy_kling3")

TEXT_TO_VIDEO = "RunComfyKling3TextToVideo"
_BODY_INPUTS = ("duration", "aspect_ratio", "cfg_scale", "sound", "seed")


class Kling3PromptListNode:
    DESCRIPTION = ("Many Kling 3.0 prompts, one per line (blank lines and lines starting with # are left "
                   "out), with one shared negative prompt. Connect 'prompt' to the text-to-video node's "
                   "prompt: it then makes one video per line, several at a time. The count, each "
                   "prompt's length and the whole batch's estimated cost (against your budgets) are "
                   "checked before anything is sent.")
    CATEGORY = CATEGORY
    FUNCTION = "build"
    RETURN_TYPES = ("STRING", "STRING", "INT")
    RETURN_NAMES = ("prompt", "negative_prompt", "count")
    OUTPUT_IS_LIST = (True, False, False)
    OUTPUT_TOOLTIPS = ("The prompts, as a list: a connected node runs once per prompt.",
                       "The shared negative prompt (may be empty).",
                       "How many prompts the list holds.")

    @classmethod
    def INPUT_TYPES(cls):
        return {
            "required": {
                "prompts": ("STRING", {"multiline": True, "default": "",
                                       "tooltip": f"One prompt per line (at most {MAX_PROMPTS}, each at most "
                                                  f"{MAX_PROMPT_CHARS} characters). Blank lines and lines "
                                                  "starting with # are left out."}),
                "negative_prompt": ("STRING", {"multiline": True, "default": "",
                                               "tooltip": "What to keep out of every video (optional, shared)."}),
            },
            "hidden": {"graph": "PROMPT", "unique_id": "UNIQUE_ID"},
        }

    def build(self, prompts, negative_prompt="", graph=None, unique_id=None):
        lines = parse_prompts(prompts)
        check_prompts(lines, negative_prompt)
        jobs = batch_jobs(graph, unique_id, negative_prompt)
        state = state_folder()
        batch = estimate_batch(lines, jobs, state, _api_base())
        check_budget(batch, state)
        show_text(unique_id, batch.summary())
        return {"ui": {"text": [batch.summary()]}, "result": (lines, negative_prompt, len(lines))}


def batch_jobs(graph, list_id, negative_prompt: str = "") -> list[BatchJob]:
    """What each text-to-video node downstream of the list will do per prompt (by the queued
    graph; a node reached through other nodes counts at its dearest, never as known)."""
    if not isinstance(graph, dict) or list_id is None:
        return []
    list_id = str(list_id)
    jobs, seen, frontier = [], {list_id}, [list_id]
    while frontier:
        source = frontier.pop()
        for node_id, node in graph.items():
            inputs = node.get("inputs", {}) if isinstance(node, dict) else {}
            if str(node_id) in seen or not any(_link_from(v, source) for v in inputs.values()):
                continue
            seen.add(str(node_id))
            frontier.append(str(node_id))
            if node.get("class_type") == TEXT_TO_VIDEO:
                fed = _link_from(inputs.get("prompt"), list_id, 0)
                jobs.append(_job(inputs, list_id if fed else None, negative_prompt))
    return jobs


def _job(inputs: dict, list_id: str | None, negative_prompt: str) -> BatchJob:
    duration, sound = inputs.get("duration"), inputs.get("sound")
    duration = duration if isinstance(duration, int) and not isinstance(duration, bool) else None
    sound = sound if isinstance(sound, bool) else None
    negative = inputs.get("negative_prompt", "")
    if list_id is not None and _link_from(negative, list_id, 1):
        negative = negative_prompt  # the list's own shared negative prompt
    known = (list_id is not None and "multi_prompt" not in inputs and isinstance(negative, str)
             and all(not isinstance(inputs.get(name), list) and name in inputs for name in _BODY_INPUTS))
    body = None
    if known:
        try:
            body = TextToVideoRequest(prompt="-", negative_prompt=negative, duration=duration,
                                      aspect_ratio=inputs["aspect_ratio"], cfg_scale=inputs["cfg_scale"],
                                      sound=sound).to_body()
            body.pop("prompt")
        except (RunComfyError, TypeError):
            body = None  # the text-to-video node reports its own input errors
    return BatchJob(duration, sound, inputs.get("seed"), body)


def _link_from(value, source: str, slot: int | None = None) -> bool:
    return (isinstance(value, list) and len(value) == 2 and str(value[0]) == source
            and (slot is None or value[1] == slot))


def _api_base() -> str | None:
    try:  # the address only (part of a job's fingerprint): no token is needed here
        return check_base_url(os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL)
    except RunComfyError:
        return None


def show_text(node_id, text: str) -> None:
    """The count and estimate under the node (ComfyUI's own progress text)."""
    server = prompt_server()
    if server is None or node_id is None:
        return
    try:
        server.send_progress_text(text, str(node_id), getattr(server, "client_id", None))
    except Exception as exc:  # a display must never fail the batch
        log.debug("RunComfy: could not show the prompt list's summary: %s", exc)
