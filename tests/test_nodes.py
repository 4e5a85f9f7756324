"""The three Kling nodes: their public contract, validation, payloads, outputs, cancel, concurrency."""
from __future__ import annotations

import asyncio
import threading
import time

import pytest
import torch

from comfy_stubs import InterruptProcessingException
from node_outputs import outputs
from pack_loader import load_pack, pack_module

pack = load_pack()
errors = pack_module("core.errors")
job_runner = pack_module("nodes.job_runner")
t2v_module = pack_module("nodes.text_to_video_node")
Prompt = pack.NODE_CLASS_MAPPINGS["RunComfyKling3Prompt"]
Segment = pack.NODE_CLASS_MAPPINGS["RunComfyKling3MultiPromptSegment"]
T2V = pack.NODE_CLASS_MAPPINGS["RunComfyKling3TextToVideo"]


def generate(node_kwargs, unique_id="7"):
    """The text-to-video node's whole answer (``ui`` and ``result``)."""
    kwargs = dict(negative_prompt="", duration=3, aspect_ratio="16:9", cfg_scale=0.5, sound=True, seed=0)
    kwargs.update(node_kwargs)
    return asyncio.run(T2V().generate(unique_id=unique_id, **kwargs))


def run(node_kwargs, unique_id="7"):
    """The text-to-video node's outputs, by name."""
    return outputs(T2V, generate(node_kwargs, unique_id))


def segment(prompt, duration, previous=None):
    return outputs(Segment, Segment().build(prompt=prompt, duration=duration, previous=previous))["segments"]


def segments(*shots):
    chain = None
    for prompt, duration in shots:
        chain = segment(prompt, duration, chain)
    return chain


# --- contract ----------------------------------------------------------------------------------

def test_node_ids_and_display_names(pack):
    assert pack.NODE_DISPLAY_NAME_MAPPINGS == {
        "RunComfyKling3Prompt": "Kling 3.0 Prompt",
        "RunComfyKling3MultiPromptSegment": "Kling 3.0 Multi-Prompt Segment",
        "RunComfyKling3TextToVideo": "Kling 3.0 Pro Text to Video (RunComfy)",
        "RunComfyKling3FetchResult": "Kling 3.0 Fetch Result (RunComfy)",
        "RunComfyKling3PromptList": "Kling 3.0 Prompt List",
        "RunComfyKling3SelectShot": "Kling 3.0 Select Shot",
    }
    for cls in pack.NODE_CLASS_MAPPINGS.values():
        assert cls.CATEGORY == "RunComfy/Kling 3.0" and cls.DESCRIPTION
        assert callable(getattr(cls(), cls.FUNCTION))


def every_input(cls):
    spec = cls.INPUT_TYPES()
    return {**spec.get("required", {}), **spec.get("optional", {})}


@pytest.mark.parametrize("cls", [Prompt, Segment, T2V])
def test_every_input_has_a_tooltip(cls):
    for name, (kind, options) in every_input(cls).items():
        assert options.get("tooltip"), f"{cls.__name__}.{name} has no tooltip"


def test_text_to_video_inputs_match_the_api_fields():
    spec = T2V.INPUT_TYPES()
    req = spec["required"]
    assert list(req)[:7] == ["prompt", "negative_prompt", "duration", "aspect_ratio", "cfg_scale", "sound", "seed"]
    assert req["prompt"][0] == "STRING" and req["prompt"][1]["multiline"]
    assert req["negative_prompt"][1]["multiline"]
    assert req["duration"] == ("INT", req["duration"][1]) and (req["duration"][1]["min"], req["duration"][1]["max"], req["duration"][1]["default"]) == (3, 15, 5)
    assert req["aspect_ratio"][0] == ["16:9", "9:16", "1:1"] and req["aspect_ratio"][1]["default"] == "16:9"
    cfg = req["cfg_scale"][1]
    assert req["cfg_scale"][0] == "FLOAT" and (cfg["min"], cfg["max"], cfg["step"], cfg["default"]) == (0.0, 1.0, 0.01, 0.5)
    assert req["sound"] == ("BOOLEAN", req["sound"][1]) and req["sound"][1]["default"] is True
    # "fixed": re-queueing the same graph (after Cancel, a crash or a restart) must not pay again
    assert req["seed"][0] == "INT" and req["seed"][1]["control_after_generate"] == "fixed"
    for option in ("frame_load_cap", "skip_first_frames", "select_every_nth", "custom_width", "custom_height"):
        assert req[option][0] == "INT"
    assert spec["optional"]["multi_prompt"][0] == Segment.RETURN_TYPES[0]
    assert spec["hidden"] == {"unique_id": "UNIQUE_ID"}
    # outputs are linked by position: new ones are only ever appended
    assert T2V.RETURN_TYPES == ("IMAGE", "AUDIO", "FLOAT", "INT", "VIDEO", "STRING", "STRING", "RUNCOMFY_KLING3_SHOTS")
    assert T2V.RETURN_NAMES == ("images", "audio", "fps", "frame_count", "video", "video_url", "request_id", "shots")


def test_prompt_node_outputs_connect_to_the_same_names():
    assert Prompt.RETURN_NAMES == ("prompt", "negative_prompt")
    assert Prompt.RETURN_TYPES == (T2V.INPUT_TYPES()["required"]["prompt"][0],) * 2
    assert outputs(Prompt, Prompt().build("a fox", "blur")) == {"prompt": "a fox", "negative_prompt": "blur"}
    with pytest.raises(errors.InvalidInputError, match="negative_prompt.*2500"):
        Prompt().build("a fox", "x" * 2501)


def test_segments_chain_in_order_without_mutating_upstream():
    first = segments(("one", 3))
    longer = segments(("one", 3), ("two", 4), ("three", 5))
    assert [(s.prompt, s.duration) for s in longer] == [("one", 3), ("two", 4), ("three", 5)]
    branch = segment("other", 6, previous=first)
    assert len(first) == 1 and [s.prompt for s in branch] == ["one", "other"]
    spec = Segment.INPUT_TYPES()
    assert spec["required"]["duration"][1] | {} == spec["required"]["duration"][1]
    assert (spec["required"]["duration"][1]["min"], spec["required"]["duration"][1]["max"], spec["required"]["duration"][1]["default"]) == (3, 15, 5)
    assert spec["optional"]["previous"][0] == Segment.RETURN_TYPES[0]


# --- validation before anything is sent --------------------------------------------------------

@pytest.mark.parametrize("inputs, field, words", [
    ({"prompt": "   "}, "prompt", "blank"),
    ({"prompt": "x" * 2501}, "prompt", "2500"),
    ({"prompt": "ok", "negative_prompt": "n" * 2501}, "negative_prompt", "2500"),
    ({"prompt": "ok", "duration": 16}, "duration", "3 to 15"),
    ({"prompt": "ok", "cfg_scale": 1.5}, "cfg_scale", "0 to 1"),
    ({"prompt": "ok", "aspect_ratio": "4:3"}, "aspect_ratio", "16:9"),
])
def test_bad_input_is_rejected_before_submission(comfy, sandbox, inputs, field, words):
    with pytest.raises(errors.InvalidInputError) as info:
        run(inputs)
    assert info.value.field == field and words in str(info.value)
    assert sandbox.requests == []


def test_segment_durations_must_add_up(comfy, sandbox):
    with pytest.raises(errors.InvalidInputError) as info:
        run({"prompt": "story", "duration": 10, "multi_prompt": segments(("a", 3), ("b", 4), ("c", 5))})
    text = str(info.value)
    assert "3 + 4 + 5 = 12" in text and "duration is 10" in text and "multi_prompt" in text
    assert sandbox.requests == []


def test_blank_segment_and_segment_duration_out_of_range(comfy, sandbox):
    seg = pack_module("core.kling.request").Segment
    with pytest.raises(errors.InvalidInputError, match="segment 2 prompt.*blank"):
        run({"prompt": "p", "duration": 6, "multi_prompt": (seg("a", 3), seg("  ", 3))})
    with pytest.raises(errors.InvalidInputError, match="segment 1 duration.*3 to 15"):
        run({"prompt": "p", "duration": 6, "multi_prompt": (seg("a", 2), seg("b", 4))})
    with pytest.raises(errors.InvalidInputError, match="at most 20 segments"):
        run({"prompt": "p", "duration": 15, "multi_prompt": tuple(seg("a", 3) for _ in range(21))})
    with pytest.raises(errors.InvalidInputError, match="at most 5 segments"):
        run({"prompt": "p", "duration": 15, "multi_prompt": tuple(seg("a", 3) for _ in range(6))})
    assert sandbox.requests == []


def test_missing_token_is_reported_before_submission(comfy, sandbox, monkeypatch):
    monkeypatch.delenv("RUNCOMFY_API_TOKEN")
    with pytest.raises(errors.MissingTokenError, match="RUNCOMFY_API_TOKEN"):
        run({"prompt": "a fox"})
    assert sandbox.requests == []


def test_a_clip_that_would_not_fit_in_memory_is_not_paid_for(comfy, sandbox, monkeypatch):
    buffers = pack_module("core.media.buffers")
    monkeypatch.setattr(buffers, "available_memory_bytes", lambda: 3 * 1024 ** 3)
    with pytest.raises(errors.NotEnoughMemoryError) as info:
        run({"prompt": "a fox", "duration": 15})
    text = str(info.value)
    assert "Nothing was submitted" in text and "frame_load_cap" in text and "GiB" in text
    assert sandbox.requests == []
    out = run({"prompt": "a fox", "duration": 3, "custom_width": 320})  # a small selection still runs
    assert out["frame_count"] == 72 and out["images"].shape[0] == 72 and out["images"].shape[2] == 320
    assert len(sandbox.submissions) == 1 and out["request_id"] == sandbox.submissions_ids[0]


def test_bad_frame_options_are_rejected_before_submission(comfy, sandbox):
    with pytest.raises(errors.InvalidInputError, match="select_every_nth"):
        run({"prompt": "a fox", "select_every_nth": 0})
    with pytest.raises(errors.InvalidInputError, match="skip_first_frames.*3 s clip"):
        run({"prompt": "a fox", "duration": 3, "skip_first_frames": 72})
    assert sandbox.requests == []


# --- payloads and outputs ----------------------------------------------------------------------

def test_single_shot_sends_exactly_the_documented_fields_and_returns_outputs(comfy, sandbox):
    answer = generate({"prompt": "  a fox in snow  ", "duration": 3, "cfg_scale": 0.37, "sound": True})
    assert sandbox.submissions == [{"prompt": "a fox in snow", "duration": 3, "aspect_ratio": "16:9",
                                    "cfg_scale": 0.37, "sound": True}]
    out = outputs(T2V, answer)
    images, audio = out["images"], out["audio"]
    assert images.dtype == torch.float32 and images.ndim == 4 and images.shape[-1] == 3
    assert images.shape[0] == out["frame_count"] == 72 and out["fps"] == pytest.approx(24.0)
    assert images.shape[2] > images.shape[1]  # 16:9 is wider than tall
    assert 0.0 <= float(images.min()) and float(images.max()) <= 1.0
    assert audio["waveform"].dtype == torch.float32 and audio["waveform"].shape[:2] == (1, 2)
    assert audio["waveform"].shape[2] == pytest.approx(3 * audio["sample_rate"], rel=0.02)
    assert float(audio["waveform"].abs().max()) > 0.01
    assert out["video_url"].startswith(sandbox.files_base) and out["request_id"] == sandbox.submissions_ids[0]
    # the node shows the video: the preview names a copy in ComfyUI's temp folder
    (preview,) = answer["ui"]["images"]
    shown = comfy.root / "temp" / preview["subfolder"] / preview["filename"]
    kept = comfy.root / "user" / "__runcomfy" / "results" / f"{out['request_id']}.mp4"
    assert preview["type"] == "temp" and shown.read_bytes() == kept.read_bytes()


def test_multi_shot_payload_and_silent_track_without_sound(comfy, sandbox):
    out = run({"prompt": "a story", "negative_prompt": "blur", "duration": 9, "aspect_ratio": "9:16",
               "sound": False, "multi_prompt": segments(("dawn", 3), ("noon", 3), ("dusk", 3))})
    body = sandbox.submissions[0]
    assert body == {"prompt": "a story", "negative_prompt": "blur", "duration": 9, "aspect_ratio": "9:16",
                    "cfg_scale": 0.5, "sound": False, "shot_type": "customize",
                    "multi_prompt": [{"prompt": "dawn", "duration": 3}, {"prompt": "noon", "duration": 3},
                                     {"prompt": "dusk", "duration": 3}]}
    assert out["frame_count"] == 9 * 24 and out["images"].shape[1] > out["images"].shape[2]
    waveform = out["audio"]["waveform"]
    assert waveform.shape[0] == 1 and float(waveform.abs().max()) == 0.0
    assert waveform.shape[-1] == pytest.approx(9 * out["audio"]["sample_rate"], rel=0.02)


def test_frame_options_change_frames_and_fps(comfy, sandbox):
    out = run({"prompt": "a fox", "duration": 3, "skip_first_frames": 10, "select_every_nth": 2,
               "frame_load_cap": 20, "custom_width": 64})
    images, audio = out["images"], out["audio"]
    assert out["frame_count"] == 20 and images.shape[0] == 20 and images.shape[2] == 64
    assert out["fps"] == pytest.approx(12.0)
    assert audio["waveform"].shape[-1] == pytest.approx(20 / 12 * audio["sample_rate"], rel=0.05)


def test_status_text_and_progress_name_the_request(comfy, sandbox):
    sandbox.settings.queue_seconds = 0.6
    out = run({"prompt": "a fox"}, unique_id="42")
    request_id = out["request_id"]
    texts = [text for node, text in comfy.progress_texts if node == "42"]
    assert any("Queued" in t for t in texts) and any(request_id[:8] in t for t in texts)
    assert any(t.startswith("Done") or "Done" in t for t in texts)
    assert comfy.bar_values and comfy.bar_values[-1][1:] == (job_runner.BAR_STEPS, job_runner.BAR_STEPS)


# --- cancel and concurrency --------------------------------------------------------------------

def test_cancel_while_queued_interrupts_quickly_and_cancels_the_job(comfy, sandbox):
    sandbox.settings.queue_seconds = 30
    threading.Timer(0.5, lambda: setattr(comfy, "interrupted", True)).start()
    began = time.monotonic()
    with pytest.raises(InterruptProcessingException) as info:
        run({"prompt": "a fox"})
    assert time.monotonic() - began < 5  # not the 30 s the job would have queued
    request_id = sandbox.submissions_ids[0]
    assert sandbox.job(request_id)["status"] == "cancelled"
    assert "cancelled" in str(info.value) and request_id in str(info.value)


def test_cancel_while_generating_says_so(comfy, sandbox):
    sandbox.settings.queue_seconds = 0
    sandbox.settings.run_seconds = 30
    threading.Timer(0.5, lambda: setattr(comfy, "interrupted", True)).start()
    with pytest.raises(InterruptProcessingException) as info:
        run({"prompt": "a fox"})
    assert "can no longer be cancelled" in str(info.value)


def test_two_nodes_generate_at_the_same_time(comfy, sandbox):
    sandbox.settings.queue_seconds = 0.2
    sandbox.settings.run_seconds = 1.5

    async def both():
        base = dict(negative_prompt="", duration=3, aspect_ratio="1:1", cfg_scale=0.5, sound=False)
        return await asyncio.gather(T2V().generate(prompt="one", seed=1, unique_id="1", **base),
                                    T2V().generate(prompt="two", seed=2, unique_id="2", **base))
    first, second = asyncio.run(both())
    ids = [outputs(T2V, answer)["request_id"] for answer in (first, second)]
    jobs = [sandbox.job(i) for i in ids]
    # the second job was submitted before the first one finished: they overlapped
    assert max(j["submitted_at_monotonic"] for j in jobs) < min(j["finished_at_monotonic"] for j in jobs)


def test_when_comfyui_cancels_the_task_the_worker_stops_and_cancels_the_queued_job(comfy, sandbox):
    # What ComfyUI does to the other running nodes when one node of the graph fails.
    sandbox.settings.queue_seconds = 30

    async def cancelled_midway():
        task = asyncio.ensure_future(T2V().generate(prompt="a fox", negative_prompt="", duration=3,
                                                    aspect_ratio="16:9", cfg_scale=0.5, sound=True, seed=5))
        while not sandbox.submissions:
            await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    asyncio.run(cancelled_midway())  # asyncio.run waits for the worker thread, as ComfyUI does
    assert sandbox.job(sandbox.submissions_ids[0])["status"] == "cancelled"
