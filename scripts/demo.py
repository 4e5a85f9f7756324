"""The main job end to end on the built-in sandbox (no API key, no credits):

a three-shot Kling 3.0 Pro text-to-video request -> submit -> wait -> download the mp4 ->
decode frames and sound -> write the mp4, a labelled contact sheet (one frame per second) and a
WAV, printing shapes, fps and timings.

    python scripts/demo.py --out demo-output          # starts its own sandbox
    RUNCOMFY_API_BASE=... RUNCOMFY_API_TOKEN=... python scripts/demo.py --use-env   # any API
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time
import wave
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# the core is a plain package: no ComfyUI, no torch
from core.api.settings import ApiSettings, load_settings  # noqa: E402
from core.kling.request import Segment, TextToVideoRequest  # noqa: E402
from core.media.selection import FrameSelection  # noqa: E402
from core.pipeline import Pipeline  # noqa: E402
from core.status import Phase, Progress  # noqa: E402
from core.store.folder import StateFolder  # noqa: E402

STORY = TextToVideoRequest(
    prompt="A lighthouse keeper's day on a rocky island, cinematic, 35 mm film look",
    negative_prompt="blurry, low quality",
    duration=9, aspect_ratio="16:9", cfg_scale=0.5, sound=True,
    segments=(Segment("Dawn: wide shot of the lighthouse against a pink sky, gulls circling", 3),
              Segment("Noon: close-up of the keeper polishing the great lens, sunlight flaring", 3),
              Segment("Dusk: the beam sweeps over a stormy sea as waves crash on the rocks", 3)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="demo-output", help="folder for the mp4, contact sheet and WAV")
    parser.add_argument("--use-env", action="store_true",
                        help="talk to RUNCOMFY_API_BASE with RUNCOMFY_API_TOKEN instead of a built-in sandbox")
    parser.add_argument("--resolution-scale", type=float, default=1.0,
                        help="sandbox only: scale of the 1080p output (1.0 = like the real API)")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    sandbox = None
    if args.use_env:
        settings = load_settings()
    else:
        from sandbox import DEFAULT_TOKEN, Sandbox
        sandbox = Sandbox(queue_seconds=1.0, run_seconds=2.0, resolution_scale=args.resolution_scale)
        sandbox.start()
        print(f"sandbox API at {sandbox.api_base} (files at {sandbox.files_base})")
        settings = ApiSettings(base_url=sandbox.api_base, token=DEFAULT_TOKEN)
    try:
        return run(settings, out)
    finally:
        if sandbox is not None:
            sandbox.stop()


def run(settings: ApiSettings, out: Path) -> int:
    body = STORY.to_body()
    print(f"request: {len(STORY.segments)} shots, {STORY.duration} s, {STORY.aspect_ratio}, sound={STORY.sound}, "
          f"estimated cost USD {STORY.estimated_cost_usd():.2f}")
    progress = Progress()
    seen: dict = {"state": None, "decoding_at": None}

    def show():
        state = (progress.phase, progress.queue_position)
        if state != seen["state"]:
            seen["state"] = state
            if progress.phase == Phase.DECODING and seen["decoding_at"] is None:
                seen["decoding_at"] = time.perf_counter()
            where = f" (position {progress.queue_position})" if progress.queue_position is not None else ""
            print(f"  {progress.phase}{where}  request {progress.request_id or '-'}")

    stop = threading.Event()

    def watch():
        while not stop.wait(0.05):
            show()
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    began = time.perf_counter()
    # a state folder of its own: the journal and result cache of this run only
    with tempfile.TemporaryDirectory(prefix="kling3-demo-") as state:
        pipeline = Pipeline(StateFolder(state), poll_interval=0.5)
        try:
            result = pipeline.generate(STORY, FrameSelection(), settings, seed=time.time_ns(), progress=progress)
        finally:
            stop.set()
            watcher.join()
        finished = time.perf_counter()
        show()
        mp4 = out / "kling3_story.mp4"
        shutil.copyfile(result.video.path, mp4)
    frames, audio = result.clip.frames, result.clip.audio
    decode_began = seen["decoding_at"] or finished
    print(f"submitted {sorted(body)}; request id {result.video.request_id}")
    print(f"job + download: {decode_began - began:.1f} s -> {mp4} ({mp4.stat().st_size / 1e6:.1f} MB)")
    print(f"frames: {frames.frames.shape} {frames.frames.dtype}, fps {frames.fps:g}, "
          f"{frames.frames.nbytes / 2**30:.2f} GiB; frames and sound decoded in {finished - decode_began:.2f} s")
    print(f"sound:  {audio.samples.shape} {audio.samples.dtype} at {audio.sample_rate} Hz"
          f"{' (silent fill)' if audio.is_silent_fill else ''}")

    sheet = out / "contact_sheet.png"
    write_contact_sheet(frames.frames, frames.fps, sheet)
    wav = out / "kling3_story.wav"
    write_wav(audio.samples, audio.sample_rate, wav)
    print(f"wrote {sheet} and {wav}")
    return 0


def write_contact_sheet(frames: np.ndarray, fps: float, path: Path, thumb_width: int = 320) -> None:
    """One labelled thumbnail per second of video."""
    indexes = list(range(0, frames.shape[0], max(1, round(fps))))
    height, width = frames.shape[1:3]
    thumb_height = max(1, round(thumb_width * height / width))
    columns = min(5, len(indexes))
    rows = (len(indexes) + columns - 1) // columns
    label_h = 18
    sheet = Image.new("RGB", (columns * thumb_width, rows * (thumb_height + label_h)), "black")
    draw = ImageDraw.Draw(sheet)
    for n, index in enumerate(indexes):
        pixels = (frames[index] * 255.0 + 0.5).astype(np.uint8)
        thumb = Image.fromarray(pixels).resize((thumb_width, thumb_height), Image.BILINEAR)
        x, y = (n % columns) * thumb_width, (n // columns) * (thumb_height + label_h)
        sheet.paste(thumb, (x, y + label_h))
        draw.text((x + 4, y + 3), f"t={index / fps:.0f}s  frame {index}", fill="white")
    sheet.save(path)


def write_wav(samples: np.ndarray, rate: int, path: Path) -> None:
    pcm = (np.clip(samples.T, -1.0, 1.0) * 32767.0).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(samples.shape[0])
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.tobytes())


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
