"""Upgrading the pack carries a user's records over: jobs in flight are still known (re-attached,
or refused when their submit's outcome is unknown), unreadable old records still block their
inputs, and nothing is paid again. Torch-free, over real HTTP against the sandbox."""
from __future__ import annotations

import json
import time

import pytest

from pack_loader import pack_module
from pipeline_helpers import FRAMES_OF_3S, api_calls, generate, make_pipeline, settings_for, small_request

errors = pack_module("core.errors")
journal_module = pack_module("core.store.journal")
MODEL_ID = pack_module("core.kling.request").MODEL_ID


def old_record(root, sandbox, state, *, seed=1, request_id=None):
    """A journal file as versions before the state database wrote it."""
    body = small_request().to_body()
    key = journal_module.fingerprint(MODEL_ID, body, seed, sandbox.api_base)
    record = {"version": 1, "fingerprint": key, "state": state, "model_id": MODEL_ID, "request_id": request_id,
              "seed": seed, "api_base": sandbox.api_base, "body": body, "video_url": None, "cost_usd": None,
              "error": None, "created_at": time.time(), "updated_at": time.time()}
    folder = root / "journal"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{key}.json"
    path.write_text(json.dumps(record))
    return path


def test_a_job_in_flight_before_the_upgrade_is_reattached_not_paid_again(tmp_path, sandbox):
    with pack_module("core.api.client").RunComfyClient(settings_for(sandbox)) as client:
        request_id = client.submit(MODEL_ID, small_request().to_body()).request_id
    old_record(tmp_path, sandbox, "submitted", request_id=request_id)
    result = generate(make_pipeline(tmp_path, sandbox), sandbox)
    assert result.video.request_id == request_id and len(sandbox.submissions) == 1
    assert result.clip.frames.frame_count == FRAMES_OF_3S


def test_a_submit_interrupted_before_the_upgrade_is_still_refused(tmp_path, sandbox):
    old_record(tmp_path, sandbox, "submitting")
    with pytest.raises(errors.SubmissionOutcomeUnknownError, match="stopped while submitting"):
        generate(make_pipeline(tmp_path, sandbox), sandbox)
    assert api_calls(sandbox) == []


@pytest.mark.parametrize("content", [b"", b'{"fingerprint": "ab', b"[1, 2]", b"[" * 100_000])
def test_an_unreadable_old_record_still_blocks_its_inputs_naming_the_file(tmp_path, sandbox, content):
    path = old_record(tmp_path, sandbox, "submitted", request_id="r")
    path.write_bytes(content)
    with pytest.raises(errors.StateFileError) as info:
        generate(make_pipeline(tmp_path, sandbox), sandbox)
    assert str(path) in str(info.value) and "change the seed" in str(info.value)
    assert api_calls(sandbox) == []


def test_finished_and_failed_old_records_keep_their_meaning(tmp_path, sandbox):
    old_record(tmp_path, sandbox, "failed", seed=1, request_id="old-failed")
    old_record(tmp_path, sandbox, "completed", seed=2, request_id="old-done")
    pipeline = make_pipeline(tmp_path, sandbox)
    assert generate(pipeline, sandbox, seed=1).video.request_id != "old-failed"  # not billed: submit anew
    sandbox.expire("old-done")  # never known to this sandbox: the API answers 404
    with pytest.raises(errors.ResultExpiredError):
        generate(pipeline, sandbox, seed=2)
    assert len(sandbox.submissions) == 1
