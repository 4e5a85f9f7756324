"""The never-pay-twice state machine (core/submit_once.py), without ComfyUI or torch, over real
HTTP against the sandbox: every journal state a run can meet, both outcomes of a submit, re-attach
and expiry. A run here is ``Pipeline.generate``, the state machine's only caller."""
from __future__ import annotations

import sqlite3
import threading
import time

import pytest

from pack_loader import pack_module
from pipeline_helpers import FRAMES_OF_3S, api_calls, generate, make_pipeline, settings_for, small_request

errors = pack_module("core.errors")
journal_module = pack_module("core.store.journal")
submit_once = pack_module("core.submit_once")
status_module = pack_module("core.status")
MODEL_ID = pack_module("core.kling.request").MODEL_ID


def only_entry(pipeline):
    entries = list(pipeline.state.journal().entries())
    assert len(entries) == 1, entries
    return entries[0]


def seed_entry(pipeline, sandbox, state, *, seed=1, request_id=None, request=None):
    """Write the journal entry an earlier run would have left for ``seed``."""
    body = (request or small_request()).to_body()
    key = journal_module.fingerprint(MODEL_ID, body, seed, sandbox.api_base)
    entry = journal_module.JournalEntry(key, state, MODEL_ID, request_id=request_id, seed=seed,
                                        api_base=sandbox.api_base, body=body,
                                        created_at=time.time(), updated_at=time.time())
    pipeline.state.journal().begin(entry)
    return entry


def test_a_cancel_that_lands_while_taking_the_slot_sends_nothing(tmp_path, sandbox):
    """Cancel pressed while the job waited for its slot and the slot came free at that moment:
    the submit is not sent (not sent and then cancelled), and nothing is left in the journal."""
    pipeline = make_pipeline(tmp_path, sandbox)
    cancelled = threading.Event()
    client_module = pack_module("core.api.client")
    stopping = pack_module("core.stopping")
    with stopping.scope(cancelled.is_set), client_module.RunComfyClient(settings_for(sandbox)) as client:
        with pytest.raises(errors.StoppedError, match="nothing was sent"):
            submit_once.submit_or_attach(client, pipeline.state.journal(), MODEL_ID, small_request().to_body(), 1,
                                         progress=status_module.Progress(), is_cached=lambda _: False,
                                         before_submit=cancelled.set)
    assert sandbox.submissions == [] and list(pipeline.state.journal().entries()) == []


# --- none -> submitting -> submitted -> completed ------------------------------------------------

def test_a_new_fingerprint_submits_once_and_records_every_step(tmp_path, sandbox):
    pipeline = make_pipeline(tmp_path, sandbox)
    result = generate(pipeline, sandbox)
    assert len(sandbox.submissions) == 1 and result.video.request_id == sandbox.submissions_ids[0]
    entry = only_entry(pipeline)
    assert (entry.state, entry.request_id, entry.seed) == ("completed", result.video.request_id, 1)
    assert entry.body == sandbox.submissions[0] and entry.video_url == result.video.video_url
    assert result.clip.frames.frame_count == FRAMES_OF_3S and not result.video.reused


def test_completed_and_cached_is_reused_without_any_request(tmp_path, sandbox):
    pipeline = make_pipeline(tmp_path, sandbox)
    first = generate(pipeline, sandbox)
    seen = len(sandbox.requests)
    again = generate(pipeline, sandbox)
    assert len(sandbox.requests) == seen
    assert again.video.reused and again.video.request_id == first.video.request_id
    assert again.clip.frames.frame_count == FRAMES_OF_3S


def test_completed_but_evicted_reattaches_and_downloads_again_without_paying(tmp_path, sandbox):
    pipeline = make_pipeline(tmp_path, sandbox)
    first = generate(pipeline, sandbox)
    first.video.path.unlink()
    again = generate(pipeline, sandbox)
    assert len(sandbox.submissions) == 1 and again.video.request_id == first.video.request_id
    assert again.video.path.is_file() and not again.video.reused


def test_completed_evicted_and_expired_remotely_is_a_clear_error_not_a_new_job(tmp_path, sandbox):
    pipeline = make_pipeline(tmp_path, sandbox)
    first = generate(pipeline, sandbox)
    first.video.path.unlink()
    sandbox.expire(first.video.request_id)
    with pytest.raises(errors.ResultExpiredError) as info:
        generate(pipeline, sandbox)
    assert first.video.request_id in str(info.value) and "change the seed" in str(info.value)
    assert len(sandbox.submissions) == 1


# --- states left by a run that died --------------------------------------------------------------

def test_submitted_by_a_run_that_died_is_reattached_not_paid_again(tmp_path, sandbox):
    pipeline = make_pipeline(tmp_path, sandbox)
    with pipeline_client(sandbox) as client:
        earlier = client.submit(MODEL_ID, small_request().to_body()).request_id
    seed_entry(pipeline, sandbox, "submitted", request_id=earlier)
    result = generate(pipeline, sandbox)
    assert result.video.request_id == earlier and len(sandbox.submissions) == 1
    assert only_entry(pipeline).state == "completed"


def test_submitting_left_by_a_run_that_died_refuses_to_submit(tmp_path, sandbox):
    pipeline = make_pipeline(tmp_path, sandbox)
    entry = seed_entry(pipeline, sandbox, "submitting")
    with pytest.raises(errors.SubmissionOutcomeUnknownError) as info:
        generate(pipeline, sandbox)
    text = str(info.value)
    assert "request history" in text and entry.fingerprint[:16] in text
    assert api_calls(sandbox) == []
    assert generate(pipeline, sandbox, seed=2).video.request_id  # another seed is another job


@pytest.mark.parametrize("state", ["failed", "cancelled"])
def test_failed_or_cancelled_cost_nothing_so_the_next_run_submits(tmp_path, sandbox, state):
    pipeline = make_pipeline(tmp_path, sandbox)
    seed_entry(pipeline, sandbox, state, request_id="old-request")
    result = generate(pipeline, sandbox)
    assert len(sandbox.submissions) == 1 and result.video.request_id != "old-request"
    assert only_entry(pipeline).state == "completed"


@pytest.mark.parametrize("change", ["UPDATE jobs SET body = '{broken'", "UPDATE jobs SET state = 'paused'",
                                    "UPDATE jobs SET request_id = X'00'"])
def test_a_damaged_record_for_these_inputs_never_leads_to_a_submit(tmp_path, sandbox, change):
    pipeline = make_pipeline(tmp_path, sandbox)
    seed_entry(pipeline, sandbox, "submitted", request_id="r")
    with sqlite3.connect(tmp_path / "state.db") as db:
        db.execute(change)
    with pytest.raises(errors.StateFileError) as info:
        generate(pipeline, sandbox)
    assert str(tmp_path / "state.db") in str(info.value) and "change the seed" in str(info.value)
    assert api_calls(sandbox) == []
    assert generate(pipeline, sandbox, seed=2).video.request_id  # the way out: another seed


def test_an_unusable_state_database_never_leads_to_a_submit(tmp_path, sandbox):
    (tmp_path / "state.db").write_bytes(b"not a database" * 200)
    with pytest.raises(errors.StateFileError, match="state.db"):
        generate(make_pipeline(tmp_path, sandbox), sandbox)
    assert api_calls(sandbox) == []


# --- both outcomes of a submit -------------------------------------------------------------------

def test_a_refused_submit_leaves_no_record_so_the_next_run_may_submit(tmp_path, sandbox):
    pipeline = make_pipeline(tmp_path, sandbox)
    with pytest.raises(errors.InsufficientBalanceError):  # the API answered: no job was created
        generate(pipeline, sandbox, token="sandbox-no-balance")
    assert list(pipeline.state.journal().entries()) == [] and sandbox.submissions == []
    generate(pipeline, sandbox)
    assert len(sandbox.submissions) == 1 and only_entry(pipeline).state == "completed"


def test_a_refused_submit_restores_the_previous_record(tmp_path, sandbox):
    pipeline = make_pipeline(tmp_path, sandbox)
    seed_entry(pipeline, sandbox, "failed", request_id="old-request")
    sandbox.faults.add("submit", "http_429", count=None, retry_after=0)
    with pytest.raises(errors.RateLimitedError):
        generate(pipeline, sandbox)
    entry = only_entry(pipeline)
    assert (entry.state, entry.request_id) == ("failed", "old-request")


def test_a_submit_whose_answer_was_lost_stays_submitting_and_is_never_resent(tmp_path, sandbox):
    pipeline = make_pipeline(tmp_path, sandbox)
    sandbox.faults.add("submit", "drop_after_accept")
    with pytest.raises(errors.SubmissionOutcomeUnknownError):
        generate(pipeline, sandbox)
    assert len(sandbox.submissions) == 1 and only_entry(pipeline).state == "submitting"
    with pytest.raises(errors.SubmissionOutcomeUnknownError, match="stopped while submitting"):
        generate(pipeline, sandbox)
    assert len(sandbox.submissions) == 1


# --- outcomes of the job -------------------------------------------------------------------------

def test_a_failed_job_is_recorded_failed_with_its_reason(tmp_path, sandbox):
    pipeline = make_pipeline(tmp_path, sandbox)
    sandbox.settings.job_outcome = "failed"
    sandbox.settings.failure_error = "content policy violation"
    with pytest.raises(errors.JobFailedError):
        generate(pipeline, sandbox)
    entry = only_entry(pipeline)
    assert entry.state == "failed" and "content policy violation" in entry.error


def test_stop_while_queued_cancels_and_records_it(tmp_path, sandbox):
    pipeline = make_pipeline(tmp_path, sandbox)
    sandbox.settings.queue_seconds = 30
    stop = threading.Event()
    threading.Timer(0.3, stop.set).start()
    with pytest.raises(errors.StoppedError) as info:
        generate(pipeline, sandbox, should_stop=stop.is_set)
    assert info.value.remote_cancelled is True
    assert only_entry(pipeline).state == "cancelled"
    assert sandbox.job(sandbox.submissions_ids[0])["status"] == "cancelled"


def test_two_runs_with_the_same_inputs_at_once_submit_one_job(tmp_path, sandbox):
    pipeline = make_pipeline(tmp_path, sandbox)
    sandbox.settings.run_seconds = 1.0
    results = []
    runs = [threading.Thread(target=lambda: results.append(generate(pipeline, sandbox))) for _ in range(2)]
    for run in runs:
        run.start()
    for run in runs:
        run.join()
    assert len(sandbox.submissions) == 1
    assert {r.video.request_id for r in results} == set(sandbox.submissions_ids)


def pipeline_client(sandbox):
    return pack_module("core.api.client").RunComfyClient(settings_for(sandbox))
