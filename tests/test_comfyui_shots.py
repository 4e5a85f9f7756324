"""Select Shot in a real ComfyUI: a 5 + 4 + 6 s story gives 120, 96 and 144 frames at 24 fps, each
with exactly its own span of sound; a shot number out of range is a clear error.

The frame counts and fps come back through ComfyUI's "Preview as Text" (PreviewAny); the sound
through "Preview Audio", which writes it losslessly (FLAC) to ComfyUI's temp folder.
"""
from __future__ import annotations

import av
import pytest

from comfyui_harness import comfyui_with_sandbox, require_comfyui

SHOTS = (("dawn over a fishing harbour", 5), ("gulls wheel above the boats", 4), ("the fleet heads out to sea", 6))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    require_comfyui()
    with comfyui_with_sandbox(tmp_path_factory.mktemp("shots")) as (comfy, _api):
        yield comfy


def story_graph(shot_numbers, seed: int = 1) -> dict:
    graph, previous = {}, None
    for index, (prompt, seconds) in enumerate(SHOTS, start=1):
        inputs = {"prompt": prompt, "duration": seconds}
        if previous:
            inputs["previous"] = [previous, 0]
        graph[f"s{index}"] = {"class_type": "RunComfyKling3MultiPromptSegment", "inputs": inputs}
        previous = f"s{index}"
    graph["video"] = {"class_type": "RunComfyKling3TextToVideo", "inputs": {
        "prompt": "a harbour story", "negative_prompt": "", "duration": 15, "aspect_ratio": "16:9",
        "cfg_scale": 0.5, "sound": True, "seed": seed, "frame_load_cap": 0, "skip_first_frames": 0,
        "select_every_nth": 1, "custom_width": 0, "custom_height": 0, "multi_prompt": [previous, 0]}}
    for number in shot_numbers:
        graph[f"pick{number}"] = {"class_type": "RunComfyKling3SelectShot", "inputs": {
            "images": ["video", 0], "audio": ["video", 1], "fps": ["video", 2], "shots": ["video", 7],
            "shot": number}}
        graph[f"frames{number}"] = {"class_type": "PreviewAny", "inputs": {"source": [f"pick{number}", 3]}}
        graph[f"fps{number}"] = {"class_type": "PreviewAny", "inputs": {"source": [f"pick{number}", 2]}}
        graph[f"sound{number}"] = {"class_type": "PreviewAudio", "inputs": {"audio": [f"pick{number}", 1]}}
    return graph


def samples_of(server, saved: dict) -> tuple[int, int]:
    """(samples, sample rate) of an audio file ComfyUI saved."""
    path = server.base_dir / saved["type"] / saved.get("subfolder", "") / saved["filename"]
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        return sum(frame.samples for frame in container.decode(stream)), stream.rate


def test_each_shot_of_a_5_4_6_story_is_its_frames_and_its_sound(server):
    before = len(server.sandbox.submissions)
    entry = server.wait(server.queue(story_graph((1, 2, 3))), timeout=240)
    assert entry["status"]["status_str"] == "success", entry["status"]
    assert len(server.sandbox.submissions) == before + 1  # one video, cut three ways
    outputs = entry["outputs"]
    for number, (_, seconds) in enumerate(SHOTS, start=1):
        frames = int(outputs[f"frames{number}"]["text"][0])
        assert frames == seconds * 24
        assert float(outputs[f"fps{number}"]["text"][0]) == 24.0
        samples, rate = samples_of(server, outputs[f"sound{number}"]["audio"][0])
        assert samples == seconds * rate  # the sound of the same length as the frames


def test_a_shot_number_out_of_range_is_a_clear_error(server):
    before = len(server.sandbox.submissions)
    entry = server.wait(server.queue(story_graph((4,))), timeout=240)
    assert entry["status"]["status_str"] == "error"
    (error,) = [message[1] for message in entry["status"]["messages"] if message[0] == "execution_error"]
    assert error["node_type"] == "RunComfyKling3SelectShot"
    assert "from 1 to 3" in error["exception_message"] and "3 shots" in error["exception_message"]
    assert len(server.sandbox.submissions) == before  # the same video: reused, not paid again
