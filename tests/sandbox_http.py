"""Small HTTP helpers for the tests of the sandbox itself (tests/test_sandbox_*.py)."""
from __future__ import annotations

import time
from pathlib import Path

import requests

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


def wait_job(sb, request_id, wanted):
    """Wait on the sandbox's own view of a job (for jobs whose answers are made hostile)."""
    deadline = time.monotonic() + WAIT_LIMIT
    while sb.job(request_id)["status"] != wanted:
        assert time.monotonic() < deadline, f"job never reached {wanted}: {sb.job(request_id)}"
        time.sleep(0.02)


def finished_video_url(sb, body=None):
    request_id = submit(sb, body).json()["request_id"]
    wait_status(sb, request_id, "completed")
    return request_id, get(sb, request_id, "result").json()["output"]["video"]


def file_url(sb, request_id):
    """Where the file host serves a finished job's file (whatever the result answer says)."""
    return f"{sb.files_base}/files/{request_id}/kling-{request_id}.mp4"


def download(url, tmp_path, name="clip.mp4") -> Path:
    path = tmp_path / name
    path.write_bytes(requests.get(url, timeout=30).content)
    return path
