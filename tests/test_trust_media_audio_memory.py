"""Trust under attack, tiny files that ask for gigabytes: a 4 KB mp4 whose sound starts 3 or 24
hours in, or a header of 1/3600 fps, years of duration, frames 10 hours apart. Sound is decoded
only for the span of the selected frames into an array of that size; absurd headers are a clear
DecodeError; the memory pre-check counts the sound. Peak memory is measured in a child process
that runs the whole pipeline over HTTP against the sandbox."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from pack_loader import pack_module

audio_mod = pack_module("core.media.audio")
errors = pack_module("core.errors")
memory = pack_module("core.media.memory")
probe = pack_module("core.media.probe")
selection_module = pack_module("core.media.selection")
TESTS_DIR = Path(__file__).resolve().parent
MIB = 1024 ** 2
#: what a crafted file of a few KB may cost on top of the process, far below the GiB they asked for
PEAK_BOUND = 100 * MIB

CHILD = r"""
import json, sys, tracemalloc
from types import SimpleNamespace
try:
    import resource
except ImportError:  # Windows: tracemalloc alone
    resource = None
sys.path.insert(0, sys.argv[1])
from pathlib import Path
from pipeline_helpers import generate, make_pipeline

def rss():
    if resource is None:
        return 0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024

if resource is not None and sys.platform.startswith("linux"):
    # a guard for the machine running the tests: a regression fails here instead of swapping
    resource.setrlimit(resource.RLIMIT_AS, (8 * 1024 ** 3, resource.RLIM_INFINITY))
sandbox = SimpleNamespace(api_base=sys.argv[2])
pipeline = make_pipeline(Path(sys.argv[3]), sandbox)
import cv2, av, numpy  # loaded before measuring: their own size is not the decode's
rss_before = rss()
tracemalloc.start()
out = {}
try:
    result = generate(pipeline, sandbox)
    clip = result.clip
    out.update(frames=clip.frames.frame_count, audio_shape=list(clip.audio.samples.shape),
               audio_rate=clip.audio.sample_rate, silent=not clip.audio.samples.any())
except Exception as exc:
    out.update(error=type(exc).__name__, message=str(exc))
out.update(traced_peak=tracemalloc.get_traced_memory()[1], rss_growth=max(0, rss() - rss_before))
print("RESULT " + json.dumps(out), flush=True)
"""


def run_child(tmp_path, sandbox) -> dict:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    child = subprocess.run([sys.executable, str(script), str(TESTS_DIR), sandbox.api_base, str(tmp_path / "state")],
                           capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    lines = [text for text in child.stdout.splitlines() if text.startswith("RESULT ")]
    assert lines, f"the child crashed (exit {child.returncode}): {child.stderr[-3000:]}"
    return json.loads(lines[-1][len("RESULT "):])


@pytest.mark.parametrize("media", ["audio_starts_3h", "audio_starts_24h"])
def test_sound_starting_hours_in_costs_only_the_span_of_the_frames(tmp_path, sandbox, media):
    sandbox.settings.media = media
    out = run_child(tmp_path, sandbox)
    assert "error" not in out, out
    # 2 s of video: 48 frames and 2 s of sound, silent (the sound starts hours later)
    assert out["frames"] == 48 and out["audio_shape"] == [2, 96000] and out["silent"]
    assert out["traced_peak"] < PEAK_BOUND and out["rss_growth"] < PEAK_BOUND, out


@pytest.mark.parametrize("media, claim", [
    ("fps_1_per_3600", "frame rate"), ("frames_10h_apart", "frame rate"), ("duration_huge", "duration")])
def test_absurd_headers_are_a_clear_decode_error_without_big_allocations(tmp_path, sandbox, media, claim):
    sandbox.settings.media = media
    out = run_child(tmp_path, sandbox)
    assert out.get("error") == "DecodeError", out
    assert "implausible header" in out["message"] and claim in out["message"]
    assert "request id" in out["message"]
    assert out["traced_peak"] < PEAK_BOUND and out["rss_growth"] < PEAK_BOUND, out
    assert len(sandbox.submissions) == 1


def write_clip(path, *, audio_rate=None, audio_codec="aac", seconds=1, container="mp4"):
    """A small clip: 24 fps video, optionally a tone at ``audio_rate``."""
    with av.open(str(path), mode="w", format=container) as out:
        video = out.add_stream("libx264", rate=24)
        video.width, video.height, video.pix_fmt = 64, 36, "yuv420p"
        sound = out.add_stream(audio_codec, rate=audio_rate, layout="mono") if audio_rate else None
        for index in range(24 * seconds):
            frame = av.VideoFrame.from_ndarray(np.zeros((36, 64, 3), np.uint8), format="rgb24")
            frame.pts, frame.time_base = index, Fraction(1, 24)
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        if sound is not None:
            samples = (np.sin(np.arange(audio_rate * seconds) / 3) * 8000).astype(np.int16)[None, :]
            chunk = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
            chunk.sample_rate, chunk.pts, chunk.time_base = audio_rate, 0, Fraction(1, audio_rate)
            out.mux(sound.encode(chunk))
            out.mux(sound.encode(None))
    return path


def test_an_absurd_sample_rate_is_refused(tmp_path):
    path = write_clip(tmp_path / "low.mkv", audio_rate=1000, audio_codec="pcm_s16le", container="matroska")
    with pytest.raises(errors.DecodeError, match="1000 Hz"):
        probe.probe_video(path)
    with pytest.raises(errors.DecodeError, match="1000 Hz"):
        audio_mod.decode_audio(path, start=0.0, end=1.0)


def test_silence_for_a_clip_without_sound_is_bounded_too(tmp_path):
    path = write_clip(tmp_path / "silent.mp4")
    assert audio_mod.decode_audio(path).samples.shape == (2, 48000)
    with pytest.raises(errors.DecodeError, match="implausible"):
        audio_mod.decode_audio(path, duration=24 * 3600.0)


def test_a_span_deep_in_a_long_track_is_sought_to_and_matches_the_whole_decode(tmp_path):
    path = write_clip(tmp_path / "long.mp4", audio_rate=48000, seconds=12)
    whole = audio_mod.decode_audio(path).samples
    part = audio_mod.decode_audio(path, start=9.0, end=10.5).samples
    assert part.shape == (1, 72000)
    np.testing.assert_allclose(part, whole[:, 9 * 48000:int(10.5 * 48000)], atol=1e-3)


def test_the_memory_check_counts_the_sound(tmp_path):
    info = probe.VideoInfo(width=64, height=36, fps=24.0, frame_count=240, duration=10.0, has_audio=True,
                           audio_rate=192000, audio_channels=8)
    selection = selection_module.FrameSelection()
    sound = 10 * 192000 * 8 * 4
    assert memory.audio_bytes(info, selection) == sound
    without = probe.VideoInfo(64, 36, 24.0, 240, 10.0, False)
    assert memory.estimate_bytes(info, selection) - memory.estimate_bytes(without, selection) == \
        sound - 10 * 48000 * 2 * 4   # a clip without sound still gets 48 kHz stereo silence
    half = selection_module.FrameSelection(frame_load_cap=120)
    assert memory.audio_bytes(info, half) == sound // 2
