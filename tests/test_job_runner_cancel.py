"""Cancel as ComfyUI delivers it to a running node, without ComfyUI: its interrupt is a
``BaseException``, and when the node's progress hook is the first to look after Cancel, it raises
that interrupt and clears the flag, so no other check sees it. Then the job, and every job of the
batch (a prompt list runs the node once per prompt, all at once), must still stop: the submitted
job cancelled at the API, the jobs waiting for a slot never sent."""
from __future__ import annotations

import asyncio
import sys
import threading

import pytest

from comfy_stubs import InterruptProcessingException
from pack_loader import load_pack, pack_module

job_runner = pack_module("nodes.job_runner")
Progress = pack_module("core.status").Progress
T2V = load_pack().NODE_CLASS_MAPPINGS["RunComfyKling3TextToVideo"]
PROMPTS = ("a red fox in snow", "a lighthouse at dusk", "a paper boat in the rain")


def cancel_seen_only_by_the_progress_hook(comfy, monkeypatch) -> None:
    """Cancel is pressed; the first look at it is a progress-bar update, whose hook raises the
    interrupt and clears the flag (as ComfyUI's does); ``processing_interrupted()`` never sees it."""
    monkeypatch.setattr(sys.modules["comfy.model_management"], "processing_interrupted", lambda: False)
    comfy.interrupted = True


async def generate(prompt: str, unique_id: str):
    return await T2V().generate(prompt=prompt, negative_prompt="", duration=3, aspect_ratio="16:9",
                                cfg_scale=0.5, sound=False, seed=11, unique_id=unique_id)


def test_interrupt_raised_by_the_progress_hook_cancels_the_job(comfy, sandbox, monkeypatch):
    assert not issubclass(InterruptProcessingException, Exception)  # the stand-in is faithful
    sandbox.settings.queue_seconds = 20
    cancel_seen_only_by_the_progress_hook(comfy, monkeypatch)
    with pytest.raises(InterruptProcessingException) as info:
        asyncio.run(generate("a fox", "7"))
    (request_id,) = sandbox.submissions_ids
    # the worker was stopped, not left polling: the queued job is cancelled, not generated
    assert sandbox.job(request_id)["status"] == "cancelled"
    assert "cancelled" in str(info.value) and request_id in str(info.value)


def test_interrupt_raised_by_one_jobs_hook_stops_the_whole_batch(comfy, sandbox, monkeypatch):
    monkeypatch.setenv("RUNCOMFY_KLING3_MAX_PARALLEL", "1")
    sandbox.settings.queue_seconds = 20
    cancel_seen_only_by_the_progress_hook(comfy, monkeypatch)

    async def batch():
        return await asyncio.gather(*(generate(p, str(i)) for i, p in enumerate(PROMPTS)),
                                    return_exceptions=True)
    answers = asyncio.run(batch())
    assert all(isinstance(answer, InterruptProcessingException) for answer in answers), answers
    # only the job holding the one slot was sent, and it is cancelled; the two waiting never were
    (request_id,) = sandbox.submissions_ids
    assert sandbox.job(request_id)["status"] == "cancelled"
    texts = sorted(str(answer) for answer in answers)
    assert sum("nothing was submitted" in text for text in texts) == 2, texts


def test_a_cancel_seen_by_one_job_reaches_the_other_jobs_workers_at_once(monkeypatch):
    # A job waiting for a slot must see the batch's Cancel before the first job's slot comes
    # free, which can be sooner than its own loop's next look: its worker reads the batch's
    # Cancel directly.
    monkeypatch.setattr(job_runner, "TICK_S", 30)  # this job's own loop does not look meanwhile
    go = threading.Event()

    def work(should_stop):
        go.wait(10)
        return should_stop()

    async def main():
        job = asyncio.ensure_future(job_runner.run_job(work, Progress(), job_runner.StatusView(None)))
        await asyncio.sleep(0.05)  # the job has started
        job_runner._cancels.note()  # another job of the batch saw Cancel
        go.set()
        return await job
    assert asyncio.run(main()) is True
