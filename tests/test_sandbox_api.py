"""The local RunComfy API stand-in behaves like the documented API, over real HTTP: the job
lifecycle, cancel, input validation, tokens and ownership."""
from __future__ import annotations

import time
from datetime import datetime

import pytest
import requests

from sandbox_http import MODEL, OTHER, TOKEN, WAIT_LIMIT, get, submit, wait_status


# --- lifecycle ---------------------------------------------------------------------------------

def test_submit_answers_request_id_and_absolute_urls_on_api_origin(sandbox):
    answer = submit(sandbox)
    assert answer.status_code == 200
    body = answer.json()
    request_id = body["request_id"]
    assert set(body) == {"request_id", "status_url", "result_url", "cancel_url"}
    root = f"{sandbox.api_base}/v1/requests/{request_id}"
    assert body["status_url"] == f"{root}/status"
    assert body["result_url"] == f"{root}/result"
    assert body["cancel_url"] == f"{root}/cancel"
    assert sandbox.submissions == [{"prompt": "a red fox in snow"}]
    assert sandbox.submissions[0].request_id == request_id
    assert sandbox.submissions_ids == [request_id]
    job = sandbox.job(request_id)
    assert job["body"] == {"prompt": "a red fox in snow"} and job["status"] == "in_queue"
    # job times share the request log's clock
    assert sandbox.requests[0].time <= job["submitted_at_monotonic"]
    assert job["submitted_at_monotonic"] < job["finished_at_monotonic"]


def test_job_goes_through_queue_positions_then_progress_then_completed(sandbox):
    sandbox.settings.queue_seconds = 1.0
    sandbox.settings.queue_position_start = 3
    request_id = submit(sandbox).json()["request_id"]
    seen = []
    deadline = time.monotonic() + WAIT_LIMIT
    while not seen or seen[-1]["status"] != "completed":
        assert time.monotonic() < deadline
        seen.append(get(sandbox, request_id, "status").json())
        time.sleep(0.02)
    order = ["in_queue", "in_progress", "completed"]
    statuses = [s["status"] for s in seen]
    assert statuses == sorted(statuses, key=order.index)
    assert "in_queue" in statuses and "in_progress" in statuses
    positions = [s["queue_position"] for s in seen if s["status"] == "in_queue"]
    assert positions == sorted(positions, reverse=True)
    assert all(0 <= p <= 3 for p in positions) and len(set(positions)) >= 2
    for status in seen:
        assert status["request_id"] == request_id
        assert status["status_url"].endswith(f"/v1/requests/{request_id}/status")
        assert status["result_url"].endswith(f"/v1/requests/{request_id}/result")
        assert ("queue_position" in status) == (status["status"] == "in_queue")


def test_result_before_completion_is_the_current_status(sandbox):
    sandbox.settings.queue_seconds = 60
    request_id = submit(sandbox).json()["request_id"]
    result = get(sandbox, request_id, "result")
    assert result.status_code == 200
    assert result.json()["status"] == "in_queue"
    assert result.json()["queue_position"] == 3
    assert "output" not in result.json()


@pytest.mark.parametrize("body, cost", [
    ({"prompt": "p"}, 0.84),                                   # defaults: 5 s with sound
    ({"prompt": "p", "duration": 3, "sound": False}, 0.336),
    ({"prompt": "p", "duration": 15, "sound": True}, 2.52),
])
def test_completed_result_shape_and_cost(sandbox, body, cost):
    request_id = submit(sandbox, body).json()["request_id"]
    wait_status(sandbox, request_id, "completed")
    plain = get(sandbox, request_id, "result").json()
    assert set(plain) == {"request_id", "status", "output", "created_at", "finished_at"}
    assert plain["status"] == "completed" and plain["request_id"] == request_id
    assert plain["output"]["video"].startswith(f"{sandbox.files_base}/files/{request_id}/")
    assert plain["output"]["video"].endswith(".mp4")
    created = datetime.fromisoformat(plain["created_at"].replace("Z", "+00:00"))
    finished = datetime.fromisoformat(plain["finished_at"].replace("Z", "+00:00"))
    assert created < finished
    costed = get(sandbox, request_id, "result", params={"include_cost": "true"}).json()
    assert costed["cost"] == pytest.approx(cost)


def test_settings_are_taken_at_submit(sandbox):
    request_id = submit(sandbox).json()["request_id"]
    sandbox.settings.job_outcome = "failed"
    wait_status(sandbox, request_id, "completed")


# --- cancel ------------------------------------------------------------------------------------

def test_cancel_while_queued_cancels(sandbox):
    sandbox.settings.queue_seconds = 60
    request_id = submit(sandbox).json()["request_id"]
    answer = requests.post(f"{sandbox.api_base}/v1/requests/{request_id}/cancel", headers=TOKEN)
    assert answer.json() == {"request_id": request_id, "outcome": "cancelled"}
    assert get(sandbox, request_id, "status").json()["status"] == "cancelled"
    assert get(sandbox, request_id, "result").json()["status"] == "cancelled"


def test_cancel_while_running_is_refused_and_job_completes(sandbox):
    sandbox.settings.queue_seconds = 0
    sandbox.settings.run_seconds = 1.0
    request_id = submit(sandbox).json()["request_id"]
    wait_status(sandbox, request_id, "in_progress")
    answer = requests.post(f"{sandbox.api_base}/v1/requests/{request_id}/cancel", headers=TOKEN)
    assert answer.status_code == 200
    assert answer.json() == {"request_id": request_id, "outcome": "not_cancellable"}
    wait_status(sandbox, request_id, "completed")


# --- validation --------------------------------------------------------------------------------

VALID_FULL = {"prompt": "a fox", "negative_prompt": "blur", "duration": 9, "aspect_ratio": "1:1",
              "cfg_scale": 0.7, "sound": False, "shot_type": "customize",
              "multi_prompt": [{"prompt": "one", "duration": 3}, {"prompt": "two", "duration": 6}]}


@pytest.mark.parametrize("body", [
    VALID_FULL,
    {"prompt": "x", "cfg_scale": 0, "multi_prompt": []},
    # without duration, segment durations must add up to the default 5
    {"prompt": "x", "multi_prompt": [{"prompt": "a", "duration": 5}]},
])
def test_valid_bodies_are_accepted(sandbox, body):
    assert submit(sandbox, body).status_code == 200


@pytest.mark.parametrize("body, field", [
    ({}, "prompt"),
    ({"prompt": "   "}, "prompt"),
    ({"prompt": 5}, "prompt"),
    ({"prompt": "x" * 2501}, "prompt"),
    ({"prompt": "x", "negative_prompt": 1}, "negative_prompt"),
    ({"prompt": "x", "negative_prompt": "n" * 2501}, "negative_prompt"),
    ({"prompt": "x", "duration": 2}, "duration"),
    ({"prompt": "x", "duration": 16}, "duration"),
    ({"prompt": "x", "duration": 5.0}, "duration"),
    ({"prompt": "x", "duration": True}, "duration"),
    ({"prompt": "x", "duration": "5"}, "duration"),
    ({"prompt": "x", "aspect_ratio": "4:3"}, "aspect_ratio"),
    ({"prompt": "x", "cfg_scale": 1.5}, "cfg_scale"),
    ({"prompt": "x", "cfg_scale": True}, "cfg_scale"),
    ({"prompt": "x", "sound": "yes"}, "sound"),
    ({"prompt": "x", "shot_type": "intelligent"}, "shot_type"),
    ({"prompt": "x", "seed": 1}, "seed"),
    ({"prompt": "x", "multi_prompt": "a"}, "multi_prompt"),
    ({"prompt": "x", "multi_prompt": [{"prompt": "a", "duration": 3}] * 21}, "multi_prompt"),
    ({"prompt": "x", "duration": 6, "multi_prompt": [{"prompt": "a", "duration": 3}]},
     "multi_prompt"),
    ({"prompt": "x", "multi_prompt": [{"prompt": "a", "duration": 3},
                                      {"prompt": "b", "duration": 3}]}, "multi_prompt"),
    ({"prompt": "x", "multi_prompt": [{"prompt": " ", "duration": 5}]}, "multi_prompt[0].prompt"),
    ({"prompt": "x", "multi_prompt": [{"prompt": "p" * 513, "duration": 5}]},
     "multi_prompt[0].prompt"),
    ({"prompt": "x", "multi_prompt": [{"prompt": "a", "duration": 2}]},
     "multi_prompt[0].duration"),
    ({"prompt": "x", "multi_prompt": [{"prompt": "a"}]}, "multi_prompt[0].duration"),
    ({"prompt": "x", "multi_prompt": [{"prompt": "a", "duration": 5, "x": 1}]},
     "multi_prompt[0].x"),
    ({"prompt": "x", "multi_prompt": [5]}, "multi_prompt[0]"),
    (["prompt"], "body"),
])
def test_invalid_bodies_answer_422_naming_the_field(sandbox, body, field):
    answer = submit(sandbox, body)
    assert answer.status_code == 422
    error = answer.json()
    assert error["error_code"] == 422001 and error["error_message"]
    assert field in [item["field"] for item in error["detail"]]
    assert all(item["message"] for item in error["detail"])
    assert sandbox.submissions == []


def test_body_that_is_not_json_is_422(sandbox):
    answer = requests.post(f"{sandbox.api_base}/v1/models/{MODEL}", data=b"{nope",
                           headers={**TOKEN, "Content-Type": "application/json"})
    assert answer.status_code == 422 and answer.json()["error_code"] == 422001


# --- auth and ids ------------------------------------------------------------------------------

@pytest.mark.parametrize("headers, status, code", [
    ({}, 401, 401001),
    ({"Authorization": "sandbox-token"}, 401, 401001),
    ({"Authorization": "Basic c2FuZGJveA=="}, 401, 401001),
    ({"Authorization": "Bearer "}, 401, 401001),
    ({"Authorization": "Bearer wrong-token"}, 401, 400004),
    ({"Authorization": "Bearer sandbox-no-balance"}, 402, 400002),
])
def test_submit_auth_and_balance_errors(sandbox, headers, status, code):
    answer = submit(sandbox, headers=headers)
    assert answer.status_code == status
    assert answer.json()["error_code"] == code and answer.json()["error_message"]
    assert sandbox.submissions == []


@pytest.mark.parametrize("method, what", [("get", "status"), ("get", "result"),
                                          ("post", "cancel")])
def test_request_routes_check_token_owner_and_id(sandbox, method, what):
    sandbox.settings.queue_seconds = 60
    request_id = submit(sandbox).json()["request_id"]
    url = f"{sandbox.api_base}/v1/requests/{request_id}/{what}"
    call = getattr(requests, method)
    assert call(url).json()["error_code"] == 401001
    assert call(url, headers={"Authorization": "Bearer nope"}).json()["error_code"] == 400004
    other = call(url, headers=OTHER)
    assert (other.status_code, other.json()["error_code"]) == (403, 403001)
    unknown = call(f"{sandbox.api_base}/v1/requests/no-such-id/{what}", headers=TOKEN)
    assert (unknown.status_code, unknown.json()["error_code"]) == (404, 404001)
    assert call(url, headers=TOKEN).status_code == 200
    # the other user's attempt did not cancel anything
    assert sandbox.job(request_id)["status"] == "in_queue" or what == "cancel"


def test_model_info_needs_token_and_known_model(sandbox):
    url = f"{sandbox.api_base}/v1/models/{MODEL}"
    assert requests.get(url).status_code == 401
    info = requests.get(url, headers=TOKEN)
    assert info.json() == {"model_id": MODEL, "base_price_usd": 0.112, "price_unit": "second",
                           "pricing_note": "0.168 per second with sound"}
    for call in (requests.get, requests.post):
        unknown = call(f"{sandbox.api_base}/v1/models/kling/other", headers=TOKEN,
                       json={"prompt": "x"})
        assert (unknown.status_code, unknown.json()["error_code"]) == (400, 400001)
