"""Kling 3.0 Fetch Result (RunComfy): a generation made elsewhere, recovered by its request id."""
from __future__ import annotations

import asyncio
import threading

import pytest
import torch

from comfy_stubs import InterruptProcessingException
from node_outputs import outputs
from pack_loader import load_pack, pack_module

pack = load_pack()
errors = pack_module("core.errors")
client_module = pack_module("core.api.client")
config = pack_module("core.api.settings")
fetch_module = pack_module("nodes.fetch_result_node")
Fetch = pack.NODE_CLASS_MAPPINGS["RunComfyKling3FetchResult"]
T2V = pack.NODE_CLASS_MAPPINGS["RunComfyKling3TextToVideo"]
BODY = {"prompt": "a heron at dawn", "duration": 3, "aspect_ratio": "1:1", "cfg_scale": 0.5, "sound": True}


def submit_elsewhere(sandbox, body=BODY) -> str:
    """A job made outside this node (another machine, the RunComfy site, an older pack)."""
    settings = config.ApiSettings(base_url=sandbox.api_base, token="sandbox-token")
    with client_module.RunComfyClient(settings) as client:
        return client.submit("kling/kling-3.0/pro/text-to-video", body).request_id


def fetch(request_id, **options):
    """The fetch node's outputs, by name."""
    return outputs(Fetch, asyncio.run(Fetch().fetch(request_id=request_id, unique_id="3", **options)))


def test_registered_with_the_same_outputs_as_the_text_to_video_node(pack):
    assert pack.NODE_DISPLAY_NAME_MAPPINGS["RunComfyKling3FetchResult"] == "Kling 3.0 Fetch Result (RunComfy)"
    assert Fetch.RETURN_TYPES == T2V.RETURN_TYPES and Fetch.RETURN_NAMES == T2V.RETURN_NAMES
    assert Fetch.CATEGORY == T2V.CATEGORY and Fetch.DESCRIPTION and callable(getattr(Fetch(), Fetch.FUNCTION))
    spec = Fetch.INPUT_TYPES()
    t2v_required = T2V.INPUT_TYPES()["required"]
    assert list(spec["required"]) == ["request_id", "frame_load_cap", "skip_first_frames",
                                      "select_every_nth", "custom_width", "custom_height"]
    assert spec["required"]["request_id"][0] == "STRING"
    for name, (kind, options) in spec["required"].items():
        assert options.get("tooltip"), name
        if name != "request_id":
            assert (kind, options) == t2v_required[name]
    assert spec["hidden"] == {"unique_id": "UNIQUE_ID"}


def test_fetches_a_job_made_elsewhere_waiting_while_it_runs_and_never_submits(comfy, sandbox):
    request_id = submit_elsewhere(sandbox)
    assert sandbox.job(request_id)["status"] == "in_queue"
    out = fetch(f"  {request_id}\n")
    images = out["images"]
    assert out["request_id"] == request_id and out["frame_count"] == 72 and out["fps"] == pytest.approx(24.0)
    assert images.dtype == torch.float32 and images.shape[0] == 72 and images.shape[1] == images.shape[2]
    assert out["audio"]["waveform"].shape[:2] == (1, 2) and out["video_url"].startswith(sandbox.files_base)
    assert len(sandbox.submissions) == 1  # only the one made elsewhere
    assert (comfy.root / "user" / "__runcomfy" / "results" / f"{request_id}.mp4").is_file()


def test_a_fetched_video_is_decoded_again_from_the_cache_even_without_token_or_remote_file(comfy, sandbox, monkeypatch):
    request_id = submit_elsewhere(sandbox)
    first = fetch(request_id)
    sandbox.expire(request_id)
    monkeypatch.delenv("RUNCOMFY_API_TOKEN")
    seen = len(sandbox.requests)
    again = fetch(request_id, frame_load_cap=5, skip_first_frames=24)
    assert len(sandbox.requests) == seen
    assert again["frame_count"] == 5 and again["video_url"] == first["video_url"]
    assert torch.equal(again["images"][0], first["images"][24])


def test_the_text_to_video_node_and_fetch_share_the_cache(comfy, sandbox, monkeypatch):
    monkeypatch.setattr(pack_module("nodes.text_to_video_node"), "POLL_INTERVAL_S", 0.05)
    made = outputs(T2V, asyncio.run(T2V().generate(prompt="a heron", negative_prompt="", duration=3,
                                                   aspect_ratio="1:1", cfg_scale=0.5, sound=False, seed=1,
                                                   unique_id="1")))
    seen = len(sandbox.requests)
    out = fetch(made["request_id"])
    assert len(sandbox.requests) == seen and out["frame_count"] == made["frame_count"]
    assert out["video_url"] == made["video_url"]  # the video URL is remembered with the file


def test_an_expired_result_without_a_local_copy_is_a_clear_error(comfy, sandbox):
    request_id = submit_elsewhere(sandbox)
    sandbox.expire(request_id)
    with pytest.raises(errors.RequestNotFoundError) as info:
        fetch(request_id)
    assert request_id in str(info.value) and "expired" in str(info.value)
    assert len(sandbox.submissions) == 1


@pytest.mark.parametrize("value", ["", "   ", "abc/../def", "id with spaces", "x" * 200, None, 42])
def test_a_malformed_request_id_is_refused_before_any_request(comfy, sandbox, value):
    with pytest.raises(errors.InvalidInputError) as info:
        fetch(value)
    assert info.value.field == "request_id"
    assert sandbox.requests == []


def test_cancel_stops_waiting_but_leaves_the_job_alone(comfy, sandbox):
    sandbox.settings.queue_seconds = 30
    request_id = submit_elsewhere(sandbox)
    threading.Timer(0.4, lambda: setattr(comfy, "interrupted", True)).start()
    with pytest.raises(InterruptProcessingException) as info:
        fetch(request_id)
    assert request_id in str(info.value)
    assert sandbox.job(request_id)["status"] == "in_queue"
    assert not [r for r in sandbox.requests if r.path.endswith("/cancel")]
