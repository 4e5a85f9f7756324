"""A prompt list in a real ComfyUI: one job per prompt, run at the same time under the limit of jobs
in flight, each video saved; re-queued, nothing is paid again; Cancel stops the whole batch.

"At the same time" is read from the sandbox's own job timeline (submitted / finished, on its
clock), never from a wall-clock bound on the test.
"""
from __future__ import annotations

import json
import time
import urllib.request

import pytest

from comfyui_harness import comfyui_with_sandbox, require_comfyui

PROMPTS = ["a red fox running through fresh snow", "a lighthouse at dusk, waves below",
           "a paper boat drifting down a rain gutter"]
LIST_TEXT = "# three shots for the showreel\n" + "\n\n".join(PROMPTS) + "\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    require_comfyui()
    with comfyui_with_sandbox(tmp_path_factory.mktemp("batches"),
                              sandbox_options={"queue_seconds": 0.5, "run_seconds": 2.0}) as (comfy, _api):
        yield comfy


def batch_graph(seed: int, prefix: str, text: str = LIST_TEXT) -> dict:
    return {
        "1": {"class_type": "RunComfyKling3PromptList", "inputs": {"prompts": text, "negative_prompt": "blur"}},
        "2": {"class_type": "RunComfyKling3TextToVideo", "inputs": {
            "prompt": ["1", 0], "negative_prompt": ["1", 1], "duration": 3, "aspect_ratio": "16:9",
            "cfg_scale": 0.5, "sound": True, "seed": seed, "frame_load_cap": 0, "skip_first_frames": 0,
            "select_every_nth": 1, "custom_width": 0, "custom_height": 0}},
        "3": {"class_type": "SaveVideo", "inputs": {"video": ["2", 4], "filename_prefix": prefix,
                                                    "format": "auto", "codec": "auto"}},
    }


def run_batch(server, seed: int, prefix: str) -> tuple[dict, list]:
    api = server.sandbox
    before = len(api.submissions)
    entry = server.wait(server.queue(batch_graph(seed, prefix)), timeout=240)
    return entry, api.submissions[before:]


def intervals(api, submissions) -> list[tuple[float, float]]:
    jobs = [api.job(s.request_id) for s in submissions]
    return sorted((job["submitted_at_monotonic"], job["finished_at_monotonic"]) for job in jobs)


def forget_cached_outputs(server) -> None:
    """``/free`` asks ComfyUI's worker to drop its caches after its current prompt; one small
    prompt later they are gone, whichever came first."""
    server.post("/free", {"free_memory": True})
    marker = {"1": {"class_type": "RunComfyKling3Prompt", "inputs": {"prompt": "-", "negative_prompt": ""}},
              "2": {"class_type": "PreviewAny", "inputs": {"source": ["1", 0]}}}
    assert server.wait(server.queue(marker))["status"]["status_str"] == "success"


def set_max_parallel(server, value) -> dict:
    request = urllib.request.Request(server.base_url + "/runcomfy/kling3/budget",
                                     data=json.dumps({"max_parallel": value}).encode(), method="POST",
                                     headers={"Content-Type": "application/json", "Origin": server.base_url})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())


def test_three_prompts_make_three_overlapping_jobs_each_saved(server):
    entry, sent = run_batch(server, 1, "kling3/batch")
    assert entry["status"]["status_str"] == "success", entry["status"]
    assert sorted(s["prompt"] for s in sent) == sorted(PROMPTS)
    assert all(s["negative_prompt"] == "blur" and s["duration"] == 3 for s in sent)
    spans = intervals(server.sandbox, sent)
    # every job was submitted before any of them finished: all three were in flight together
    assert max(start for start, _ in spans) < min(end for _, end in spans), spans
    saved = sorted((server.base_dir / "output" / "kling3").glob("batch*.mp4"))
    assert len(saved) == 3 and all(path.stat().st_size > 1000 for path in saved)
    assert entry["outputs"]["1"]["text"] == ["3 prompts \u00b7 est. $1.51 in all"]
    assert len(entry["outputs"]["2"]["images"]) == 3  # one preview per video


def test_queueing_the_same_batch_again_submits_nothing(server):
    # ComfyUI forgets its cached outputs, so the nodes run again: the journal and the result
    # cache are what keep the batch from being paid twice
    forget_cached_outputs(server)
    entry, sent = run_batch(server, 1, "kling3/again")
    assert entry["status"]["status_str"] == "success", entry["status"]
    assert sent == []
    assert len(list((server.base_dir / "output" / "kling3").glob("again*.mp4"))) == 3
    assert entry["outputs"]["1"]["text"] == ["3 prompts \u00b7 est. $0.00 in all (3 already generated)"]


def test_with_the_limit_at_one_the_jobs_run_one_after_another(server):
    assert set_max_parallel(server, 1)["max_parallel"] == {"jobs": 1, "source": "settings"}
    try:
        entry, sent = run_batch(server, 2, "kling3/serial")
    finally:
        set_max_parallel(server, None)
    assert entry["status"]["status_str"] == "success", entry["status"]
    spans = intervals(server.sandbox, sent)
    assert len(spans) == 3
    for (_, finished), (next_submitted, _) in zip(spans, spans[1:]):
        assert next_submitted >= finished, spans  # a slot frees only once a video is downloaded
    assert len(list((server.base_dir / "output" / "kling3").glob("serial*.mp4"))) == 3


def test_cancel_stops_the_whole_batch(server):
    api = server.sandbox
    set_max_parallel(server, 1)
    api.settings.queue_seconds = 60
    before = len(api.submissions)
    try:
        prompt_id = server.queue(batch_graph(3, "kling3/cancelled"))
        deadline = time.monotonic() + 60
        while len(api.submissions) == before and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(api.submissions) == before + 1
        server.post("/interrupt", {})
        entry = server.wait(prompt_id, timeout=60)
    finally:
        api.settings.queue_seconds = 0.5
        set_max_parallel(server, None)
    messages = [message[0] for message in entry["status"]["messages"]]
    assert "execution_interrupted" in messages and "execution_error" not in messages
    # ComfyUI ends the prompt once every item's coroutine has ended: the submitted job was
    # cancelled while queued, and the two waiting for a slot were never sent
    (sent,) = api.submissions[before:]
    assert api.job(sent.request_id)["cancelled"]
