"""Hostile answers the sandbox can give on purpose: result URLs pointing anywhere, file URLs
that redirect, request ids made to escape the URL path."""
from __future__ import annotations

import pytest
import requests

from sandbox_http import TOKEN, file_url, get, submit, wait_job, wait_status

HOSTILE_VIDEO_URLS = [
    "file:///etc/passwd",
    "ftp://files.example.net/kling.mp4",
    "data:video/mp4;base64,AAAAGGZ0eXBtcDQy",
    "/files/elsewhere/kling.mp4",          # relative to whatever the client resolves it against
    "kling.mp4",
    "http://169.254.169.254/latest/meta-data/",
]
REDIRECT_TARGETS = [
    "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "file:///etc/passwd",
    "http://example.com/kling.mp4",         # plain http, off the storage hosts
]
HOSTILE_IDS = ["../../x", "x?include_cost=false#"]


@pytest.mark.parametrize("url", HOSTILE_VIDEO_URLS)
def test_video_url_setting_puts_any_url_in_the_result(sandbox, url):
    sandbox.settings.video_url = url
    request_id = submit(sandbox).json()["request_id"]
    wait_status(sandbox, request_id, "completed")
    result = get(sandbox, request_id, "result").json()
    assert result["output"] == {"video": url}
    assert result["request_id"] == request_id and result["status"] == "completed"


def test_video_url_placeholders_use_the_real_file_url(sandbox):
    sandbox.settings.video_url = "{file_url}?next={files_base}/x/{request_id}"
    request_id = submit(sandbox).json()["request_id"]
    wait_status(sandbox, request_id, "completed")
    video = get(sandbox, request_id, "result").json()["output"]["video"]
    assert video == f"{file_url(sandbox, request_id)}?next={sandbox.files_base}/x/{request_id}"
    assert requests.get(video, timeout=10).content[4:8] == b"ftyp"


def test_video_url_is_taken_at_submit(sandbox):
    request_id = submit(sandbox).json()["request_id"]
    sandbox.settings.video_url = "file:///etc/passwd"
    wait_status(sandbox, request_id, "completed")
    video = get(sandbox, request_id, "result").json()["output"]["video"]
    assert video == file_url(sandbox, request_id)


@pytest.mark.parametrize("target", REDIRECT_TARGETS)
def test_file_host_url_redirects_where_told(sandbox, target):
    sandbox.settings.file_redirect = target
    request_id = submit(sandbox).json()["request_id"]
    wait_status(sandbox, request_id, "completed")
    video = get(sandbox, request_id, "result").json()["output"]["video"]
    assert video == file_url(sandbox, request_id)         # a normal loopback file-host URL
    answer = requests.get(video, allow_redirects=False, timeout=10)
    assert answer.status_code == 302 and answer.headers["Location"] == target
    assert answer.content == b""
    assert requests.head(video, timeout=10).headers["Location"] == target


@pytest.mark.parametrize("status", [301, 303, 307, 308])
def test_file_redirect_status_can_be_chosen(sandbox, status):
    sandbox.settings.file_redirect = "http://169.254.169.254/latest/meta-data/"
    sandbox.settings.file_redirect_status = status
    request_id = submit(sandbox).json()["request_id"]
    wait_status(sandbox, request_id, "completed")
    answer = requests.get(file_url(sandbox, request_id), allow_redirects=False, timeout=10)
    assert answer.status_code == status


def test_redirect_to_the_file_host_itself_serves_the_file(sandbox):
    first = submit(sandbox).json()["request_id"]
    wait_status(sandbox, first, "completed")
    sandbox.settings.file_redirect = file_url(sandbox, first)
    second = submit(sandbox).json()["request_id"]
    wait_status(sandbox, second, "completed")
    answer = requests.get(file_url(sandbox, second), timeout=10)
    assert answer.history[0].status_code == 302 and answer.content[4:8] == b"ftyp"


@pytest.mark.parametrize("hostile", HOSTILE_IDS)
def test_submit_answer_can_carry_a_hostile_request_id(sandbox, hostile):
    sandbox.settings.submit_request_id = hostile
    answer = submit(sandbox).json()
    assert answer["request_id"] == hostile
    assert answer["status_url"] == f"{sandbox.api_base}/v1/requests/{hostile}/status"
    assert answer["result_url"] == f"{sandbox.api_base}/v1/requests/{hostile}/result"
    real = sandbox.submissions_ids[0]
    assert real != hostile
    wait_job(sandbox, real, "completed")       # the job itself runs as usual under its real id


def test_a_naive_client_sends_the_token_where_a_hostile_id_points(sandbox):
    sandbox.settings.submit_request_id = "x?include_cost=false#"
    request_id = submit(sandbox).json()["request_id"]
    requests.get(f"{sandbox.api_base}/v1/requests/{request_id}/result", headers=TOKEN, timeout=10)
    landed = sandbox.requests[-1]
    assert (landed.path, landed.query) == ("/v1/requests/x", "include_cost=false")
    assert landed.headers["Authorization"] == TOKEN["Authorization"]


@pytest.mark.parametrize("hostile", HOSTILE_IDS)
def test_result_answer_can_carry_a_hostile_request_id(sandbox, hostile):
    sandbox.settings.result_request_id = hostile
    request_id = submit(sandbox).json()["request_id"]
    assert get(sandbox, request_id, "status").json()["request_id"] == request_id
    wait_status(sandbox, request_id, "completed")
    result = get(sandbox, request_id, "result").json()
    assert result["request_id"] == hostile
    assert result["output"]["video"] == file_url(sandbox, request_id)


def test_hostile_answers_over_the_admin_route(sandbox):
    admin = f"{sandbox.api_base}/_sandbox/settings"
    patch = {"video_url": "file:///etc/passwd", "submit_request_id": "../../x",
             "file_redirect": "file:///etc/passwd", "file_redirect_status": 307}
    assert requests.post(admin, json=patch).json()["video_url"] == "file:///etc/passwd"
    assert submit(sandbox).json()["request_id"] == "../../x"
    assert requests.post(admin, json={"video_url": 5}).status_code == 400
    assert requests.post(admin, json={"file_redirect_status": 200}).status_code == 400
    assert sandbox.settings.file_redirect_status == 307
