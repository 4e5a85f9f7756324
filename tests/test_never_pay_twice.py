"""A paid generation is never lost and never paid twice: across kills, restarts, two processes
sharing the data folder, new decode options, cache eviction and expired remote files."""
from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from comfy_stubs import FakeComfy, InterruptProcessingException
from node_outputs import outputs
from pack_loader import load_pack, pack_module

pack = load_pack()
errors = pack_module("core.errors")
journal_module = pack_module("core.store.journal")
folder_module = pack_module("core.store.folder")
result_cache = pack_module("core.store.result_cache")
t2v_module = pack_module("nodes.text_to_video_node")
T2V = pack.NODE_CLASS_MAPPINGS["RunComfyKling3TextToVideo"]
TESTS_DIR = Path(__file__).resolve().parent
INPUTS = dict(prompt="a red fox in snow", negative_prompt="", duration=3, aspect_ratio="16:9",
              cfg_scale=0.5, sound=True, seed=11)
FETCH_NODE = "Kling 3.0 Fetch Result (RunComfy)"


def home(root: Path) -> Path:
    """The pack's data folder inside the (stand-in) ComfyUI at ``root``."""
    return root / "user" / "__runcomfy"


def run(**changes):
    """The text-to-video node's outputs, by name."""
    return outputs(T2V, asyncio.run(T2V().generate(unique_id="5", **{**INPUTS, **changes})))


def api_requests(sandbox):
    return [r for r in sandbox.requests if r.origin == "api"]


# --- in one process ------------------------------------------------------------------------------

def test_same_inputs_reuse_the_result_and_new_frame_options_decode_it_again_without_requests(comfy, sandbox):
    first = run()
    assert len(sandbox.submissions) == 1
    seen = len(sandbox.requests)
    again = run()
    fewer = run(frame_load_cap=10, select_every_nth=2, custom_width=64)
    assert len(sandbox.requests) == seen  # no API call, no download
    assert again["request_id"] == fewer["request_id"] == first["request_id"]
    assert again["frame_count"] == 72 and fewer["frame_count"] == 10
    assert fewer["images"].shape[2] == 64 and fewer["fps"] == pytest.approx(12.0)
    assert run(seed=12)["request_id"] != first["request_id"]  # a new seed is a new generation
    assert len(sandbox.submissions) == 2


def test_the_journal_records_each_step_outside_the_pack_folder(comfy, sandbox):
    out = run()
    entries = list(folder_module.StateFolder(home(comfy.root)).journal().entries())
    assert len(entries) == 1
    entry = entries[0]
    assert (entry.state, entry.request_id, entry.seed) == ("completed", out["request_id"], 11)
    assert entry.body == sandbox.submissions[0] and "seed" not in entry.body
    assert entry.video_url == out["video_url"]
    assert (home(comfy.root) / "results" / f"{entry.request_id}.mp4").is_file()


def test_expired_remote_result_is_served_from_the_cache_else_a_clear_error(comfy, sandbox):
    request_id = run()["request_id"]
    sandbox.expire(request_id)
    seen = len(sandbox.requests)
    assert run()["frame_count"] == 72 and len(sandbox.requests) == seen
    (home(comfy.root) / "results" / f"{request_id}.mp4").unlink()
    with pytest.raises(errors.ResultExpiredError) as info:
        run()
    assert request_id in str(info.value) and "seed" in str(info.value)
    assert len(sandbox.submissions) == 1


def test_an_evicted_video_is_downloaded_again_not_paid_again(comfy, sandbox, monkeypatch):
    monkeypatch.setenv("RUNCOMFY_KLING3_CACHE_MAX_GB", "0.000001")  # about 1 KiB: one video at most
    monkeypatch.setattr(result_cache, "PINNED_FILES", 0)
    first = run(seed=1)["request_id"]
    second = run(seed=2)["request_id"]
    results = home(comfy.root) / "results"
    assert sorted(p.stem for p in results.glob("*.mp4")) == [second]
    files_before = len([r for r in sandbox.requests if r.origin == "files"])
    again = run(seed=1)
    assert again["request_id"] == first and again["frame_count"] == 72
    assert len(sandbox.submissions) == 2
    assert len([r for r in sandbox.requests if r.origin == "files"]) > files_before
    assert sorted(p.stem for p in results.glob("*.mp4")) == [first]


def test_a_failed_download_names_the_recovery_and_the_rerun_does_not_pay_again(comfy, sandbox):
    sandbox.faults.add("file", "wrong_content_type")
    with pytest.raises(errors.DownloadError) as info:
        run()
    request_id = sandbox.submissions_ids[0]
    assert request_id in str(info.value) and FETCH_NODE in str(info.value)
    out = run()
    assert out["request_id"] == request_id and out["frame_count"] == 72
    assert len(sandbox.submissions) == 1


def test_cancel_while_generating_then_rerun_reattaches_to_the_paid_job(comfy, sandbox):
    sandbox.settings.queue_seconds = 0
    sandbox.settings.run_seconds = 2.0
    threading.Timer(0.5, lambda: setattr(comfy, "interrupted", True)).start()
    with pytest.raises(InterruptProcessingException) as info:
        run()
    request_id = sandbox.submissions_ids[0]
    assert "can no longer be cancelled" in str(info.value) and FETCH_NODE in str(info.value)
    comfy.interrupted = False
    assert run()["request_id"] == request_id
    assert len(sandbox.submissions) == 1


def test_cancelled_or_failed_jobs_cost_nothing_so_a_rerun_submits_anew(comfy, sandbox):
    sandbox.settings.queue_seconds = 30
    threading.Timer(0.4, lambda: setattr(comfy, "interrupted", True)).start()
    with pytest.raises(InterruptProcessingException):
        run()
    assert sandbox.job(sandbox.submissions_ids[0])["status"] == "cancelled"
    comfy.interrupted = False
    sandbox.settings.queue_seconds = 0.2
    sandbox.settings.job_outcome = "failed"
    with pytest.raises(errors.JobFailedError) as info:
        run()
    assert FETCH_NODE not in str(info.value)  # nothing to recover from a failed job
    sandbox.settings.job_outcome = "completed"
    out = run()
    assert len(sandbox.submissions) == 3 and out["request_id"] == sandbox.submissions_ids[2]


def test_a_submit_whose_answer_was_lost_is_never_sent_again_by_itself(comfy, sandbox):
    sandbox.faults.add("submit", "drop_after_accept")
    with pytest.raises(errors.SubmissionOutcomeUnknownError):
        run()
    with pytest.raises(errors.SubmissionOutcomeUnknownError) as info:
        run()
    text = str(info.value)
    assert "stopped while submitting" in text and FETCH_NODE in text and "change the seed" in text
    assert len(sandbox.submissions) == 1
    assert run(seed=99)["request_id"] == sandbox.submissions_ids[1]  # a new seed is a new, deliberate job
    assert len(sandbox.submissions) == 2


def test_a_submit_the_api_refused_leaves_nothing_behind(comfy, sandbox, monkeypatch):
    monkeypatch.setenv("RUNCOMFY_API_TOKEN", "sandbox-no-balance")
    with pytest.raises(errors.InsufficientBalanceError):
        run()
    monkeypatch.setenv("RUNCOMFY_API_TOKEN", "sandbox-token")
    assert run()["frame_count"] == 72  # the refused submit created no job: submitting again is fine
    assert len(sandbox.submissions) == 1


def test_a_server_error_on_submit_blocks_a_blind_resubmission(comfy, sandbox):
    sandbox.faults.add("submit", "http_502")
    with pytest.raises(errors.SubmissionOutcomeUnknownError):
        run()
    with pytest.raises(errors.SubmissionOutcomeUnknownError, match="history"):
        run()
    assert len([r for r in sandbox.requests if r.method == "POST" and "/v1/models/" in r.path]) == 1


def test_every_error_after_submission_points_to_the_recovery_node():
    gone = {errors.JobFailedError, errors.JobCancelledError, errors.RequestNotFoundError,
            errors.ResultExpiredError}
    for cls in (errors.WaitTimeoutError, errors.DownloadError, errors.FileTooLargeError,
                errors.DecodeError, errors.NotEnoughMemoryError, errors.ServerError,
                errors.ApiUnreachableError, errors.ProtocolError, errors.AuthenticationError,
                errors.RateLimitedError, *gone):
        error = cls("Something broke", request_id="req-42")
        later = cls("Something broke").with_request_id("req-42")
        for text in (str(error), str(later)):
            assert "req-42" in text and (FETCH_NODE in text) == (cls not in gone), cls
    assert FETCH_NODE not in str(errors.ServerError("before any submission"))
    assert FETCH_NODE in str(errors.StoppedError("stopped", request_id="r", remote_cancelled=False))
    assert FETCH_NODE not in str(errors.StoppedError("stopped", request_id="r", remote_cancelled=True))


# --- across processes ------------------------------------------------------------------------------

CHILD = r"""
import asyncio, json, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from comfy_stubs import FakeComfy
sys.modules.update(FakeComfy(Path(sys.argv[2])).modules())
from node_outputs import outputs
from pack_loader import load_pack, pack_module
pack = load_pack()
pack_module("nodes.text_to_video_node").POLL_INTERVAL_S = 0.05
node = pack.NODE_CLASS_MAPPINGS["RunComfyKling3TextToVideo"]()
out = outputs(node, asyncio.run(node.generate(unique_id="1", **json.loads(sys.argv[3]))))
print("RESULT " + json.dumps({"request_id": out["request_id"], "frame_count": out["frame_count"],
                              "fps": out["fps"], "shape": list(out["images"].shape)}), flush=True)
"""


def start_child(root: Path, **changes) -> subprocess.Popen:
    script = root / "child.py"
    script.write_text(CHILD)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}  # RUNCOMFY_* come from the api_env fixture
    return subprocess.Popen([sys.executable, str(script), str(TESTS_DIR), str(root),
                             json.dumps({**INPUTS, **changes})],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def child_result(child: subprocess.Popen) -> dict:
    out, err = child.communicate(timeout=120)
    lines = [line for line in out.splitlines() if line.startswith("RESULT ")]
    assert child.returncode == 0 and lines, err[-3000:]
    return json.loads(lines[-1][len("RESULT "):])


def wait_for_submitted(root: Path, child: subprocess.Popen) -> journal_module.JournalEntry:
    """The journal entry once it holds the request id (the child is then waiting for the job)."""
    journal = folder_module.StateFolder(home(root)).journal()
    deadline = time.monotonic() + 60  # a guard against hanging, not a speed requirement
    while time.monotonic() < deadline and child.poll() is None:
        entries = [e for e in journal.entries() if e.state == "submitted"]
        if entries:
            return entries[0]
        time.sleep(0.02)
    child.kill()
    pytest.fail(f"the child never recorded a submission: {child.communicate()[1][-3000:]}")


def test_killed_mid_wait_and_restarted_the_same_job_is_awaited_not_paid_again(tmp_path, api_env, sandbox):
    sandbox.settings.queue_seconds = 4.0
    sandbox.settings.run_seconds = 0.5
    first = start_child(tmp_path)
    entry = wait_for_submitted(tmp_path, first)
    assert sandbox.submissions_ids == [entry.request_id]
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert sandbox.job(entry.request_id)["status"] in ("in_queue", "in_progress")  # killed mid-wait
    killed_at = time.monotonic()

    result = child_result(start_child(tmp_path))
    assert len(sandbox.submissions) == 1
    assert result["request_id"] == entry.request_id and result["frame_count"] == 72
    assert result["shape"][0] == 72 and result["shape"][3] == 3
    polls = [r for r in sandbox.requests if r.path.endswith("/status") and r.time > killed_at]
    assert polls  # the restarted process re-attached and waited for the running job


def test_a_restarted_process_reuses_the_result_and_decodes_new_options_without_requests(tmp_path, api_env, sandbox, monkeypatch):
    FakeComfy(tmp_path).install(monkeypatch)
    request_id = run()["request_id"]
    seen = len(sandbox.requests)
    result = child_result(start_child(tmp_path, frame_load_cap=12, custom_width=96))
    assert result["request_id"] == request_id and result["frame_count"] == 12 and result["shape"][2] == 96
    assert len(sandbox.requests) == seen and len(sandbox.submissions) == 1


def test_two_processes_with_the_same_inputs_share_one_job(tmp_path, api_env, sandbox):
    sandbox.settings.queue_seconds = 1.0
    children = [start_child(tmp_path), start_child(tmp_path)]
    results = [child_result(child) for child in children]
    assert len(sandbox.submissions) == 1
    assert results[0]["request_id"] == results[1]["request_id"] == sandbox.submissions_ids[0]
    assert results[0]["frame_count"] == results[1]["frame_count"] == 72
