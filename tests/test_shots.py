"""Where each shot lies after the frame options (torch-free), and the Select Shot node's slicing:
views of the frames and the sound, and clear errors."""
from __future__ import annotations

import pytest
import torch

from node_outputs import outputs
from pack_loader import load_pack, pack_module
from pipeline_helpers import generate, make_pipeline, small_request

errors = pack_module("core.errors")
shots_module = pack_module("core.media.shots")
request_module = pack_module("core.kling.request")
FrameSelection = pack_module("core.media.selection").FrameSelection
SelectShot = load_pack().NODE_CLASS_MAPPINGS["RunComfyKling3SelectShot"]
STORY = {"prompt": "a harbour", "duration": 15, "multi_prompt": [
    {"prompt": "dawn", "duration": 5}, {"prompt": "gulls", "duration": 4}, {"prompt": "out to sea", "duration": 6}]}


def cut(body=STORY, selection=FrameSelection(), frames=360, output=None):
    if output is None:
        output = pack_module("core.media.selection").selected_count(frames, selection)
    return shots_module.shots_of(body, selection, source_fps=24.0, source_frames=frames, output_frames=output)


def spans(shots):
    return [(s.start, s.end) for s in shots]


def test_a_5_4_6_story_is_120_96_and_144_frames():
    shots = cut()
    assert spans(shots) == [(0, 120), (120, 216), (216, 360)] and shots.fps == 24.0
    assert [s.prompt for s in shots] == ["dawn", "gulls", "out to sea"]


def test_the_frame_options_move_the_cuts():
    # skip 12 source frames, keep every 2nd: shot 1 keeps source frames 12..118 -> 54 frames
    shots = cut(selection=FrameSelection(skip_first_frames=12, select_every_nth=2))
    assert spans(shots) == [(0, 54), (54, 102), (102, 174)] and shots.fps == 12.0
    capped = cut(selection=FrameSelection(frame_load_cap=100))
    assert spans(capped) == [(0, 100), (100, 100), (100, 100)]
    with pytest.raises(errors.InvalidInputError, match="shot 2 has no frames left after the frame options"):
        capped.shot(2)


def test_a_clip_a_frame_short_changes_only_the_last_shot():
    assert spans(cut(frames=359)) == [(0, 120), (120, 216), (216, 359)]


def test_without_multi_prompt_the_whole_clip_is_shot_1():
    shots = cut({"prompt": "a fox", "duration": 5}, frames=120)
    assert spans(shots) == [(0, 120)] and shots.shot(1).prompt == "a fox"
    assert spans(cut(None, frames=120)) == [(0, 120)]  # a fetched video this folder never sent


@pytest.mark.parametrize("number", [0, 4, True])
def test_a_shot_number_out_of_range_names_the_range(number):
    with pytest.raises(errors.InvalidInputError, match="from 1 to 3: this video has 3 shots"):
        cut().shot(number)


def test_the_sound_of_a_shot_is_the_span_of_its_frames():
    shots = cut()
    rate, total = 48000, 15 * 48000
    assert [shots.sample_range(n, rate, total) for n in (1, 2, 3)] == [
        (0, 240000), (240000, 432000), (432000, 720000)]


def node_inputs(shots, frames=360, samples=15 * 48000):
    images = torch.zeros(frames, 4, 4, 3)
    audio = {"waveform": torch.zeros(1, 2, samples), "sample_rate": 48000}
    return images, audio


def test_select_shot_outputs_views_of_its_frames_and_sound():
    shots = cut()
    images, audio = node_inputs(shots)
    got = outputs(SelectShot, SelectShot().select(images, audio, 24.0, shots, 2))
    assert got["frame_count"] == 96 and got["images"].shape[0] == 96 and got["fps"] == 24.0
    assert got["audio"]["waveform"].shape[-1] == 4 * 48000 and got["audio"]["sample_rate"] == 48000
    # views: no frame or sample was copied
    assert got["images"].untyped_storage().data_ptr() == images.untyped_storage().data_ptr()
    assert got["audio"]["waveform"].untyped_storage().data_ptr() == audio["waveform"].untyped_storage().data_ptr()


def test_select_shot_refuses_frames_or_fps_of_another_video():
    shots = cut()
    images, audio = node_inputs(shots, frames=100)
    with pytest.raises(errors.InvalidInputError, match="has 100 frames, but the shots describe a video of 360"):
        SelectShot().select(images, audio, 24.0, shots, 1)
    images, audio = node_inputs(shots)
    with pytest.raises(errors.InvalidInputError, match="cut at 24 fps"):
        SelectShot().select(images, audio, 12.0, shots, 1)
    with pytest.raises(errors.InvalidInputError, match="shots output"):
        SelectShot().select(images, audio, 24.0, "shots", 1)


def test_generate_and_fetch_report_the_shots_of_the_request(tmp_path, sandbox):
    pipeline = make_pipeline(tmp_path, sandbox)
    segments = (request_module.Segment("dawn", 3), request_module.Segment("dusk", 3))
    made = generate(pipeline, sandbox, request=small_request("a story", duration=6, segments=segments))
    assert [(s.prompt, s.frame_count) for s in made.shots] == [("dawn", 72), ("dusk", 72)]
    fetched = pipeline.fetch(made.video.request_id, FrameSelection(), None,
                             progress=pack_module("core.status").Progress())
    assert spans(fetched.shots) == spans(made.shots)  # the journal knows the body it sent
