"""Text on sandbox frames: fonts, the layout of the shot label and timecode, word wrap."""
from __future__ import annotations

from PIL import ImageFont

_font_cache: dict[int, ImageFont.ImageFont] = {}


def font(size: int) -> ImageFont.ImageFont:
    size = max(6, int(size))
    if size not in _font_cache:
        try:
            _font_cache[size] = ImageFont.truetype("DejaVuSans.ttf", size)
        except OSError:
            # Pillow >= 10.1 ships a scalable default font
            _font_cache[size] = ImageFont.load_default(size=size)
    return _font_cache[size]


def text_color(background: tuple[int, int, int]) -> tuple[int, int, int]:
    luma = 0.299 * background[0] + 0.587 * background[1] + 0.114 * background[2]
    return (0, 0, 0) if luma > 140 else (255, 255, 255)


def timecode_label(frame_index: int, fps: int) -> str:
    minutes, secs = divmod(frame_index / fps, 60)
    return f"t={int(minutes):02d}:{secs:05.2f} frame {frame_index}"


class Layout:
    """Where text goes. The margin keeps every corner's 16x16 macroblock free of text, so a
    corner pixel is the pure shot colour."""

    def __init__(self, width: int, height: int):
        short = min(width, height)
        self.margin = max(16, int(short * 0.08)) // 2 * 2
        self.title_size = max(6, int(short * 0.09))
        self.body_size = max(6, int(short * 0.045))
        self.time_size = max(6, int(short * 0.06))
        self.width, self.height = width, height
        # the timecode strip sits at the bottom, inside the margins; even offsets and sizes keep
        # it aligned to chroma pixels
        self.time_h = (int(self.time_size * 1.4) + 1) // 2 * 2
        self.time_w = (width - 2 * self.margin) // 2 * 2
        self.time_y = (height - self.margin - self.time_h) // 2 * 2
        self.time_x = self.margin

    def prompt_lines(self, prompt: str, top: int, max_lines: int) -> list[str]:
        """The prompt wrapped to the frame, as many lines as fit above the timecode."""
        room = max(1, (self.time_y - top) // int(self.body_size * 1.3))
        return wrap(" ".join(prompt.split()) or "(no prompt)", font(self.body_size),
                    self.width - 2 * self.margin, min(max_lines, room))


def wrap(text: str, font_, max_width: float, max_lines: int) -> list[str]:
    """Greedy word wrap by measured width; the last line ends in an ellipsis when cut short."""
    lines: list[str] = []
    current = ""
    for word in text.split(" "):
        candidate = f"{current} {word}" if current else word
        if font_.getlength(candidate) <= max_width or not current:
            current = candidate
            continue
        lines.append(current)
        current = word
        if len(lines) == max_lines:
            break
    else:
        lines.append(current)
    lines = lines[:max_lines]
    truncated = sum(len(line) + 1 for line in lines) < len(text) + 1
    if truncated:
        last = lines[-1]
        while last and font_.getlength(last + "…") > max_width:
            last = last[:-1]
        lines[-1] = last.rstrip() + "…"
    # a single word wider than the frame: cut it by characters
    return [line if font_.getlength(line) <= max_width else _cut(line, font_, max_width)
            for line in lines]


def _cut(line: str, font_, max_width: float) -> str:
    while len(line) > 1 and font_.getlength(line + "…") > max_width:
        line = line[:-1]
    return line + "…"
