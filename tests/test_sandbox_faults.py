"""Fault switches of the sandbox: each one really produces the broken answer over HTTP."""
from __future__ import annotations

import time

import pytest
import requests

from sandbox_http import MODEL, TOKEN, WAIT_LIMIT, finished_video_url, get, submit, wait_status


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


# --- answers that echo the token ---------------------------------------------------------------

@pytest.mark.parametrize("route, status, code", [
    ("submit", 401, 400004), ("submit", 422, 422001), ("status", 401, 400004),
    ("result", 500, 500001), ("model", 403, 403001)])
def test_echo_token_json_error_repeats_the_authorization_header(sandbox, route, status, code):
    sandbox.faults.add(route, "echo_token", status=status)
    if route == "submit":
        answer = submit(sandbox)
    elif route == "model":
        answer = requests.get(f"{sandbox.api_base}/v1/models/{MODEL}", headers=TOKEN, timeout=10)
    else:
        answer = get(sandbox, "any-id", route)
    assert answer.status_code == status
    body = answer.json()
    assert body["error_code"] == code
    assert TOKEN["Authorization"] in body["error_message"]
    if status == 422:
        assert TOKEN["Authorization"] in body["detail"][0]["message"]
    assert sandbox.submissions == []


@pytest.mark.parametrize("body, content_type", [("html", "text/html"), ("text", "text/plain")])
def test_echo_token_in_a_non_json_page(sandbox, body, content_type):
    sandbox.faults.add("status", "echo_token", status=502, body=body)
    answer = get(sandbox, "any-id", "status", headers={"Authorization": "Bearer s3cret-XYZ"})
    assert answer.status_code == 502
    assert answer.headers["Content-Type"].startswith(content_type)
    assert "Bearer s3cret-XYZ" in answer.text
    with pytest.raises(ValueError):
        answer.json()
    assert get(sandbox, "any-id", "status").status_code == 404      # one request only


def test_echo_token_over_the_admin_route(sandbox):
    admin = f"{sandbox.api_base}/_sandbox/faults"
    added = requests.post(admin, json={"route": "submit", "kind": "echo_token", "status": 422,
                                       "body": "html"})
    assert added.json()["faults"][0]["status"] == 422
    answer = submit(sandbox)
    assert answer.status_code == 422 and TOKEN["Authorization"] in answer.text
    assert requests.post(admin, json={"route": "submit", "kind": "echo_token",
                                      "status": 200}).status_code == 400
    assert requests.post(admin, json={"route": "submit", "kind": "echo_token",
                                      "body": "xml"}).status_code == 400
