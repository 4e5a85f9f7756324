"""Trust under attack, item 8: result URLs are not followed anywhere.

The API's ``output.video`` and the storage host's redirects are played by the sandbox over real
HTTP (``video_url``, ``file_redirect``): only https is fetched (plain http only for a loopback
API, to loopback), redirects never leave https, and link-local or cloud-metadata addresses are
never contacted. Anything else is ``UnsafeResultUrlError`` naming the request id, before any
request to the place it names."""
from __future__ import annotations

import pytest

from pack_loader import pack_module
from pipeline_helpers import file_calls, generate, make_pipeline
from sandbox_http import file_url, submit, wait_status

download = pack_module("core.media.download")
url_policy = pack_module("core.media.url_policy")
errors = pack_module("core.errors")

SIGNATURE = "SIGNATURE-SECRET-123"
REAL_API = "https://model-api.runcomfy.net"
HOSTILE_VIDEO_URLS = [
    f"file:///etc/passwd?X-Amz-Signature={SIGNATURE}",
    f"ftp://files.example.net/kling.mp4?X-Amz-Signature={SIGNATURE}",
    "data:video/mp4;base64,AAAAGGZ0eXBtcDQy",
    f"/files/elsewhere/kling.mp4?X-Amz-Signature={SIGNATURE}",
    "kling.mp4",
    f"http://169.254.169.254/latest/meta-data/?X-Amz-Signature={SIGNATURE}",
    "https://169.254.169.254/latest/meta-data/",
    "https://2852039166/latest/meta-data/",             # 169.254.169.254 written as one number
    "http://[fe80::1]/kling.mp4",
    "https://metadata.google.internal/computeMetadata/v1/",
    "http://203.0.113.7/kling.mp4",                      # plain http off this machine
    f"https://user:{SIGNATURE}@127.0.0.1/kling.mp4",
]
REDIRECT_TARGETS = [
    "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "https://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "file:///etc/passwd",
    "http://203.0.113.7/kling.mp4",
    "gopher://127.0.0.1:6379/_FLUSHALL",
]


def refused(exc_info, request_id):
    error = exc_info.value
    assert isinstance(error, errors.UnsafeResultUrlError)
    assert error.request_id == request_id and f"request id {request_id}" in str(error)
    assert SIGNATURE not in str(error)
    return str(error)


@pytest.mark.parametrize("url", HOSTILE_VIDEO_URLS)
def test_item8_hostile_result_url_is_refused_before_any_request(sandbox, tmp_path, url):
    sandbox.settings.video_url = url
    pipeline = make_pipeline(tmp_path, sandbox)
    with pytest.raises(errors.DownloadError) as info:
        generate(pipeline, sandbox)
    request_id = sandbox.submissions_ids[0]
    assert "the API gave the result URL" in refused(info, request_id)
    assert file_calls(sandbox) == []
    assert pipeline.cached(request_id) is None


@pytest.mark.parametrize("target", REDIRECT_TARGETS)
def test_item8_redirect_to_a_forbidden_place_is_refused(sandbox, tmp_path, target):
    sandbox.settings.file_redirect = target
    pipeline = make_pipeline(tmp_path, sandbox)
    with pytest.raises(errors.DownloadError) as info:
        generate(pipeline, sandbox)
    request_id = sandbox.submissions_ids[0]
    assert "the storage host redirected the download to" in refused(info, request_id)
    assert [c.path for c in file_calls(sandbox)] == [f"/files/{request_id}/{file_url(sandbox, request_id).rsplit('/', 1)[1]}"]
    assert pipeline.cached(request_id) is None


def test_item8_redirect_to_the_local_file_host_still_downloads(sandbox, tmp_path):
    first = submit(sandbox).json()["request_id"]
    wait_status(sandbox, first, "completed")
    sandbox.settings.file_redirect = file_url(sandbox, first)
    result = generate(make_pipeline(tmp_path, sandbox), sandbox)
    assert result.video.path.read_bytes()[4:8] == b"ftyp"
    assert len(file_calls(sandbox)) == 2


def test_item8_a_real_api_base_allows_no_plain_http_and_no_loopback(sandbox, tmp_path):
    request_id = submit(sandbox).json()["request_id"]
    wait_status(sandbox, request_id, "completed")
    url = file_url(sandbox, request_id) + f"?X-Amz-Signature={SIGNATURE}"
    with pytest.raises(errors.UnsafeResultUrlError) as info:
        download.download_file(url, tmp_path / "v.mp4", request_id=request_id, api_base=REAL_API)
    refused(info, request_id)
    assert file_calls(sandbox) == []
    # the same file from a loopback API (the sandbox) is fine
    path = download.download_file(url, tmp_path / "v.mp4", request_id=request_id, api_base=sandbox.api_base)
    assert path.read_bytes()[4:8] == b"ftyp"


@pytest.mark.parametrize("url,previous,api_base,allowed", [
    ("https://files.runcomfy.net/a.mp4", None, REAL_API, True),
    ("http://files.runcomfy.net/a.mp4", None, REAL_API, False),
    ("https://127.0.0.1/a.mp4", None, REAL_API, False),
    ("https://10.0.0.8/a.mp4", None, REAL_API, False),
    ("https://[::ffff:169.254.169.254]/a.mp4", None, REAL_API, False),
    ("https://[fd00:ec2::254]/a.mp4", None, REAL_API, False),
    ("https://files.runcomfy.net/b.mp4", "https://files.runcomfy.net/a.mp4", REAL_API, True),
    ("http://127.0.0.1:9/a.mp4", "https://127.0.0.1:9/a.mp4", "http://127.0.0.1:8", False),   # https -> http
    ("http://127.0.0.1:9/a.mp4", "http://127.0.0.1:9/b.mp4", "http://127.0.0.1:8", True),
    ("https://[::1", None, "http://127.0.0.1:8", False),
])
def test_item8_policy_rules(url, previous, api_base, allowed):
    policy = url_policy.ResultUrlPolicy(api_base)
    if allowed:
        assert policy.check(url, previous) == url
    else:
        with pytest.raises(errors.UnsafeResultUrlError):
            policy.check(url, previous, request_id="req-1")
