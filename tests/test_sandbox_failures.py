"""Where the sandbox puts the reason of a failed or cancelled job: by default only in the result
answer (the status answer says just ``failed``), as RunComfy's own nodes read it; settings put
it in the status answer too or instead, as a string, an object or any JSON value."""
from __future__ import annotations

import pytest
import requests

from sandbox_http import TOKEN, get, submit, wait_status

REASONS = [
    "content policy violation",                                   # a string
    {"code": "content_policy", "message": "blocked"},             # an object
    {"error_code": 500001, "error_message": "generation crashed"},  # the API's error shape
    '{"code": "timeout", "message": "took too long"}',            # JSON inside a string
]


@pytest.mark.parametrize("reason", REASONS)
def test_failed_job_gives_its_reason_only_in_the_result_by_default(sandbox, reason):
    sandbox.settings.job_outcome = "failed"
    sandbox.settings.failure_error = reason
    request_id = submit(sandbox).json()["request_id"]
    status = wait_status(sandbox, request_id, "failed")
    assert "error" not in status and status["status"] == "failed"
    result = get(sandbox, request_id, "result").json()
    assert result["status"] == "failed" and result["error"] == reason
    assert result["request_id"] == request_id and "output" not in result
    assert result["created_at"] <= result["finished_at"]


@pytest.mark.parametrize("place, in_status, in_result", [
    ("result", False, True), ("status", True, False), ("both", True, True)])
def test_failure_error_in_chooses_the_answers_that_carry_the_reason(sandbox, place, in_status,
                                                                      in_result):
    sandbox.settings.job_outcome = "failed"
    reason = {"code": "nsfw", "message": "blocked"}
    sandbox.settings.failure_error = reason
    sandbox.settings.failure_error_in = place
    request_id = submit(sandbox).json()["request_id"]
    status = wait_status(sandbox, request_id, "failed")
    result = get(sandbox, request_id, "result").json()
    assert ("error" in status, "error" in result) == (in_status, in_result)
    assert status.get("error", reason) == result.get("error", reason) == reason


def test_failed_job_without_any_reason(sandbox):
    sandbox.settings.job_outcome = "failed"
    sandbox.settings.failure_error = None
    sandbox.settings.failure_error_in = "both"
    request_id = submit(sandbox).json()["request_id"]
    assert "error" not in wait_status(sandbox, request_id, "failed")
    assert "error" not in get(sandbox, request_id, "result").json()


@pytest.mark.parametrize("place", ["result", "status", "both"])
def test_cancelled_job_reason_follows_the_same_places(sandbox, place):
    sandbox.settings.queue_seconds = 60
    sandbox.settings.cancel_error = "Cancelled by the user"
    sandbox.settings.failure_error_in = place
    request_id = submit(sandbox).json()["request_id"]
    cancel = requests.post(f"{sandbox.api_base}/v1/requests/{request_id}/cancel", headers=TOKEN)
    assert cancel.json()["outcome"] == "cancelled"
    status = get(sandbox, request_id, "status").json()
    result = get(sandbox, request_id, "result").json()
    assert status["status"] == result["status"] == "cancelled"
    assert ("error" in status) == (place != "result")
    assert ("error" in result) == (place != "status")
    assert result.get("error", "Cancelled by the user") == "Cancelled by the user"
    assert result["created_at"] <= result["finished_at"]


def test_cancelled_job_has_no_reason_by_default(sandbox):
    sandbox.settings.queue_seconds = 60
    request_id = submit(sandbox).json()["request_id"]
    requests.post(f"{sandbox.api_base}/v1/requests/{request_id}/cancel", headers=TOKEN)
    assert "error" not in get(sandbox, request_id, "result").json()
    assert "error" not in get(sandbox, request_id, "status").json()


def test_alternate_status_spellings(sandbox):
    sandbox.settings.status_spelling = "alternate"
    request_id = submit(sandbox).json()["request_id"]
    wait_status(sandbox, request_id, "succeeded")
    assert get(sandbox, request_id, "result").json()["status"] == "succeeded"
    sandbox.settings.queue_seconds = 60
    queued = submit(sandbox).json()["request_id"]
    assert get(sandbox, queued, "status").json()["status"] == "in_queue"
    requests.post(f"{sandbox.api_base}/v1/requests/{queued}/cancel", headers=TOKEN)
    assert get(sandbox, queued, "status").json()["status"] == "canceled"
    assert get(sandbox, queued, "result").json()["status"] == "canceled"


@pytest.mark.parametrize("name, value", [
    ("failure_error", {1, 2}), ("failure_error", float("nan")), ("failure_error_in", "header"),
    ("status_spelling", "british"), ("cancel_error", object())])
def test_bad_failure_settings_are_refused(sandbox, name, value):
    with pytest.raises(ValueError):
        setattr(sandbox.settings, name, value)


def test_failure_settings_over_the_admin_route(sandbox):
    admin = f"{sandbox.api_base}/_sandbox/settings"
    patch = {"job_outcome": "failed", "failure_error": {"code": "x", "message": "y"},
             "failure_error_in": "status"}
    assert requests.post(admin, json=patch).json()["failure_error_in"] == "status"
    request_id = submit(sandbox).json()["request_id"]
    assert wait_status(sandbox, request_id, "failed")["error"] == {"code": "x", "message": "y"}
    assert "error" not in get(sandbox, request_id, "result").json()
