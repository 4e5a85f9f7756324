"""The sandbox's file host: no token, byte ranges, expiry."""
from __future__ import annotations

import time

import requests

from sandbox_http import WAIT_LIMIT, finished_video_url, get, submit


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
