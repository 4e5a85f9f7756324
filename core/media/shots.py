"""Where each shot of a multi-shot video lies in the decoded output, after the frame options.

A multi-shot request (``multi_prompt``) lists its shots in order with their durations; Kling cuts
the clip at those seconds. A shot spans source frames ``[round(start_s * fps), round(end_s * fps))``
and the last one runs to the clip's real end (a clip a frame longer or shorter than asked changes
only the last shot). The frame options (skip, every nth, cap) then decide which of those frames are
in the IMAGE output: output frame ``j`` is source frame ``skip + j * nth``. A request without
``multi_prompt`` is one shot: the whole clip.

The sound of a shot is the samples of its frames' span: the AUDIO output starts at the first
output frame, so output frame ``j`` starts at ``j / fps`` seconds of it (``fps`` of the output).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import InvalidInputError
from .selection import FrameSelection

SHOTS_TYPE = "RUNCOMFY_KLING3_SHOTS"


@dataclass(frozen=True)
class Shot:
    number: int        # 1 for the first shot
    prompt: str
    start: int         # first output frame of the shot
    end: int           # one past its last output frame (== start: no frame of it is selected)
    seconds: float     # its length as requested

    @property
    def frame_count(self) -> int:
        return self.end - self.start

    def as_dict(self) -> dict:
        return {"shot": self.number, "prompt": self.prompt, "start_frame": self.start, "end_frame": self.end,
                "frames": self.frame_count, "seconds": self.seconds}


@dataclass(frozen=True)
class Shots:
    """The shots of one decoded clip (the text-to-video node's ``shots`` output)."""

    shots: tuple[Shot, ...]
    fps: float            # of the output frames
    frame_count: int      # output frames in all

    def __len__(self) -> int:
        return len(self.shots)

    def __iter__(self):
        return iter(self.shots)

    def __repr__(self) -> str:  # what ComfyUI shows when a value is printed
        listed = ", ".join(f"{s.number}: frames {s.start}-{s.end}" for s in self.shots)
        return f"Shots({listed} at {self.fps:g} fps)"

    def shot(self, number: int) -> Shot:
        """Shot ``number`` (1-based); ``InvalidInputError`` naming the range when out of it, or
        when the frame options left none of its frames."""
        if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= len(self.shots):
            count = len(self.shots)
            raise InvalidInputError("shot", f"must be a shot number from 1 to {count}: this video has "
                                    f"{count} shot{'s' if count != 1 else ''}", number,
                                    hint="A video made without multi_prompt is one shot (shot 1)")
        found = self.shots[number - 1]
        if found.frame_count == 0:
            raise InvalidInputError("shot", f"shot {number} has no frames left after the frame options "
                                    f"(skip_first_frames, select_every_nth, frame_load_cap)", number,
                                    hint="Load the frames of that shot: change the frame options of the video node")
        return found

    def sample_range(self, number: int, sample_rate: int, total_samples: int) -> tuple[int, int]:
        """(first, one past last) sample of shot ``number`` in the AUDIO output."""
        shot = self.shot(number)
        first = _sample(shot.start, self.fps, sample_rate, total_samples)
        last = total_samples if shot.end >= self.frame_count else _sample(shot.end, self.fps, sample_rate,
                                                                         total_samples)
        return first, max(first, last)


def shots_of(body: dict | None, selection: FrameSelection, *, source_fps: float, source_frames: int,
             output_frames: int) -> Shots:
    """The shots of a clip made from request ``body`` (None when unknown: one shot)."""
    nth = max(1, selection.select_every_nth)
    fps = (source_fps or 0.0) / nth
    parts = _parts(body)
    bounds, elapsed = [0], 0.0
    for _, seconds in parts[:-1]:
        elapsed += seconds
        bounds.append(min(source_frames, round(elapsed * source_fps)))
    bounds.append(max(source_frames, bounds[-1]))
    shots = []
    for index, (prompt, seconds) in enumerate(parts):
        start = _output_index(bounds[index], selection.skip_first_frames, nth, output_frames)
        end = output_frames if index == len(parts) - 1 else \
            _output_index(bounds[index + 1], selection.skip_first_frames, nth, output_frames)
        shots.append(Shot(index + 1, prompt, start, max(start, end), seconds))
    return Shots(tuple(shots), fps, output_frames)


def _parts(body: dict | None) -> list[tuple[str, float]]:
    """(prompt, seconds) of each shot, as requested."""
    body = body if isinstance(body, dict) else {}
    segments = body.get("multi_prompt")
    if isinstance(segments, list) and segments and all(isinstance(s, dict) for s in segments):
        return [(str(s.get("prompt") or ""), float(s.get("duration") or 0)) for s in segments]
    duration = body.get("duration")
    return [(str(body.get("prompt") or ""), float(duration) if isinstance(duration, (int, float)) else 0.0)]


def _output_index(source_frame: int, skip: int, nth: int, output_frames: int) -> int:
    """The first output frame at or after ``source_frame``."""
    return max(0, min(output_frames, math.ceil((source_frame - skip) / nth)))


def _sample(frame: int, fps: float, sample_rate: int, total_samples: int) -> int:
    if not fps:
        return 0
    return max(0, min(total_samples, round(frame / fps * sample_rate)))
