"""The pipeline both video nodes run (core/pipeline.py), without ComfyUI or torch, over real HTTP
against the sandbox: checks before paying, the phases a user sees, decode options with the sound
kept in step, fetching by request id, and the timing records behind the time-left estimate."""
from __future__ import annotations

import re
import sqlite3
import threading

import pytest

from pack_loader import pack_module
from pipeline_helpers import (FRAMES_OF_3S, api_calls, file_calls, generate, make_pipeline, settings_for,
                              small_request)

errors = pack_module("core.errors")
memory = pack_module("core.media.memory")
selection_module = pack_module("core.media.selection")
status_module = pack_module("core.status")
Phase, Progress = status_module.Phase, status_module.Progress
FrameSelection = selection_module.FrameSelection


# --- before anything is sent ---------------------------------------------------------------------

def test_no_token_fails_before_any_request(tmp_path, sandbox):
    pipeline = make_pipeline(tmp_path)  # no environment at all
    with pytest.raises(errors.MissingTokenError):
        pipeline.check_generation(small_request(), FrameSelection())
    assert sandbox.requests == []


def test_a_saved_token_wins_over_the_environment(tmp_path, sandbox):
    pipeline = make_pipeline(tmp_path, sandbox)
    pipeline.state.tokens().save("saved-token-1234")
    settings = pipeline.check_generation(small_request(), FrameSelection())
    assert settings.token == "saved-token-1234" and settings.token_source == "settings"


def test_skipping_every_frame_is_refused_before_paying(tmp_path, sandbox):
    pipeline = make_pipeline(tmp_path, sandbox)
    with pytest.raises(errors.InvalidInputError, match="skip_first_frames"):
        pipeline.check_generation(small_request(), FrameSelection(skip_first_frames=72))
    assert sandbox.requests == []


def test_a_clip_too_big_for_memory_is_refused_before_paying(tmp_path, sandbox, monkeypatch):
    monkeypatch.setattr(memory.buffers, "available_memory_bytes", lambda: 2 * 1024 ** 3)
    pipeline = make_pipeline(tmp_path, sandbox)
    with pytest.raises(errors.NotEnoughMemoryError) as info:
        pipeline.check_generation(small_request(duration=15), FrameSelection())
    assert "Nothing was submitted" in str(info.value) and "frame_load_cap" in str(info.value)
    assert sandbox.requests == []


# --- a generation ----------------------------------------------------------------------------------

def test_progress_goes_through_every_phase_in_order(tmp_path, sandbox):
    pipeline = make_pipeline(tmp_path, sandbox)
    progress, seen, done = Progress(), [], threading.Event()

    def watch():
        while not done.is_set():
            if not seen or seen[-1] != progress.phase:
                seen.append(progress.phase)
            done.wait(0.005)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        result = generate(pipeline, sandbox, progress=progress)
    finally:
        done.set()
        watcher.join()
    order = [Phase.QUEUED, Phase.GENERATING, Phase.DOWNLOADING, Phase.DECODING]
    assert [phase for phase in seen if phase in order] == order
    assert progress.request_id == result.video.request_id and progress.percent == 100.0


def test_frame_options_shape_the_frames_and_the_sound_follows_them(tmp_path, sandbox):
    pipeline = make_pipeline(tmp_path, sandbox)
    full = generate(pipeline, sandbox).clip
    assert full.frames.frame_count == FRAMES_OF_3S
    assert full.audio.samples.shape[1] == pytest.approx(3 * full.audio.sample_rate, rel=0.01)
    part = generate(pipeline, sandbox, selection=FrameSelection(
        skip_first_frames=24, select_every_nth=2, frame_load_cap=10, custom_width=64)).clip
    assert part.frames.frames.shape == (10, 36, 64, 3) and part.frames.fps == pytest.approx(12.0)
    # 10 frames at 12 fps: 20 source frames, 0.833 s of sound starting 1 s in
    assert part.audio.samples.shape[1] == pytest.approx(20 / 24 * part.audio.sample_rate, abs=2)
    assert len(sandbox.submissions) == 1  # other frame options reuse the same paid video


def test_generation_times_are_recorded_for_the_next_estimate(tmp_path, sandbox):
    pipeline = make_pipeline(tmp_path, sandbox)
    assert pipeline.generation_eta(3) is None
    sandbox.settings.run_seconds = 0.5
    generate(pipeline, sandbox)
    assert 0 < pipeline.generation_eta(3) < 10  # the generating time seen, not the queue time
    assert pipeline.generation_eta(4) is None


def test_the_charge_is_reported_for_the_run_that_paid_and_not_for_a_reused_video(tmp_path, sandbox):
    pipeline = make_pipeline(tmp_path, sandbox)
    paid, again = Progress(), Progress()
    first = generate(pipeline, sandbox, progress=paid)
    assert not first.video.reused and paid.cost_usd is not None and paid.cost_usd == first.video.cost_usd
    second = generate(pipeline, sandbox, progress=again)  # the same inputs: the cached video, nothing paid
    assert second.video.reused and second.video.request_id == first.video.request_id
    assert again.cost_usd is None  # the node shows no charge for a run that cost nothing


# --- fetching an earlier request -----------------------------------------------------------------

def test_fetch_of_a_cached_video_needs_no_token_and_no_request(tmp_path, sandbox):
    pipeline = make_pipeline(tmp_path, sandbox)
    request_id = generate(pipeline, sandbox).video.request_id
    seen = len(sandbox.requests)
    fetched = pipeline.fetch(request_id, FrameSelection(frame_load_cap=5), None, progress=Progress())
    assert fetched.video.reused and fetched.clip.frames.frame_count == 5
    assert len(sandbox.requests) == seen


def test_fetch_waits_for_a_running_job_and_never_submits(tmp_path, sandbox):
    other = make_pipeline(tmp_path / "other-machine", sandbox)
    with pack_module("core.api.client").RunComfyClient(settings_for(sandbox)) as client:
        request_id = client.submit(pack_module("core.kling.request").MODEL_ID, small_request().to_body()).request_id
    fetched = other.fetch(request_id, FrameSelection(), other.api_settings(), progress=Progress())
    assert fetched.video.request_id == request_id and fetched.clip.frames.frame_count == FRAMES_OF_3S
    assert len(sandbox.submissions) == 1 and file_calls(sandbox)


def test_stopping_a_fetch_leaves_the_job_running(tmp_path, sandbox):
    pipeline = make_pipeline(tmp_path, sandbox)
    sandbox.settings.queue_seconds = 30
    with pack_module("core.api.client").RunComfyClient(settings_for(sandbox)) as client:
        request_id = client.submit(pack_module("core.kling.request").MODEL_ID, small_request().to_body()).request_id
    stop = threading.Event()
    threading.Timer(0.3, stop.set).start()
    with pytest.raises(errors.StoppedError):
        pipeline.fetch(request_id, FrameSelection(), pipeline.api_settings(), progress=Progress(),
                       should_stop=stop.is_set)
    assert sandbox.job(request_id)["status"] != "cancelled"
    assert not [r for r in api_calls(sandbox) if r.path.endswith("/cancel")]


@pytest.mark.parametrize("damage", [b"[" * 100_000, b'{"durations": {"3": [{"generating_s": 1e300}]}}',
                                    b"\xff garbage", "folder"])
def test_a_damaged_old_timing_file_never_blocks_a_generation(tmp_path, sandbox, damage):
    path = tmp_path / "generation_times.json"  # what an earlier version kept
    if damage == "folder":
        path.mkdir()
    else:
        path.write_bytes(damage)
    pipeline = make_pipeline(tmp_path, sandbox)
    assert pipeline.generation_eta(3) is None
    assert generate(pipeline, sandbox).clip.frames.frame_count == FRAMES_OF_3S
    assert 0 < pipeline.generation_eta(3) < 10


@pytest.mark.parametrize("value", ["'abc'", "1e300", "-5", "X'00'"])
def test_a_damaged_timing_record_never_blocks_a_generation(tmp_path, sandbox, value):
    pipeline = make_pipeline(tmp_path, sandbox)
    pipeline.state.timings().record(3, 1.0)
    with sqlite3.connect(tmp_path / "state.db") as db:
        db.execute(f"UPDATE timings SET generating_s = {value}")
    assert pipeline.generation_eta(3) is None
    assert generate(pipeline, sandbox).clip.frames.frame_count == FRAMES_OF_3S
    assert 0 < pipeline.generation_eta(3) < 10


@pytest.mark.parametrize("damage", [b"[" * 100_000, b"\xff not json", b'{"request_id": 5}', "folder"])
def test_a_damaged_cache_description_means_download_again_never_pay_again(tmp_path, sandbox, damage):
    pipeline = make_pipeline(tmp_path, sandbox)
    first = generate(pipeline, sandbox)
    meta = first.video.path.with_suffix(".json")
    meta.unlink()
    if damage == "folder":
        meta.mkdir()
    else:
        meta.write_bytes(damage)
    downloads = len(file_calls(sandbox))
    if damage == "folder":  # cannot be rewritten: an error naming it, and nothing paid
        with pytest.raises(errors.StateFileError, match=re.escape(str(meta))):
            generate(pipeline, sandbox)
        meta.rmdir()
    again = generate(pipeline, sandbox)
    assert again.video.request_id == first.video.request_id and not again.video.reused
    assert len(sandbox.submissions) == 1 and len(file_calls(sandbox)) > downloads
