"""Which frames of a clip go to the output, and at what size (VideoHelperSuite's meanings)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InvalidInputError


@dataclass(frozen=True)
class FrameSelection:
    """Which frames, at what size. Meanings follow VideoHelperSuite's Load Video nodes."""

    frame_load_cap: int = 0        # at most this many frames; 0 = all
    skip_first_frames: int = 0     # leave out this many frames at the start
    select_every_nth: int = 1      # keep one frame in every n
    custom_width: int = 0          # 0 = keep; only one set: the other follows the aspect ratio
    custom_height: int = 0         # both set: scale to cover, then centre crop to exactly W x H

    def validate(self) -> "FrameSelection":
        for name in ("frame_load_cap", "skip_first_frames", "custom_width", "custom_height"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
                raise InvalidInputError(name, "must be a whole number >= 0", value,
                                        hint="Fix the frame options and run again")
        nth = self.select_every_nth
        if isinstance(nth, bool) or not isinstance(nth, (int, np.integer)) or nth < 1:
            raise InvalidInputError("select_every_nth", "must be a whole number >= 1", nth,
                                    hint="Fix the frame options and run again")
        return self


def output_size(width: int, height: int, selection: FrameSelection) -> tuple[int, int]:
    """(width, height) of the output frames."""
    cw, ch = selection.custom_width, selection.custom_height
    if cw and ch:
        return cw, ch
    if cw:
        return cw, max(1, round(height * cw / width))
    if ch:
        return max(1, round(width * ch / height)), ch
    return width, height


def cover_crop(width: int, height: int, out_w: int, out_h: int) -> tuple[int, int, int, int]:
    """(x, y, w, h) of the centred source region with the output's aspect ratio: scaling it
    to the output size is "scale to cover, then centre crop"."""
    if out_w * height > width * out_h:        # output is wider: keep the width
        crop_h = min(height, max(1, round(width * out_h / out_w)))
        return 0, (height - crop_h) // 2, width, crop_h
    crop_w = min(width, max(1, round(height * out_w / out_h)))
    return (width - crop_w) // 2, 0, crop_w, height


def selected_count(frame_count: int, selection: FrameSelection) -> int:
    available = max(0, frame_count - selection.skip_first_frames)
    count = -(-available // selection.select_every_nth)
    if selection.frame_load_cap:
        count = min(count, selection.frame_load_cap)
    return count
