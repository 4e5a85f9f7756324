"""Download of the result file over real HTTP on 127.0.0.1: resume, size cap, content checks,
expiry, retries, stop, and no credentials ever sent to the file host."""
from __future__ import annotations

import time

import pytest
import requests

from file_origin import ETAG, PAYLOAD, FileOrigin, leftovers, origin  # noqa: F401 (fixture)
from pack_loader import pack_module

download = pack_module("core.media.download")
stopping = pack_module("core.stopping")
errors = pack_module("core.errors")


def test_downloads_whole_file_atomically_with_progress(origin, tmp_path):
    calls = []
    dest = download.download_file(origin.url, tmp_path / "out" / "video.mp4",
                                  progress=lambda done, total: calls.append((done, total)))
    assert dest == tmp_path / "out" / "video.mp4"
    assert dest.read_bytes() == PAYLOAD
    assert leftovers(dest.parent) == ["video.mp4"]
    assert calls[-1] == (len(PAYLOAD), len(PAYLOAD))
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)
    assert origin.seen[0]["headers"].get("Accept-Encoding") == "identity"


def test_resumes_with_range_after_truncated_transfer(origin, tmp_path):
    origin.plans = [{"fraction": 0.4}, {}]
    dest = download.download_file(origin.url, tmp_path / "video.mp4")
    assert dest.read_bytes() == PAYLOAD
    first, second = origin.seen
    assert "Range" not in first["headers"]
    assert second["headers"]["Range"] == f"bytes={first['sent']}-"
    assert second["headers"]["If-Range"] == ETAG and second["status"] == 206
    assert leftovers(tmp_path) == ["video.mp4"]


def test_resumes_again_after_several_breaks(origin, tmp_path):
    origin.plans = [{"fraction": 0.3}, {"fraction": 0.3}, {"fraction": 0.5}, {}]
    assert download.download_file(origin.url, tmp_path / "v.mp4").read_bytes() == PAYLOAD
    assert [r["status"] for r in origin.seen] == [200, 206, 206, 206]


def test_starts_over_when_server_ignores_range(origin, tmp_path):
    origin.plans = [{"fraction": 0.5}, {"ignore_range": True}]
    assert download.download_file(origin.url, tmp_path / "v.mp4").read_bytes() == PAYLOAD
    assert "Range" in origin.seen[1]["headers"] and origin.seen[1]["status"] == 200


def test_gives_up_when_transfers_keep_breaking_without_progress(origin, tmp_path):
    origin.plans = [{"fraction": 0.0}] * 3
    with pytest.raises(errors.DownloadError, match="failed 2 times in a row") as caught:
        download.download_file(origin.url, tmp_path / "v.mp4", max_attempts=2, backoff_s=0.01,
                               request_id="req-7")
    assert "req-7" in str(caught.value) and "secret" not in str(caught.value)
    assert leftovers(tmp_path) == []


def test_announced_size_over_the_cap_is_refused_before_the_body(origin, tmp_path):
    with pytest.raises(errors.FileTooLargeError, match="over the 0.5 MiB limit") as caught:
        download.download_file(origin.url, tmp_path / "v.mp4", max_bytes=512 * 1024,
                               request_id="req-2")
    assert "req-2" in str(caught.value)
    assert leftovers(tmp_path) == []
    assert len(origin.seen) == 1


def test_unannounced_size_over_the_cap_is_cut_off(origin, tmp_path):
    origin.plans = [{"chunked": True}]
    with pytest.raises(errors.FileTooLargeError, match="larger than the 0.5 MiB limit"):
        download.download_file(origin.url, tmp_path / "v.mp4", max_bytes=512 * 1024)
    assert leftovers(tmp_path) == []


def test_file_exactly_at_the_cap_is_fine(origin, tmp_path):
    origin.plans = [{"chunked": True}]
    dest = download.download_file(origin.url, tmp_path / "v.mp4", max_bytes=len(PAYLOAD))
    assert dest.read_bytes() == PAYLOAD


@pytest.mark.parametrize("content_type", ["text/html; charset=utf-8", "application/json"])
def test_non_video_content_type_is_refused(origin, tmp_path, content_type):
    origin.plans = [{"type": content_type}]
    with pytest.raises(errors.DownloadError, match="instead of a video") as caught:
        download.download_file(origin.url, tmp_path / "v.mp4")
    assert content_type.split(";")[0] in str(caught.value)
    assert not isinstance(caught.value, errors.ResultExpiredError)
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("content_type", ["video/mp4", "application/octet-stream", "binary/octet-stream"])
def test_video_and_binary_types_are_accepted(origin, tmp_path, content_type):
    origin.plans = [{"type": content_type}]
    assert download.download_file(origin.url, tmp_path / "v.mp4").read_bytes() == PAYLOAD


@pytest.mark.parametrize("status", [403, 404, 410])
def test_gone_file_is_result_expired(origin, tmp_path, status):
    origin.plans = [{"kind": "status", "status": status}]
    with pytest.raises(errors.ResultExpiredError, match=str(status)) as caught:
        download.download_file(origin.url, tmp_path / "v.mp4", request_id="req-3")
    assert "req-3" in str(caught.value) and "expired" in str(caught.value)
    assert len(origin.seen) == 1   # not retried
    assert leftovers(tmp_path) == []


def test_server_errors_are_retried_honouring_retry_after(origin, tmp_path):
    origin.plans = [{"kind": "status", "status": 503, "headers": {"Retry-After": "0"}},
                    {"kind": "status", "status": 429, "headers": {"Retry-After": "0"}}, {}]
    assert download.download_file(origin.url, tmp_path / "v.mp4").read_bytes() == PAYLOAD
    assert [r["status"] for r in origin.seen] == [503, 429, 200]


def test_persistent_server_error_is_a_download_error(origin, tmp_path):
    origin.plans = [{"kind": "status", "status": 500, "headers": {"Retry-After": "0"}}] * 3
    with pytest.raises(errors.DownloadError, match="HTTP 500"):
        download.download_file(origin.url, tmp_path / "v.mp4", max_attempts=1)
    assert len(origin.seen) == 2   # the first try and one retry


def test_unreachable_host_is_a_download_error(tmp_path):
    with socket_free_port() as port:
        url = f"http://127.0.0.1:{port}/v.mp4"
    with pytest.raises(errors.DownloadError, match=f"Could not reach the storage host 127.0.0.1:{port}"):
        download.download_file(url, tmp_path / "v.mp4", max_attempts=1, backoff_s=0.01)
    assert leftovers(tmp_path) == []


def test_stop_request_ends_download_and_leaves_nothing(origin, tmp_path):
    origin.plans = [{"delay": 0.01}]
    progress = []
    with pytest.raises(errors.StoppedError), stopping.scope(lambda: len(progress) >= 2):
        download.download_file(origin.url, tmp_path / "v.mp4",
                               progress=lambda done, total: progress.append(done))
    assert leftovers(tmp_path) == []


def test_never_sends_authorization_to_the_file_host(origin, tmp_path, monkeypatch):
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login someone password netrc-secret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    other = FileOrigin()
    try:
        # a redirect to a second host, as storage services do; requests would re-add .netrc
        # credentials on the way if the download let it
        origin.plans = [{"kind": "redirect", "to": other.url}]
        assert download.download_file(origin.url, tmp_path / "a.mp4").read_bytes() == PAYLOAD
        # a session someone configured for the API, token and all
        api_session = requests.Session()
        api_session.headers["Authorization"] = "Bearer api-token"
        api_session.auth = ("user", "pass")
        other.plans = [{"fraction": 0.5}, {}]
        download.download_file(other.url, tmp_path / "b.mp4", session=api_session)
        assert (tmp_path / "b.mp4").read_bytes() == PAYLOAD
    finally:
        other.close()
    seen = origin.seen + other.seen
    assert len(seen) == 4
    for request in seen:
        assert not any(name.lower() == "authorization" for name in request["headers"]), request


def test_sandbox_storage_truncation_is_resumed(tmp_path):
    sandbox_pkg = pack_module("sandbox")
    with sandbox_pkg.Sandbox(queue_seconds=0.05, run_seconds=0.05, resolution_scale=0.125) as sb:
        headers = {"Authorization": f"Bearer {sandbox_pkg.DEFAULT_TOKEN}"}
        answer = requests.post(f"{sb.api_base}/v1/models/{sandbox_pkg.MODEL_ID}", headers=headers,
                               json={"prompt": "a red fox in snow", "duration": 3}, timeout=10).json()
        request_id = answer["request_id"]
        deadline = time.monotonic() + 30
        while True:
            status = requests.get(answer["status_url"], headers=headers, timeout=10).json()["status"]
            if status == "completed" or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        result = requests.get(answer["result_url"], headers=headers, timeout=10).json()
        url = result["output"]["video"]
        sb.faults.add("file", "truncate", fraction=0.5)
        dest = download.download_file(url, tmp_path / "result.mp4", request_id=request_id)
        full = requests.get(url, timeout=30).content
        assert dest.read_bytes() == full and len(full) > 10_000
        file_requests = [r for r in sb.requests if r.origin == "files"]
        assert file_requests[1].headers.get("Range", "").startswith("bytes=")
        assert all("Authorization" not in r.headers for r in file_requests)


class socket_free_port:
    """A port nothing listens on (bound, then released)."""

    def __enter__(self):
        import socket

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        return self.sock.getsockname()[1]

    def __exit__(self, *exc):
        self.sock.close()
