"""Kling 3.0 Pro text-to-video: the request model, its validation and its JSON body.

Everything the API would reject is rejected here first, with the field, the rule and the value,
so no credit is spent on a request that cannot succeed.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..errors import InvalidInputError
from .pricing import estimate_usd

MODEL_ID = "kling/kling-3.0/pro/text-to-video"
ASPECT_RATIOS = ("16:9", "9:16", "1:1")
MIN_DURATION_S, MAX_DURATION_S, DEFAULT_DURATION_S = 3, 15, 5
MAX_PROMPT_CHARS = 2500          # reported by other providers of Kling 3.0
MAX_SEGMENT_PROMPT_CHARS = 512   # the upstream Kling API's limit for one shot
MAX_SEGMENTS = 20                # schema maxItems (3..15 s per shot and 15 s in all allow 5)
SHOT_TYPE = "customize"
#: output size per aspect ratio, as reported by other providers; the frame rate is not documented,
#: 24 fps is what Kling produces in practice (the decoder reads the real one from the file)
OUTPUT_SIZES = {"16:9": (1920, 1080), "9:16": (1080, 1920), "1:1": (1440, 1440)}
EXPECTED_FPS = 24


@dataclass(frozen=True)
class Segment:
    """One shot of a multi-shot video."""

    prompt: str
    duration: int = DEFAULT_DURATION_S

    def to_json(self) -> dict:
        return {"prompt": self.prompt.strip(), "duration": int(self.duration)}


@dataclass(frozen=True)
class TextToVideoRequest:
    prompt: str
    negative_prompt: str = ""
    duration: int = DEFAULT_DURATION_S
    aspect_ratio: str = "16:9"
    cfg_scale: float = 0.5
    sound: bool = True
    segments: tuple[Segment, ...] = field(default_factory=tuple)

    def validate(self) -> "TextToVideoRequest":
        """Raise ``InvalidInputError`` for the first broken rule; return self when all hold."""
        check_text("prompt", self.prompt, MAX_PROMPT_CHARS, required=True)
        check_text("negative_prompt", self.negative_prompt, MAX_PROMPT_CHARS, required=False)
        check_duration("duration", self.duration)
        if self.aspect_ratio not in ASPECT_RATIOS:
            raise InvalidInputError("aspect_ratio", f"must be one of {', '.join(ASPECT_RATIOS)}", self.aspect_ratio)
        if (isinstance(self.cfg_scale, bool) or not isinstance(self.cfg_scale, (int, float))
                or not math.isfinite(self.cfg_scale) or not 0.0 <= self.cfg_scale <= 1.0):
            raise InvalidInputError("cfg_scale", "must be a number from 0 to 1", self.cfg_scale)
        if not isinstance(self.sound, bool):
            raise InvalidInputError("sound", "must be true or false", self.sound)
        check_segments(self.segments, self.duration)
        return self

    def to_body(self) -> dict:
        """Exactly the documented JSON: no empty or unknown fields."""
        self.validate()
        body: dict = {
            "prompt": self.prompt.strip(),
            "duration": int(self.duration),
            "aspect_ratio": self.aspect_ratio,
            "cfg_scale": round(float(self.cfg_scale), 4),
            "sound": bool(self.sound),
        }
        if self.negative_prompt.strip():
            body["negative_prompt"] = self.negative_prompt.strip()
        if self.segments:
            body["multi_prompt"] = [s.to_json() for s in self.segments]
            body["shot_type"] = SHOT_TYPE
        return body

    def estimated_cost_usd(self, prices: dict | None = None) -> float:
        """By the price table (``pricing.PricingCache.get``; the published prices by default)."""
        return estimate_usd(self.duration, self.sound, prices)


def check_text(field_name: str, value: object, max_chars: int, *, required: bool) -> None:
    if not isinstance(value, str):
        raise InvalidInputError(field_name, "must be text", value)
    if required and not value.strip():
        raise InvalidInputError(field_name, "must not be blank: describe the scene, motion, camera and mood", value)
    if len(value.strip()) > max_chars:
        raise InvalidInputError(field_name, f"must be at most {max_chars} characters, this one has "
                                f"{len(value.strip())}", value)


def check_duration(field_name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not MIN_DURATION_S <= value <= MAX_DURATION_S:
        raise InvalidInputError(field_name, f"must be a whole number of seconds from {MIN_DURATION_S} "
                                f"to {MAX_DURATION_S}", value)


def check_segments(segments: tuple[Segment, ...] | list[Segment], duration: int) -> None:
    if not segments:
        return
    if len(segments) > MAX_SEGMENTS:
        raise InvalidInputError("multi_prompt", f"at most {MAX_SEGMENTS} segments are allowed, "
                                f"{len(segments)} are connected", len(segments))
    for index, segment in enumerate(segments, start=1):
        check_text(f"multi_prompt segment {index} prompt", segment.prompt, MAX_SEGMENT_PROMPT_CHARS, required=True)
        check_duration(f"multi_prompt segment {index} duration", segment.duration)
    durations = [s.duration for s in segments]
    total = sum(durations)
    if total != duration:
        fit = duration // MIN_DURATION_S
        rule = (f"segment durations must add up to duration: "
                f"{' + '.join(str(d) for d in durations)} = {total} s, but duration is {duration} s")
        if len(segments) > fit:
            rule += f" (at most {fit} segments of at least {MIN_DURATION_S} s fit in {duration} s)"
        raise InvalidInputError("multi_prompt", rule, durations,
                                hint=f"Change the segment durations or set duration to {total}"
                                + ("" if MIN_DURATION_S <= total <= MAX_DURATION_S else
                                   f" (which must stay within {MIN_DURATION_S}..{MAX_DURATION_S})")
                                + "; nothing was submitted")
