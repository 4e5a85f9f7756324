"""The local RunComfy API stand-in behaves like the documented API, over real HTTP."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import av
import numpy as np
import pytest
import requests

from pack_loader import PACK_DIR, pack_module

sandbox_pkg = pack_module("sandbox")
video_maker = pack_module("sandbox.video_maker")

MODEL = "kling/kling-3.0/pro/text-to-video"
TOKEN = {"Authorization": "Bearer sandbox-token"}
OTHER = {"Authorization": "Bearer sandbox-token-2"}
WAIT_LIMIT = 20.0   # seconds before a wait gives up; the jobs here take well under one


def submit(sb, body=None, headers=TOKEN, timeout=10):
    return requests.post(f"{sb.api_base}/v1/models/{MODEL}",
                         json={"prompt": "a red fox in snow"} if body is None else body,
                         headers=headers, timeout=timeout)


def get(sb, request_id, what, headers=TOKEN, timeout=10, **kwargs):
    return requests.get(f"{sb.api_base}/v1/requests/{request_id}/{what}", headers=headers,
                        timeout=timeout, **kwargs)


def wait_status(sb, request_id, wanted):
    deadline = time.monotonic() + WAIT_LIMIT
    while True:
        body = get(sb, request_id, "status").json()
        if body["status"] == wanted:
            return body
        assert time.monotonic() < deadline, f"job never reached {wanted}: {body}"
        time.sleep(0.02)


def finished_video_url(sb, body=None):
    request_id = submit(sb, body).json()["request_id"]
    wait_status(sb, request_id, "completed")
    return request_id, get(sb, request_id, "result").json()["output"]["video"]


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


def test_failed_job_carries_its_error(sandbox):
    sandbox.settings.job_outcome = "failed"
    sandbox.settings.failure_error = {"code": "content_policy", "message": "blocked"}
    request_id = submit(sandbox).json()["request_id"]
    status = wait_status(sandbox, request_id, "failed")
    assert status["error"] == {"code": "content_policy", "message": "blocked"}
    result = get(sandbox, request_id, "result").json()
    assert result["status"] == "failed" and result["error"] == status["error"]
    assert "output" not in result


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


# --- faults ------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind, status, code", [
    ("http_429", 429, 429), ("http_500", 500, 500001), ("http_503", 503, 500001)])
def test_http_error_faults_hit_count_requests_then_stop(sandbox, kind, status, code):
    sandbox.faults.add("model", kind, count=2, retry_after=2)
    url = f"{sandbox.api_base}/v1/models/{MODEL}"
    for _ in range(2):
        answer = requests.get(url, headers=TOKEN)
        assert answer.status_code == status and answer.json()["error_code"] == code
    if kind != "http_500":
        assert answer.headers["Retry-After"] == "2"
    assert requests.get(url, headers=TOKEN).status_code == 200


def test_http_502_is_a_gateway_html_page(sandbox):
    sandbox.faults.add("status", "http_502")
    answer = get(sandbox, "any-id", "status")
    assert answer.status_code == 502 and answer.headers["Content-Type"].startswith("text/html")


def test_drop_on_submit_creates_no_job(sandbox):
    sandbox.faults.add("submit", "drop")
    with pytest.raises(requests.ConnectionError):
        submit(sandbox)
    assert sandbox.submissions == []
    assert [r.status for r in sandbox.requests] == [None]   # it did arrive
    assert submit(sandbox).status_code == 200


def test_drop_after_accept_creates_the_job_but_never_answers(sandbox):
    sandbox.faults.add("submit", "drop_after_accept")
    with pytest.raises(requests.ConnectionError):
        submit(sandbox)
    assert len(sandbox.submissions) == 1
    request_id = sandbox.submissions[0].request_id
    wait_status(sandbox, request_id, "completed")


def test_slow_submit_still_creates_the_job(sandbox):
    sandbox.faults.add("submit", "slow", delay=1.0)
    with pytest.raises(requests.Timeout):
        submit(sandbox, timeout=0.2)
    deadline = time.monotonic() + WAIT_LIMIT
    while not sandbox.submissions:
        assert time.monotonic() < deadline
        time.sleep(0.02)


def test_slow_status_answers_after_the_delay(sandbox):
    request_id = submit(sandbox).json()["request_id"]
    sandbox.faults.add("status", "slow", delay=0.5)
    with pytest.raises(requests.Timeout):
        get(sandbox, request_id, "status", timeout=0.1)
    assert get(sandbox, request_id, "status").status_code == 200


def test_malformed_json_and_error_code_in_200(sandbox):
    request_id = submit(sandbox).json()["request_id"]
    sandbox.faults.add("result", "malformed_json")
    sandbox.faults.add("result", "error_code_200")
    broken = get(sandbox, request_id, "result")
    assert broken.status_code == 200
    with pytest.raises(ValueError):
        broken.json()
    hidden_error = get(sandbox, request_id, "result")
    assert hidden_error.status_code == 200 and hidden_error.json()["error_code"] == 500001
    assert get(sandbox, request_id, "result").json()["request_id"] == request_id


def test_faults_only_hit_their_route_and_can_be_cleared(sandbox):
    sandbox.faults.add("cancel", "http_500", count=None)
    request_id = submit(sandbox).json()["request_id"]
    assert get(sandbox, request_id, "status").status_code == 200
    cancel_url = f"{sandbox.api_base}/v1/requests/{request_id}/cancel"
    assert requests.post(cancel_url, headers=TOKEN).status_code == 500
    assert requests.post(cancel_url, headers=TOKEN).status_code == 500
    sandbox.faults.clear()
    assert requests.post(cancel_url, headers=TOKEN).status_code == 200


def test_truncated_file_is_detected_by_the_client(sandbox):
    _, url = finished_video_url(sandbox)
    full = requests.get(url).content
    sandbox.faults.add("file", "truncate", fraction=0.25)
    assert requests.head(url).status_code == 200      # a HEAD leaves the fault for the GET
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        requests.get(url).content
    assert requests.get(url).content == full


def test_wrong_content_type_file(sandbox):
    _, url = finished_video_url(sandbox)
    sandbox.faults.add("file", "wrong_content_type")
    answer = requests.get(url)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/html")
    assert b"<html" in answer.content


@pytest.mark.parametrize("route, kind", [("submit", "truncate"), ("file", "drop_after_accept"),
                                         ("nowhere", "drop"), ("status", "explode")])
def test_impossible_faults_are_refused(sandbox, route, kind):
    with pytest.raises(ValueError):
        sandbox.faults.add(route, kind)


# --- files -------------------------------------------------------------------------------------

def test_file_needs_no_token_and_supports_ranges(sandbox):
    _, url = finished_video_url(sandbox)
    head = requests.head(url)
    size = int(head.headers["Content-Length"])
    assert head.headers["Content-Type"] == "video/mp4"
    assert head.headers["Accept-Ranges"] == "bytes"
    full = requests.get(url).content
    assert len(full) == size and full[4:8] == b"ftyp"

    tail = requests.get(url, headers={"Range": "bytes=100-"})
    assert tail.status_code == 206
    assert tail.headers["Content-Range"] == f"bytes 100-{size - 1}/{size}"
    assert tail.content == full[100:]
    middle = requests.get(url, headers={"Range": "bytes=10-19"})
    assert middle.status_code == 206 and middle.content == full[10:20]
    assert int(middle.headers["Content-Length"]) == 10
    suffix = requests.get(url, headers={"Range": "bytes=-5"})
    assert suffix.content == full[-5:]
    beyond = requests.get(url, headers={"Range": f"bytes={size}-"})
    assert beyond.status_code == 416 and beyond.headers["Content-Range"] == f"bytes */{size}"

    files_requests = [r for r in sandbox.requests if r.origin == "files"]
    assert len(files_requests) == 6
    assert files_requests[1].headers.get("range") is None
    assert files_requests[2].headers["range"] == "bytes=100-"


def test_unknown_or_unfinished_file_is_404(sandbox):
    sandbox.settings.queue_seconds = 60
    request_id = submit(sandbox).json()["request_id"]
    assert requests.get(f"{sandbox.files_base}/files/{request_id}/kling-{request_id}.mp4") \
        .status_code == 404
    assert requests.get(f"{sandbox.files_base}/files/nope/x.mp4").status_code == 404


def test_expired_result_is_gone_everywhere(sandbox):
    request_id, url = finished_video_url(sandbox)
    assert sandbox.expire(request_id)
    for what in ("status", "result"):
        answer = get(sandbox, request_id, what)
        assert (answer.status_code, answer.json()["error_code"]) == (404, 404001)
    assert requests.get(url).status_code == 404


def test_result_ttl_expires_results(sandbox):
    sandbox.settings.result_ttl_seconds = 0.2
    request_id = submit(sandbox).json()["request_id"]
    deadline = time.monotonic() + WAIT_LIMIT
    while get(sandbox, request_id, "status").status_code != 404:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert get(sandbox, request_id, "result").json()["error_code"] == 404001


# --- the video ---------------------------------------------------------------------------------

def _download(url, tmp_path) -> Path:
    path = tmp_path / "clip.mp4"
    path.write_bytes(requests.get(url).content)
    return path


def test_multi_shot_video_has_shot_colours_at_the_right_frames(sandbox, tmp_path):
    body = {"prompt": "story", "duration": 9,
            "multi_prompt": [{"prompt": "dawn", "duration": 3}, {"prompt": "noon", "duration": 3},
                             {"prompt": "dusk", "duration": 3}]}
    _, url = finished_video_url(sandbox, body)
    with av.open(str(_download(url, tmp_path))) as container:
        video = container.streams.video[0]
        assert (video.width, video.height) == (240, 136)    # 1920x1080 * 0.125, even
        assert video.average_rate == 24
        audio = container.streams.audio
        assert len(audio) == 1 and audio[0].rate == 48000 and audio[0].channels == 2
        corners = [frame.to_ndarray(format="rgb24")[2, 2].astype(int)
                   for frame in container.decode(video=0)]
    assert len(corners) == 9 * 24
    for index, expected_shot in [(0, 0), (71, 0), (72, 1), (143, 1), (144, 2), (215, 2)]:
        expected = np.array(video_maker.SHOT_COLORS[expected_shot])
        assert np.abs(corners[index] - expected).max() < 24, (index, corners[index])


def test_silent_portrait_video_has_no_audio(sandbox, tmp_path):
    _, url = finished_video_url(sandbox, {"prompt": "x", "duration": 3, "aspect_ratio": "9:16",
                                          "sound": False})
    with av.open(str(_download(url, tmp_path))) as container:
        video = container.streams.video[0]
        assert (video.width, video.height) == (136, 240)
        assert len(container.streams.audio) == 0
        assert sum(1 for _ in container.decode(video=0)) == 72


# --- controls ----------------------------------------------------------------------------------

def test_admin_routes_control_the_sandbox_and_are_not_logged(sandbox):
    admin = f"{sandbox.api_base}/_sandbox"
    patched = requests.post(f"{admin}/settings", json={"queue_seconds": 60}).json()
    assert patched["queue_seconds"] == 60 == sandbox.settings.queue_seconds
    assert requests.post(f"{admin}/settings", json={"queue_secs": 1}).status_code == 400
    request_id = submit(sandbox).json()["request_id"]
    requests.post(f"{admin}/faults", json={"route": "status", "kind": "http_500"})
    assert get(sandbox, request_id, "status").status_code == 500
    requests.post(f"{admin}/faults", json={"route": "status", "kind": "http_500"})
    requests.post(f"{admin}/faults", json={"clear": True})
    assert get(sandbox, request_id, "status").status_code == 200
    log = requests.get(f"{admin}/requests").json()["requests"]
    assert [r["method"] for r in log] == ["POST", "GET", "GET"]
    assert log[0]["headers"]["Authorization"] == "Bearer sandbox-token"
    assert requests.post(f"{admin}/expire/{request_id}").status_code == 200
    assert get(sandbox, request_id, "status").status_code == 404
    requests.post(f"{admin}/reset")
    assert sandbox.requests == [] and sandbox.settings.queue_seconds == 0.3
    assert sandbox.job(request_id) is None


def test_reset_forgets_jobs_faults_log_and_settings(sandbox):
    sandbox.settings.run_seconds = 99
    sandbox.faults.add("submit", "http_500")
    submit(sandbox)
    request_id = submit(sandbox).json()["request_id"]
    sandbox.reset()
    assert sandbox.requests == [] and sandbox.submissions == []
    assert sandbox.settings.run_seconds == 0.3
    assert get(sandbox, request_id, "status").status_code == 404
    assert submit(sandbox).status_code == 200


def test_unknown_setting_is_refused(sandbox):
    with pytest.raises(AttributeError):
        sandbox.settings.run_second = 1
    with pytest.raises(ValueError):
        sandbox.settings.job_outcome = "exploded"


def test_command_line_prints_the_two_exports_and_stops_on_ctrl_c():
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--port", "0", "--files-port", "0", "--quiet"],
        cwd=PACK_DIR, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        lines = [process.stdout.readline().strip() for _ in range(2)]
        assert lines[0].startswith("export RUNCOMFY_API_BASE=http://127.0.0.1:")
        assert lines[1] == "export RUNCOMFY_API_TOKEN=sandbox-token"
        base = lines[0].split("=", 1)[1]
        info = requests.get(f"{base}/v1/models/{MODEL}", headers=TOKEN, timeout=10)
        assert info.json()["model_id"] == MODEL
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_command_line_refuses_a_public_address():
    process = subprocess.run([sys.executable, "-m", "sandbox", "--host", "0.0.0.0"], cwd=PACK_DIR,
                             capture_output=True, text=True, timeout=30)
    assert process.returncode == 2 and "--allow-remote" in process.stderr
