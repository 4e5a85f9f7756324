"""File host faults and switches for downloads: short and empty bodies however framed, a
throttled send rate that still honours Range (resume)."""
from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

import pytest
import requests

from sandbox_http import finished_video_url


def raw_get(url, headers=""):
    """(head, body) of a GET read until the server closes (or 5 s pass), no HTTP library."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as conn:
        conn.sendall(f"GET {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n{headers}"
                     f"Connection: close\r\n\r\n".encode())
        data = b""
        try:
            while chunk := conn.recv(65536):
                data += chunk
        except socket.timeout:
            pass
    head, _, body = data.partition(b"\r\n\r\n")
    return head.decode("latin-1"), body


def test_empty_body_with_content_length_zero(sandbox):
    _, url = finished_video_url(sandbox)
    sandbox.faults.add("file", "empty_body")
    assert int(requests.head(url).headers["Content-Length"]) > 0     # HEAD leaves the fault
    answer = requests.get(url, timeout=10)
    assert answer.status_code == 200 and answer.content == b""
    assert answer.headers["Content-Length"] == "0"
    assert len(requests.get(url, timeout=10).content) > 0


def test_empty_body_without_content_length(sandbox):
    _, url = finished_video_url(sandbox)
    sandbox.faults.add("file", "empty_body", content_length=False)
    head, body = raw_get(url)
    assert head.startswith("HTTP/1.1 200") and body == b""
    assert "content-length" not in head.lower() and "chunked" not in head.lower()
    assert requests.get(url, timeout=10).content[4:8] == b"ftyp"


@pytest.mark.parametrize("framing", ["chunked", "close"])
def test_truncate_without_content_length_looks_complete(sandbox, framing):
    _, url = finished_video_url(sandbox)
    full = requests.get(url, timeout=10).content
    sandbox.faults.add("file", "truncate", framing=framing)
    answer = requests.get(url, timeout=10)           # no error: nothing says it is short
    assert answer.status_code == 200
    assert "Content-Length" not in answer.headers
    assert (answer.headers.get("Transfer-Encoding") == "chunked") == (framing == "chunked")
    assert answer.content == full[:len(full) // 2]


def test_truncate_chunked_cut_hangs_up_before_the_last_chunk(sandbox):
    _, url = finished_video_url(sandbox)
    full = requests.get(url, timeout=10).content
    sandbox.faults.add("file", "truncate", framing="chunked_cut", fraction=0.5)
    head, body = raw_get(url)
    assert "transfer-encoding: chunked" in head.lower()
    assert not body.endswith(b"0\r\n\r\n")
    sandbox.faults.add("file", "truncate", framing="chunked_cut")
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        requests.get(url, timeout=10).content
    assert requests.get(url, timeout=10).content == full


def test_truncate_with_content_length_cuts_a_range_too(sandbox):
    _, url = finished_video_url(sandbox)
    full = requests.get(url, timeout=10).content
    sandbox.faults.add("file", "truncate", fraction=0.5)
    head, body = raw_get(url, "Range: bytes=1000-\r\n")
    assert head.startswith("HTTP/1.1 206")
    assert f"content-length: {len(full) - 1000}" in head.lower()
    assert body == full[1000:1000 + (len(full) - 1000) // 2]


def test_bad_download_fault_parameters_are_refused(sandbox):
    for kind, params in [("truncate", {"framing": "gzip"}), ("truncate", {"fraction": 2}),
                         ("empty_body", {"content_length": "no"})]:
        with pytest.raises(ValueError):
            sandbox.faults.add("file", kind, **params)
    with pytest.raises(ValueError):
        sandbox.faults.add("result", "empty_body")


def test_throttled_file_host_sends_at_the_set_rate(sandbox):
    _, url = finished_video_url(sandbox)
    size = len(requests.get(url, timeout=10).content)
    sandbox.settings.file_bytes_per_second = size / 0.8        # about 0.8 s for the file
    started = time.monotonic()
    assert len(requests.get(url, timeout=10).content) == size
    assert 0.6 < time.monotonic() - started < 3.0
    sandbox.settings.file_bytes_per_second = None
    started = time.monotonic()
    requests.get(url, timeout=10)
    assert time.monotonic() - started < 0.4


def test_throttled_download_can_be_resumed_with_range(sandbox):
    _, url = finished_video_url(sandbox)
    full = requests.get(url, timeout=10).content
    sandbox.settings.file_bytes_per_second = len(full) / 2.0  # 2 s for the whole file
    with requests.get(url, stream=True, timeout=10) as first:
        part = first.raw.read(len(full) // 4)                   # give up after a quarter
    started = time.monotonic()
    rest = requests.get(url, headers={"Range": f"bytes={len(part)}-"}, timeout=10)
    took = time.monotonic() - started
    assert rest.status_code == 206 and part + rest.content == full
    assert 1.0 < took < 3.0                                     # three quarters of 2 s


def test_throttle_over_the_admin_route_and_bad_rates(sandbox):
    admin = f"{sandbox.api_base}/_sandbox/settings"
    assert requests.post(admin, json={"file_bytes_per_second": 4e6}).json()[
        "file_bytes_per_second"] == 4e6
    for bad in (0, -1, "fast", True):
        assert requests.post(admin, json={"file_bytes_per_second": bad}).status_code == 400
