"""The nodes inside a real ComfyUI server, against the sandbox, driven over ComfyUI's HTTP API.

ComfyUI is found at COMFYUI_DIR, or ../shared/comfyui beside the pack (COMFYUI_PYTHON: the
interpreter with its requirements, default: this one); see comfyui_harness.py. Without it these
tests skip with the reason, except under CI=true, where they fail. Set up once, it checks
single-shot, prompt-node and multi-shot graphs, bad input (nothing submitted), Cancel, two nodes
at once, re-run caching, a restart mid-generation and that the token leaks nowhere.
"""
from __future__ import annotations

import json
import time

import pytest

from comfyui_harness import TOKEN, require_comfyui, start_comfy, stop
from pack_loader import pack_module


@pytest.fixture(scope="module")
def api():
    require_comfyui()
    sandbox_mod = pack_module("sandbox")
    with sandbox_mod.Sandbox(queue_seconds=0.5, run_seconds=1.0, resolution_scale=0.125) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def comfy(api, tmp_path_factory):
    process, server = start_comfy(api, tmp_path_factory.mktemp("comfy-base"))
    try:
        yield server
    finally:
        stop(process)


def t2v(seed: int, *, prompt="a red fox running through fresh snow", duration=3, multi=None, sound=True,
        aspect_ratio="16:9") -> dict:
    inputs = {"prompt": prompt, "negative_prompt": "", "duration": duration, "aspect_ratio": aspect_ratio,
              "cfg_scale": 0.5, "sound": sound, "seed": seed, "frame_load_cap": 0, "skip_first_frames": 0,
              "select_every_nth": 1, "custom_width": 0, "custom_height": 0}
    if multi:
        inputs["multi_prompt"] = multi
    return {"class_type": "RunComfyKling3TextToVideo", "inputs": inputs}


def save(video_from: str, prefix: str) -> dict:
    return {"class_type": "SaveVideo", "inputs": {"video": [video_from, 4], "filename_prefix": prefix,
                                                   "format": "auto", "codec": "auto"}}


def new_ids(api, before: int) -> list[str]:
    return api.submissions_ids[before:]


def test_single_shot_graph_saves_the_original_file(comfy, api):
    before = len(api.submissions)
    graph = {"1": t2v(1), "2": save("1", "kling3/single")}
    entry = comfy.wait(comfy.queue(graph))
    assert entry["status"]["status_str"] == "success", entry["status"]
    (request_id,) = new_ids(api, before)
    saved = list((comfy.base_dir / "output" / "kling3").glob("single*.mp4"))
    assert saved and saved[0].stat().st_size > 1000
    assert "1" in entry["outputs"]  # the preview of the generated video


def test_prompt_node_and_multi_shot_graph(comfy, api):
    before = len(api.submissions)
    graph = {
        "1": {"class_type": "RunComfyKling3Prompt", "inputs": {"prompt": "a lighthouse story", "negative_prompt": "blur"}},
        "2": {"class_type": "RunComfyKling3MultiPromptSegment", "inputs": {"prompt": "dawn", "duration": 3}},
        "3": {"class_type": "RunComfyKling3MultiPromptSegment", "inputs": {"prompt": "noon", "duration": 3, "previous": ["2", 0]}},
        "4": {"class_type": "RunComfyKling3MultiPromptSegment", "inputs": {"prompt": "dusk", "duration": 3, "previous": ["3", 0]}},
        "5": t2v(2, duration=9, multi=["4", 0]),
        "6": save("5", "kling3/story"),
    }
    graph["5"]["inputs"].update(prompt=["1", 0], negative_prompt=["1", 1])
    entry = comfy.wait(comfy.queue(graph))
    assert entry["status"]["status_str"] == "success", entry["status"]
    body = api.submissions[before]
    assert body["prompt"] == "a lighthouse story" and body["negative_prompt"] == "blur"
    assert body["multi_prompt"] == [{"prompt": p, "duration": 3} for p in ("dawn", "noon", "dusk")]
    assert body["shot_type"] == "customize" and len(api.submissions) == before + 1


def test_bad_input_fails_clearly_and_submits_nothing(comfy, api):
    before = len(api.submissions)
    graph = {
        "1": {"class_type": "RunComfyKling3MultiPromptSegment", "inputs": {"prompt": "dawn", "duration": 3}},
        "2": t2v(3, duration=10, multi=["1", 0]),
        "3": save("2", "kling3/bad"),
    }
    entry = comfy.wait(comfy.queue(graph))
    assert entry["status"]["status_str"] == "error"
    error = [m for m in entry["status"]["messages"] if m[0] == "execution_error"][0][1]
    assert "add up" in error["exception_message"] and "duration is 10" in error["exception_message"]
    assert len(api.submissions) == before


def test_rerun_with_the_same_inputs_is_not_paid_again(comfy, api):
    graph = {"1": t2v(4), "2": save("1", "kling3/rerun")}
    assert comfy.wait(comfy.queue(graph))["status"]["status_str"] == "success"
    before = len(api.submissions)
    assert comfy.wait(comfy.queue(graph))["status"]["status_str"] == "success"
    assert len(api.submissions) == before


def test_cancel_interrupts_and_cancels_the_queued_job(comfy, api):
    api.settings.queue_seconds = 60
    try:
        before = len(api.submissions)
        prompt_id = comfy.queue({"1": t2v(5), "2": save("1", "kling3/cancel")})
        deadline = time.monotonic() + 30
        while len(api.submissions) == before and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)
        pressed = time.monotonic()
        comfy.post("/interrupt", {})
        entry = comfy.wait(prompt_id, timeout=30)
        stopped_after = time.monotonic() - pressed
    finally:
        api.settings.queue_seconds = 0.5
    messages = [m[0] for m in entry["status"]["messages"]]
    assert "execution_interrupted" in messages and "execution_error" not in messages
    (request_id,) = new_ids(api, before)
    assert api.job(request_id)["status"] == "cancelled"
    assert stopped_after < 5


def test_two_video_nodes_generate_at_the_same_time(comfy, api):
    api.settings.run_seconds = 4
    try:
        before = len(api.submissions)
        graph = {"1": t2v(6, aspect_ratio="1:1", sound=False), "2": save("1", "kling3/a"),
                 "3": t2v(7, aspect_ratio="9:16"), "4": save("3", "kling3/b")}
        assert comfy.wait(comfy.queue(graph))["status"]["status_str"] == "success"
    finally:
        api.settings.run_seconds = 1.0
    jobs = [api.job(i) for i in new_ids(api, before)]
    assert len(jobs) == 2
    assert max(j["submitted_at_monotonic"] for j in jobs) < min(j["finished_at_monotonic"] for j in jobs)


def test_killed_mid_generation_then_restarted_pays_once_and_delivers(api, tmp_path):
    base = tmp_path / "base"
    graph = {"1": t2v(8), "2": save("1", "kling3/restart")}
    before = len(api.submissions)
    api.settings.run_seconds = 6
    process, server = start_comfy(api, base)
    try:
        server.queue(graph)
        deadline = time.monotonic() + 60
        while len(api.submissions) == before and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(api.submissions) == before + 1
        time.sleep(1.0)  # generating now
        process.kill()   # no clean shutdown: like a crash or a machine restart
        process.wait()
        process, server = start_comfy(api, base)
        entry = server.wait(server.queue(graph), timeout=120)
    finally:
        api.settings.run_seconds = 1.0
        stop(process)
    assert entry["status"]["status_str"] == "success", entry["status"]
    assert len(api.submissions) == before + 1  # the restarted server re-attached to the paid job
    assert list((base / "output" / "kling3").glob("restart*.mp4"))


def test_the_token_leaks_nowhere(comfy, api):
    # runs last in this module: every graph above has gone through history, outputs and the log
    places = {"history": json.dumps(comfy.get("/history")), "object_info": json.dumps(comfy.get("/object_info")),
              "log": comfy.log_path.read_text(errors="replace")}
    for path in (comfy.base_dir / "output").rglob("*"):
        if path.is_file():
            places[str(path)] = path.read_bytes().decode("latin-1")
    assert len(places) > 3
    for name, text in places.items():
        assert TOKEN not in text, f"token found in {name}"
    file_requests = [r for r in api.requests if r.origin == "files"]
    assert file_requests and all("Authorization" not in r.headers for r in file_requests)
