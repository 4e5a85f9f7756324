"""The RunComfy client waiting for a job over real loopback HTTP against the sandbox, with faults
injected: status faults survived, failures and cancels named, stop, the polling pace, and the
token kept secret (submitting: test_client.py)."""
from __future__ import annotations

import logging
import threading
import time

import pytest

from client_helpers import BODY, MODEL, api_requests, make_client
from pack_loader import pack_module

errors = pack_module("core.errors")
job = pack_module("core.api.handle")
stopping = pack_module("core.stopping")


@pytest.mark.parametrize("fault", ["http_500", "http_502", "http_503", "drop", "malformed_json", "error_code_200", "http_429"])
def test_transient_status_faults_are_survived(sandbox, fault):
    with make_client(sandbox) as client:
        handle = client.submit(MODEL, BODY)
        sandbox.faults.add("status", fault, count=2, retry_after=0)
        result = handle.wait(poll_interval=0.05)
    assert result.request_id == handle.request_id and result.video_url.startswith(sandbox.files_base)


def test_persistent_status_errors_end_with_the_request_id(sandbox, monkeypatch):
    monkeypatch.setattr(job, "MAX_FAILED_POLLS", 2)
    with make_client(sandbox, attempts=0) as client:
        handle = client.submit(MODEL, BODY)
        sandbox.faults.add("status", "http_500", count=100)
        with pytest.raises(errors.ServerError) as info:
            handle.wait(poll_interval=0.05)
    assert handle.request_id in str(info.value)


@pytest.mark.parametrize("reason", ["content policy violation",
                                    {"code": "policy", "message": "content policy violation"}])
@pytest.mark.parametrize("where", ["result", "status", "both"])
def test_failed_job_carries_reason_and_id_wherever_the_api_puts_it(sandbox, reason, where):
    """A status answer may say only "failed": the reason is then read once from the result."""
    sandbox.settings.job_outcome = "failed"
    sandbox.settings.failure_error = reason
    sandbox.settings.failure_error_in = where
    with make_client(sandbox) as client:
        handle = client.submit(MODEL, BODY)
        with pytest.raises(errors.JobFailedError) as info:
            handle.wait(poll_interval=0.05)
    text = str(info.value)
    assert "content policy violation" in text and handle.request_id in text and "no reason" not in text


def test_a_job_cancelled_elsewhere_gives_the_reason_from_its_result(sandbox):
    sandbox.settings.queue_seconds = 30
    sandbox.settings.cancel_error = "cancelled by the account owner"
    with make_client(sandbox) as client:
        handle = client.submit(MODEL, BODY)
        assert handle.cancel() is True
        with pytest.raises(errors.JobCancelledError) as info:
            handle.wait(poll_interval=0.05)
    assert "cancelled by the account owner" in str(info.value) and handle.request_id in str(info.value)


@pytest.mark.parametrize("queue_s, run_s, cancelled, words", [
    (30, 0.3, True, "cancelled, nothing is charged"),          # still queued: cancelled
    (0, 30, False, "can no longer be cancelled"),              # generating: says it will be charged
])
def test_stop_cancels_a_queued_job_and_says_when_it_cannot(sandbox, queue_s, run_s, cancelled, words):
    sandbox.settings.queue_seconds = queue_s
    sandbox.settings.run_seconds = run_s
    stop = threading.Event()
    with make_client(sandbox) as client:
        handle = client.submit(MODEL, BODY)
        threading.Timer(0.3, stop.set).start()
        with pytest.raises(errors.StoppedError) as info:
            with stopping.scope(stop.is_set):
                handle.wait(poll_interval=0.05)
        assert isinstance(handle.status(), job.Cancelled) is cancelled
    assert info.value.remote_cancelled is cancelled
    assert words in str(info.value) and handle.request_id in str(info.value)


def test_stop_interrupts_a_long_retry_after(sandbox):
    stop = threading.Event()
    with make_client(sandbox) as client:
        handle = client.submit(MODEL, BODY)
        sandbox.faults.add("status", "http_429", count=5, retry_after=60)
        threading.Timer(0.3, stop.set).start()
        began = time.monotonic()
        with pytest.raises(errors.StoppedError):
            with stopping.scope(stop.is_set):
                handle.wait(poll_interval=0.05)
    assert time.monotonic() - began < 10  # a wait of 60 s was cut short


def test_job_cancelled_elsewhere(sandbox):
    sandbox.settings.queue_seconds = 30
    with make_client(sandbox) as client:
        handle = client.submit(MODEL, BODY)
        assert handle.cancel() is True
        with pytest.raises(errors.JobCancelledError) as info:
            handle.wait(poll_interval=0.05)
    assert handle.request_id in str(info.value)


def test_wait_timeout_names_the_request(sandbox):
    sandbox.settings.run_seconds = 30
    with make_client(sandbox) as client:
        handle = client.submit(MODEL, BODY)
        with pytest.raises(errors.WaitTimeoutError) as info:
            handle.wait(poll_interval=0.05, timeout=0.5)
    assert handle.request_id in str(info.value)


def test_at_most_one_status_request_per_interval_and_completion_noticed_promptly(sandbox):
    sandbox.settings.queue_seconds = 0.2
    sandbox.settings.run_seconds = 1.6
    interval = 0.4
    with make_client(sandbox) as client:
        handle = client.submit(MODEL, BODY)
        began = time.monotonic()
        handle.wait(poll_interval=interval)
        waited = time.monotonic() - began
    polls = api_requests(sandbox, "/status")
    # one poll at the start, then at most one per interval (arrival times jitter on a busy machine)
    assert 2 <= len(polls) <= waited / interval + 1
    finished = sandbox.job(handle.request_id)["finished_at_monotonic"]
    assert polls[-1].time - finished <= interval + 0.5  # noticed within one interval (plus slack)


def test_token_never_in_logs_exceptions_or_reprs(sandbox, caplog):
    secret = "sandbox-token"
    caplog.set_level(logging.DEBUG)
    texts = []
    with make_client(sandbox, token=secret) as client:
        texts += [repr(client), repr(client.settings), repr(client._reads.auth)]
        handle = client.submit(MODEL, BODY)
        texts.append(repr(handle))
        sandbox.faults.add("status", "http_500", count=1)
        handle.wait(poll_interval=0.05)
        for call in (lambda: client.handle("missing").status(),
                     lambda: client.submit(MODEL, dict(BODY, prompt=" "))):
            with pytest.raises(errors.RunComfyError) as info:
                call()
            texts += [str(info.value), repr(info.value)]
    with make_client(sandbox, token="wrong-secret-value") as client, pytest.raises(errors.RunComfyError) as info:
        client.submit(MODEL, BODY)
    texts += [str(info.value), repr(info.value)]
    texts += [record.getMessage() for record in caplog.records]
    assert texts and not any(secret in t or "wrong-secret-value" in t for t in texts)


def test_token_is_not_sent_to_other_hosts(sandbox):
    with make_client(sandbox) as client:
        response = client._reads.get(sandbox.files_base + "/files/none/none.mp4")
    assert response.status_code == 404
    file_requests = [r for r in sandbox.requests if r.origin == "files"]
    assert file_requests and all("Authorization" not in r.headers for r in file_requests)
