"""The documented input schema of kling/kling-3.0/pro/text-to-video, checked strictly.

Unknown fields are rejected (the real API may ignore them, but a client sending junk is a bug
tests should catch). Each problem becomes ``{"field": ..., "message": ...}`` in a 422 answer.
"""
from __future__ import annotations

import math
from typing import Any

MODEL_ID = "kling/kling-3.0/pro/text-to-video"
FIELDS = ("prompt", "negative_prompt", "duration", "aspect_ratio", "cfg_scale", "sound",
          "multi_prompt", "shot_type")
SEGMENT_FIELDS = ("prompt", "duration")
ASPECT_RATIOS = ("16:9", "9:16", "1:1")
SHOT_TYPES = ("customize",)
DEFAULT_DURATION = 5
DEFAULT_ASPECT_RATIO = "16:9"
DEFAULT_SOUND = True
MIN_DURATION, MAX_DURATION = 3, 15
MAX_PROMPT_CHARS = 2500
MAX_SEGMENT_PROMPT_CHARS = 512
MAX_SEGMENTS = 20


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_prompt(field: str, value: Any, limit: int, problems: list) -> None:
    if not isinstance(value, str):
        problems.append({"field": field, "message": f"must be a string (got {_shown(value)})"})
    elif not value.strip():
        problems.append({"field": field, "message": "must not be blank"})
    elif len(value) > limit:
        problems.append({"field": field,
                         "message": f"must be at most {limit} characters (got {len(value)})"})


def _check_duration(field: str, value: Any, problems: list) -> bool:
    if not _is_int(value) or not MIN_DURATION <= value <= MAX_DURATION:
        problems.append({"field": field, "message": f"must be an integer from {MIN_DURATION} to "
                                                    f"{MAX_DURATION} (got {_shown(value)})"})
        return False
    return True


def validate_input(body: Any) -> list[dict]:
    """Every problem with a submit body; an empty list means it is valid."""
    if not isinstance(body, dict):
        return [{"field": "body", "message": f"must be a JSON object (got {type(body).__name__})"}]
    problems: list[dict] = []
    for name in body:
        if name not in FIELDS:
            problems.append({"field": str(name), "message": "unknown field; allowed fields are "
                                                            + ", ".join(FIELDS)})
    if "prompt" not in body:
        problems.append({"field": "prompt", "message": "is required"})
    else:
        _check_prompt("prompt", body["prompt"], MAX_PROMPT_CHARS, problems)

    if "negative_prompt" in body:
        value = body["negative_prompt"]
        if not isinstance(value, str):
            problems.append({"field": "negative_prompt",
                             "message": f"must be a string (got {_shown(value)})"})
        elif len(value) > MAX_PROMPT_CHARS:
            problems.append({"field": "negative_prompt", "message": f"must be at most "
                             f"{MAX_PROMPT_CHARS} characters (got {len(value)})"})

    duration_ok = True
    if "duration" in body:
        duration_ok = _check_duration("duration", body["duration"], problems)

    if "aspect_ratio" in body and body["aspect_ratio"] not in ASPECT_RATIOS:
        problems.append({"field": "aspect_ratio", "message": f"must be one of "
                         f"{', '.join(ASPECT_RATIOS)} (got {_shown(body['aspect_ratio'])})"})

    if "cfg_scale" in body:
        value = body["cfg_scale"]
        if (isinstance(value, bool) or not isinstance(value, (int, float))
                or not math.isfinite(value) or not 0 <= value <= 1):
            problems.append({"field": "cfg_scale",
                             "message": f"must be a number from 0 to 1 (got {_shown(value)})"})

    if "sound" in body and not isinstance(body["sound"], bool):
        problems.append({"field": "sound",
                         "message": f"must be true or false (got {_shown(body['sound'])})"})

    if "multi_prompt" in body:
        _check_segments(body["multi_prompt"], body.get("duration", DEFAULT_DURATION),
                        duration_ok, problems)

    if "shot_type" in body and body["shot_type"] not in SHOT_TYPES:
        problems.append({"field": "shot_type", "message": f"must be one of "
                         f"{', '.join(SHOT_TYPES)} (got {_shown(body['shot_type'])})"})
    return problems


def _check_segments(segments: Any, total: Any, total_ok: bool, problems: list) -> None:
    if not isinstance(segments, list):
        problems.append({"field": "multi_prompt",
                         "message": f"must be a list of segments (got {_shown(segments)})"})
        return
    if len(segments) > MAX_SEGMENTS:
        problems.append({"field": "multi_prompt", "message": f"must have at most {MAX_SEGMENTS} "
                                                             f"segments (got {len(segments)})"})
        return
    all_ok = True
    for index, segment in enumerate(segments):
        where = f"multi_prompt[{index}]"
        if not isinstance(segment, dict):
            problems.append({"field": where, "message": "must be an object with prompt and "
                                                        f"duration (got {_shown(segment)})"})
            all_ok = False
            continue
        before = len(problems)
        for name in segment:
            if name not in SEGMENT_FIELDS:
                problems.append({"field": f"{where}.{name}",
                                 "message": "unknown field; a segment has prompt and duration"})
        for name in SEGMENT_FIELDS:
            if name not in segment:
                problems.append({"field": f"{where}.{name}", "message": "is required"})
        if "prompt" in segment:
            _check_prompt(f"{where}.prompt", segment["prompt"], MAX_SEGMENT_PROMPT_CHARS, problems)
        if "duration" in segment:
            _check_duration(f"{where}.duration", segment["duration"], problems)
        all_ok = all_ok and len(problems) == before
    # the sum rule is only meaningful once every duration involved is itself valid
    if segments and all_ok and total_ok:
        added = sum(segment["duration"] for segment in segments)
        if added != total:
            problems.append({"field": "multi_prompt", "message": f"segment durations add up to "
                             f"{added} s but must equal duration ({total} s)"})


def shots_of(body: dict) -> list[tuple[str, int]]:
    """(prompt, seconds) of each shot the job's video shows."""
    segments = body.get("multi_prompt") or []
    if segments:
        return [(segment["prompt"], segment["duration"]) for segment in segments]
    return [(body["prompt"], body.get("duration", DEFAULT_DURATION))]
