"""Knobs that shape how sandbox jobs behave; tests and the admin route change them at run time.

A job copies the settings when it is submitted, so changing them never rewrites the timeline
of a job already running. ``file_bytes_per_second`` is the exception: the file host reads it
at every request, so a download can be slowed down while it runs.
"""
from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from typing import Any

from .media_names import CRAFTED_MEDIA

JOB_OUTCOMES = ("completed", "failed")
DEFAULT_FAILURE_ERROR = "Video generation failed (sandbox job_outcome=failed)"
#: where a failed (or cancelled) job's reason goes: RunComfy's own nodes read it from the result
ERROR_PLACES = ("result", "status", "both")
#: "alternate" answers the spellings some clients accept: succeeded, canceled
STATUS_SPELLINGS = ("documented", "alternate")
#: "clip" = the job's own generated clip; the others are crafted files (sandbox/crafted_media.py)
MEDIA = ("clip",) + CRAFTED_MEDIA
FOOTAGE = ("light", "realistic")
MOOV_POSITIONS = ("first", "last")
REDIRECT_STATUSES = (301, 302, 303, 307, 308)
#: settings that are a string or None (None = the normal answer)
_OPTIONAL_TEXT = ("video_url", "file_redirect", "submit_request_id", "result_request_id")
_CHOICES = {"job_outcome": JOB_OUTCOMES, "failure_error_in": ERROR_PLACES,
            "status_spelling": STATUS_SPELLINGS, "media": MEDIA, "footage": FOOTAGE,
            "moov_position": MOOV_POSITIONS, "file_redirect_status": REDIRECT_STATUSES}


@dataclass
class SandboxSettings:
    queue_seconds: float = 1.0
    run_seconds: float = 3.0
    #: queue_position shown right after submit; it counts down to 0 over queue_seconds
    queue_position_start: int = 3
    job_outcome: str = "completed"
    #: the ``error`` of a failed job: a string, an object, or any JSON value (None: no ``error``)
    failure_error: Any = DEFAULT_FAILURE_ERROR
    #: which answers of a failed/cancelled job carry ``error``: "result", "status" or "both"
    failure_error_in: str = "result"
    #: the ``error`` of a cancelled job (None: no reason, as the documented API)
    cancel_error: Any = None
    status_spelling: str = "documented"
    resolution_scale: float = 1.0
    #: seconds a finished result stays available; None = forever
    result_ttl_seconds: float | None = None
    # --- hostile answers (None = the normal answer) ---
    #: ``output.video`` of the result, verbatim; ``{file_url}``, ``{files_base}`` and
    #: ``{request_id}`` are replaced by the job's real values
    video_url: str | None = None
    #: the file host answers the job's file URL with a redirect to this Location
    file_redirect: str | None = None
    file_redirect_status: int = 302
    #: ``request_id`` of the submit answer (its status/result/cancel URLs are built from it)
    submit_request_id: str | None = None
    #: ``request_id`` field of the result answer
    result_request_id: str | None = None
    # --- the result file ---
    media: str = "clip"
    #: "light": flat shot colours (fast, small); "realistic": texture, motion and grain at a
    #: bitrate like Kling's 1080p output (~2 MB per second)
    footage: str = "light"
    #: where the mp4 index (moov atom) sits: "first" (faststart) or "last"
    moov_position: str = "first"
    #: the file host's send rate; None = as fast as it can
    file_bytes_per_second: float | None = None

    def __setattr__(self, name: str, value: Any) -> None:
        # a typo such as ``settings.run_second = 0`` must fail loudly, not be ignored
        if name not in {f.name for f in dataclasses.fields(self)}:
            raise AttributeError(f"sandbox settings: unknown setting {name!r}")
        object.__setattr__(self, name, _checked(name, value))

    def update(self, patch: dict) -> None:
        if not isinstance(patch, dict):
            raise ValueError(f"settings patch: must be a JSON object (got {type(patch).__name__})")
        for name in patch:
            if name not in {f.name for f in dataclasses.fields(self)}:
                raise AttributeError(f"sandbox settings: unknown setting {name!r}")
        for name, value in patch.items():
            setattr(self, name, value)

    def snapshot(self) -> "SandboxSettings":
        return dataclasses.replace(self)

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def _number(name: str, value: Any, *, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"sandbox setting {name}: must be a number (got {value!r})")
    if value < 0 or (positive and value == 0):
        raise ValueError(f"sandbox setting {name}: must be {'> 0' if positive else '>= 0'} "
                         f"(got {value!r})")
    return float(value)


def _checked(name: str, value: Any) -> Any:
    if name in ("queue_seconds", "run_seconds"):
        return _number(name, value)
    if name == "resolution_scale":
        return _number(name, value, positive=True)
    if name in ("result_ttl_seconds", "file_bytes_per_second"):
        return None if value is None else _number(name, value, positive=name != "result_ttl_seconds")
    if name == "queue_position_start":
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"sandbox setting {name}: must be an integer >= 0 (got {value!r})")
        return value
    if name in _CHOICES:
        if isinstance(value, bool) or value not in _CHOICES[name]:
            raise ValueError(f"sandbox setting {name}: must be one of {_CHOICES[name]} "
                             f"(got {value!r})")
        return value
    if name in ("failure_error", "cancel_error"):
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError):
            raise ValueError(f"sandbox setting {name}: must be a JSON value such as a string or "
                             f"an object (got {value!r})") from None
        return value
    if name in _OPTIONAL_TEXT:
        if value is not None and not isinstance(value, str):
            raise ValueError(f"sandbox setting {name}: must be a string or None (got {value!r})")
        return value
    return value
