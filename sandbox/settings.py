"""Knobs that shape how sandbox jobs behave; tests and the admin route change them at run time.

A job copies the settings when it is submitted, so changing them never rewrites the timeline
of a job already running.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

JOB_OUTCOMES = ("completed", "failed")
DEFAULT_FAILURE_ERROR = "Video generation failed (sandbox job_outcome=failed)"


@dataclass
class SandboxSettings:
    queue_seconds: float = 1.0
    run_seconds: float = 3.0
    #: queue_position shown right after submit; it counts down to 0 over queue_seconds
    queue_position_start: int = 3
    job_outcome: str = "completed"
    #: the ``error`` field of a failed job: a string or a JSON object, as real clients saw both
    failure_error: Any = DEFAULT_FAILURE_ERROR
    resolution_scale: float = 1.0
    #: seconds a finished result stays available; None = forever
    result_ttl_seconds: float | None = None

    def __setattr__(self, name: str, value: Any) -> None:
        # a typo such as ``settings.run_second = 0`` must fail loudly, not be ignored
        if name not in {f.name for f in dataclasses.fields(self)}:
            raise AttributeError(f"sandbox settings: unknown setting {name!r}")
        object.__setattr__(self, name, _checked(name, value))

    def update(self, patch: dict) -> None:
        if not isinstance(patch, dict):
            raise ValueError(f"settings patch: must be a JSON object (got {type(patch).__name__})")
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
    if name == "result_ttl_seconds":
        return None if value is None else _number(name, value)
    if name == "queue_position_start":
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"sandbox setting {name}: must be an integer >= 0 (got {value!r})")
        return value
    if name == "job_outcome":
        if value not in JOB_OUTCOMES:
            raise ValueError(f"sandbox setting {name}: must be one of {JOB_OUTCOMES} (got {value!r})")
        return value
    if name == "failure_error":
        if not isinstance(value, (str, dict)):
            raise ValueError(f"sandbox setting {name}: must be a string or an object (got {value!r})")
        return value
    return value
