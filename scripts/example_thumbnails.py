"""Make the template browser's thumbnails of the example workflows (example_workflows/<name>.jpg)
from realistic sandbox clips of each example's own prompts: what running it produces.

    python scripts/example_thumbnails.py

JPEGs of the video's shape, 512 px on the long side: the three-shot story shows one frame of
each shot, the frames-and-sound example a strip of frames going on to other nodes, the
offline walkthrough its frame marked as the sandbox's.
"""
from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import av
from PIL import Image, ImageDraw, ImageOps

PACK = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PACK.parent))
EXAMPLES = PACK / "example_workflows"
SIZE = 512


def load_video_maker():
    import importlib
    return importlib.import_module(f"{PACK.name}.sandbox.video_maker")


def frames_at(path: Path, seconds: list[float]) -> list[Image.Image]:
    wanted, found = sorted(seconds), []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            if wanted and frame.time is not None and frame.time >= wanted[0]:
                found.append(frame.to_image())
                wanted.pop(0)
            if not wanted:
                break
    return found


def widgets(name: str, node_type: str) -> list[list]:
    workflow = json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))
    return [node["widgets_values"] for node in workflow["nodes"] if node["type"] == node_type]


def clip(maker, folder: Path, name: str, **options) -> Path:
    return maker.make_clip(folder / f"{name}.mp4", footage="realistic", resolution_scale=0.5, **options)


def shape(aspect_ratio: str) -> tuple[int, int]:
    w, h = map(int, aspect_ratio.split(":"))
    return (SIZE, round(SIZE * h / w)) if w >= h else (round(SIZE * w / h), SIZE)


def whole(image: Image.Image, aspect_ratio: str = "16:9") -> Image.Image:
    return ImageOps.fit(image, shape(aspect_ratio), Image.LANCZOS)


def tile(images: list[Image.Image], vertical: bool = False, aspect_ratio: str = "16:9") -> Image.Image:
    """The images side by side (or stacked), each cropped to its share of the picture."""
    width, height = shape(aspect_ratio)
    card = Image.new("RGB", (width, height), (18, 18, 20))
    count, gap = len(images), 4
    share = ((height if vertical else width) - gap * (count - 1)) // count
    for i, image in enumerate(images):
        box = (width, share) if vertical else (share, height)
        part = ImageOps.fit(image, box, Image.LANCZOS)
        card.paste(part, (0, i * (share + gap)) if vertical else (i * (share + gap), 0))
    return card


def label(card: Image.Image, text: str) -> Image.Image:
    draw = ImageDraw.Draw(card)
    font = load_font(22 if card.size[0] < SIZE else 26)
    width = draw.textlength(text, font=font)
    bottom = card.size[1]
    draw.rounded_rectangle((12, bottom - 52, 28 + width, bottom - 12), radius=8, fill=(20, 20, 24))
    draw.text((20, bottom - 47), text, fill=(240, 240, 240), font=font)
    return card


def load_font(size: int):
    from importlib import import_module
    return import_module(f"{PACK.name}.sandbox.frame_text").font(size)


def main() -> None:
    maker = load_video_maker()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        single = widgets("kling3_single_shot_with_sound", "RunComfyKling3TextToVideo")[0]
        path = clip(maker, folder, "single", duration=5, aspect_ratio="16:9", prompt=single[0])
        cards = {"kling3_single_shot_with_sound": label(whole(frames_at(path, [2.5])[0]), "5 s \u00b7 with sound")}

        shots = [(values[0], values[1]) for values in widgets("kling3_three_shot_story", "RunComfyKling3MultiPromptSegment")]
        path = clip(maker, folder, "story", duration=sum(s for _, s in shots), aspect_ratio="16:9", shots=shots)
        starts = [sum(s for _, s in shots[:i]) + shots[i][1] / 2 for i in range(len(shots))]
        cards["kling3_three_shot_story"] = label(tile(frames_at(path, starts), vertical=True), "3 shots \u00b7 12 s")

        onward = widgets("kling3_frames_and_sound_onward", "RunComfyKling3TextToVideo")[0]
        path = clip(maker, folder, "onward", duration=5, aspect_ratio="9:16", prompt=onward[0])
        cards["kling3_frames_and_sound_onward"] = label(tile(frames_at(path, [0.5, 2.0, 3.5]), vertical=True,
                                                             aspect_ratio="9:16"), "frames + audio")

        offline = widgets("kling3_offline_sandbox_walkthrough", "RunComfyKling3TextToVideo")[0]
        path = clip(maker, folder, "offline", duration=5, aspect_ratio="16:9", prompt=offline[0])
        cards["kling3_offline_sandbox_walkthrough"] = label(tile(frames_at(path, [4.0])), "offline sandbox \u00b7 $0")
        for name, card in cards.items():
            card.save(EXAMPLES / f"{name}.jpg", quality=86)
            print(f"wrote example_workflows/{name}.jpg")


if __name__ == "__main__":
    main()
