"""Result URL -> local mp4: streamed, resumable, size-capped, atomic, and never authenticated.

The file lives on a storage host, not on the API: no ``Authorization`` header may reach it. A
session handed in (perhaps the API's own, with a bearer token) is used only for its connection
pool; every request here carries an auth object that removes the header, and redirects are
followed by hand so requests cannot re-add ``.netrc`` credentials on the way (its
``rebuild_auth`` does that whenever ``trust_env`` is on). ``trust_env`` itself stays on, so
proxies from the environment keep working.

Two layers of retrying, because they fail differently:

* before the body starts (connection refused or reset, timeouts, 429 and 5xx answers), urllib3's
  ``Retry`` in the session's adapter retries with capped exponential backoff plus jitter and
  honours ``Retry-After``;
* once the body is flowing, urllib3 cannot help (the response was already handed to us), so a
  transfer that breaks or ends short is resumed here with ``Range: bytes=<have>-``, guarded by
  ``If-Range`` so a file that changed on the server is fetched again from its start.
"""
from __future__ import annotations

import logging
import os
import random
import re
import uuid
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

import requests
import urllib3

from .. import stopping
from ..api.session import FILES, NoAuth, make_session, transport_cause
from ..errors import DecodeError, DownloadError, FileTooLargeError, ResultExpiredError, RunComfyError
from ..redaction import install_log_filter, shown_url
from ..store.files import fsync_directory
from .url_policy import ResultUrlPolicy, redirect_target

log = logging.getLogger("runcomfy_kling3")

DEFAULT_MAX_BYTES = 512 * 1024 ** 2
CHUNK_BYTES = 1024 * 1024
MAX_REDIRECTS = 10
MAX_BACKOFF_S = 20.0
EXPIRED_STATUSES = (403, 404, 410)
#: whole downloads of a file that fails ``verify`` (the first one included) before giving up
VERIFY_ATTEMPTS = 3
ACCEPTED_TYPES = ("application/octet-stream", "binary/octet-stream", "application/mp4")
_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*$", re.IGNORECASE)


def file_session(max_attempts: int = 5) -> requests.Session:
    """A session for storage hosts: status and connection retries, no credentials."""
    install_log_filter("urllib3.connectionpool", "urllib3.util.retry")  # they log signed queries
    return make_session(FILES, NoAuth(), attempts=max_attempts, pool_size=2)


def _mib(value: int) -> str:
    return f"{value / 1024 ** 2:.1f} MiB"


class _Transfer:
    """State of one download across its attempts."""

    def __init__(self, url, part_path, max_bytes, progress, timeout, request_id, policy=None):
        self.url = url
        self.policy: ResultUrlPolicy = policy or ResultUrlPolicy()  # checks the URL and each redirect
        self.part_path = part_path
        self.max_bytes = max_bytes
        self.progress = progress
        self.timeout = timeout
        self.request_id = request_id
        self.have = 0                   # bytes safely in the part file
        self.total: int | None = None   # full size, when the server told us
        self.validator: str | None = None  # ETag or Last-Modified of the first answer

    def error(self, cls, message: str, **kwargs):
        return cls(message, request_id=self.request_id, **kwargs)

    def check_stop(self) -> None:
        stopping.check("Stopped during the download", self.request_id)


def download_file(url: str, dest: str | Path, *, max_bytes: int = DEFAULT_MAX_BYTES,
                  progress: Callable[[int, int | None], None] | None = None,
                  timeout: float = 30.0, max_attempts: int = 5, request_id: str | None = None,
                  session: requests.Session | None = None, backoff_s: float = 0.5,
                  verify: Callable[[Path], object] | None = None, api_base: str | None = None,
                  on_part: Callable[[Path], None] | None = None) -> Path:
    """Download ``url`` to ``dest`` and return ``dest`` as a Path.
    ``url`` and each redirect must pass ``ResultUrlPolicy(api_base)``, else ``UnsafeResultUrlError``.

    ``dest`` appears complete or not at all (same-directory temp file, fsync, ``os.replace``).
    ``progress(bytes_done, total_or_None)`` is called after every chunk. Raises
    ``ResultExpiredError`` (403/404/410), ``FileTooLargeError`` (over ``max_bytes``),
    ``StoppedError`` (a stop was requested, see ``core.stopping``) or ``DownloadError``.
    ``on_part(part_path)``: where the bytes land, to read them as they arrive (growing_file.py).
    ``verify(path)`` checks the file before it becomes ``dest`` (``DecodeError``: e.g. a body cut
    short without saying so); a bad file is downloaded again, up to ``VERIFY_ATTEMPTS`` times.
    """
    policy = ResultUrlPolicy(api_base)
    policy.check(url, request_id=request_id)
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part_path = dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:8]}.part")
    transfer = _Transfer(url, part_path, max_bytes, progress, timeout, request_id, policy)
    if on_part is not None:
        on_part(part_path)
    own_session = session is None
    session = file_session(max_attempts) if own_session else session
    try:
        for attempt in range(1, VERIFY_ATTEMPTS + 1):
            with open(part_path, "wb") as sink:
                _download_with_resume(session, transfer, sink, max_attempts, backoff_s)
                sink.flush()
                os.fsync(sink.fileno())
            if _verified(transfer, verify, attempt):
                break
            transfer = _Transfer(url, part_path, max_bytes, progress, timeout, request_id, policy)
        os.replace(part_path, dest)
        fsync_directory(dest.parent)
    except RunComfyError as exc:
        raise exc.with_request_id(request_id)
    finally:
        if own_session:
            session.close()
        if part_path.exists():
            part_path.unlink()
    return dest


def _verified(transfer: _Transfer, verify, attempt: int) -> bool:
    try:
        if verify is not None:
            verify(transfer.part_path)
        return True
    except DecodeError as exc:
        if attempt >= VERIFY_ATTEMPTS:
            raise transfer.error(DecodeError, f"The file downloaded from {shown_url(transfer.url)} "
                                              f"was bad {attempt} times; last: {exc.reason}") from None
        log.warning("Download of %s gave a bad file (%s, %d bytes); downloading it again",
                    shown_url(transfer.url), exc.reason, transfer.have)
        return False


def _download_with_resume(session, transfer: _Transfer, sink, max_attempts: int, backoff_s: float):
    failures = 0
    while True:
        transfer.check_stop()
        before = transfer.have
        try:
            if _attempt(session, transfer, sink):
                return
            problem = (f"the transfer ended after {_mib(transfer.have)} of "
                       f"{_mib(transfer.total or 0)}")
        except (requests.ConnectionError, requests.Timeout, urllib3.exceptions.HTTPError,
                requests.exceptions.ChunkedEncodingError) as exc:
            problem = f"the connection failed ({type(exc).__name__})"
        except _StartOver as exc:
            problem = str(exc)
            transfer.have, transfer.total, transfer.validator = 0, None, None
            sink.seek(0)
            sink.truncate()
        # Progress since the last break means the host works: resume at once and start the
        # failure count afresh. Only attempts that got nothing count and back off.
        if transfer.have > before:
            failures = 0
            log.info("Download of %s broke (%s); resuming at byte %d",
                     shown_url(transfer.url), problem, transfer.have)
            continue
        failures += 1
        if failures >= max_attempts:
            raise transfer.error(DownloadError, f"Downloading {shown_url(transfer.url)} failed "
                                                f"{failures} times in a row; last: {problem}")
        delay = min(MAX_BACKOFF_S, backoff_s * 2 ** (failures - 1)) * random.uniform(0.5, 1.5)
        log.info("Download of %s failed (%s); retrying in %.1f s", shown_url(transfer.url), problem, delay)
        stopping.sleep(delay, "Stopped during the download")


class _StartOver(Exception):
    """The server answered a range request with bytes we cannot append."""


def _attempt(session, transfer: _Transfer, sink) -> bool:
    """One request; True when the file is complete, False when the body ended short."""
    headers = {"Accept-Encoding": "identity", "Authorization": None}
    if transfer.have:
        headers["Range"] = f"bytes={transfer.have}-"
        if transfer.validator:
            headers["If-Range"] = transfer.validator
    try:
        response = _get_following_redirects(session, transfer, headers)
    except (requests.ConnectionError, requests.Timeout) as exc:
        # the adapter's Retry already retried connecting with backoff; more would only stall
        raise transfer.error(DownloadError, f"Could not reach the storage host "
                                            f"{urlsplit(transfer.url).netloc.rpartition('@')[2]} ({transport_cause(exc)})") from None
    except requests.RequestException as exc:
        # requests' own texts quote the URL, signed query included
        raise transfer.error(DownloadError, f"Could not request {shown_url(transfer.url)} "
                                            f"({type(exc).__name__})") from None
    with response:
        offset = _accept(response, transfer)
        if offset is None:
            return True
        if offset != transfer.have:
            sink.seek(offset)
            sink.truncate()
            transfer.have = offset
        # read1 returns what has arrived (up to a chunk); a plain read of a chunk would lose
        # the bytes it already holds when the connection breaks mid-chunk
        raw = response.raw
        decode = response.headers.get("Content-Encoding", "identity") != "identity"
        while chunk := raw.read1(CHUNK_BYTES, decode_content=decode):
            transfer.check_stop()
            if transfer.have + len(chunk) > transfer.max_bytes:
                raise transfer.error(FileTooLargeError, f"The file at {shown_url(transfer.url)} is "
                                                        f"larger than the {_mib(transfer.max_bytes)} limit")
            try:
                sink.write(chunk)
            except OSError as exc:  # disk full, permissions: retrying the network won't help
                raise transfer.error(DownloadError, f"Could not write {transfer.part_path.parent}: "
                                                    f"{exc.strerror or exc}") from None
            transfer.have += len(chunk)
            if transfer.progress is not None:
                sink.flush()  # a reader of the part file (on_part) may use what is reported
                transfer.progress(transfer.have, transfer.total)
    if transfer.total is None:
        return True  # no length announced: a clean end of the body is all we can check
    if transfer.have > transfer.total:
        raise transfer.error(DownloadError, f"The server sent {transfer.have} bytes for a "
                                            f"{transfer.total} byte file")
    return transfer.have == transfer.total


def _get_following_redirects(session, transfer: _Transfer, headers: dict) -> requests.Response:
    url = transfer.url
    previous = None
    for _ in range(MAX_REDIRECTS + 1):
        transfer.policy.check(url, previous, transfer.request_id)
        response = session.get(url, headers=headers, auth=NoAuth(), stream=True,
                               allow_redirects=False, timeout=(transfer.timeout, transfer.timeout))
        if response.is_redirect and response.headers.get("Location"):
            response.close()
            url, previous = redirect_target(url, response.headers["Location"]), url
            continue
        return response
    raise transfer.error(DownloadError, f"Too many redirects from {shown_url(transfer.url)}")


def _accept(response: requests.Response, transfer: _Transfer) -> int | None:
    """Check an answer before reading its body. Returns the byte offset the body starts at,
    or None when the file is already complete."""
    status = response.status_code
    where = shown_url(transfer.url)
    if status in EXPIRED_STATUSES:
        raise transfer.error(ResultExpiredError, f"The storage host answered {status} for {where}")
    if status == 416 and transfer.total is not None and transfer.have == transfer.total:
        return None  # we asked for the bytes after the last one: nothing is missing
    if status == 416:
        raise _StartOver("the server refused the resume range")
    if status not in (200, 206):
        raise transfer.error(DownloadError, f"The storage host answered HTTP {status} for {where}")
    _check_content_type(response, transfer)

    if status == 206:
        match = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
        total = None if not match or match.group(3) == "*" else int(match.group(3))
        if (not match or int(match.group(1)) != transfer.have
                or (transfer.total is not None and total != transfer.total)):
            # bytes we did not ask for, or of a file of another size: never stitch those
            raise _StartOver(f"unusable partial answer (Content-Range "
                             f"{response.headers.get('Content-Range')!r})")
        offset = transfer.have
    else:
        # a full answer: the first request, or the server ignored Range, or (If-Range) the
        # file changed since the first attempt; either way the body starts at byte 0
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        offset = 0
        transfer.validator = response.headers.get("ETag") or response.headers.get("Last-Modified")
    if total is not None and response.headers.get("Content-Encoding", "identity") != "identity":
        total = None  # lengths then count compressed bytes
    if total is not None and total > transfer.max_bytes:
        raise transfer.error(FileTooLargeError, f"The file at {where} is {_mib(total)}, over the "
                                                f"{_mib(transfer.max_bytes)} limit")
    transfer.total = total
    if transfer.progress is not None:
        transfer.progress(offset, total)
    return offset


def _check_content_type(response: requests.Response, transfer: _Transfer) -> None:
    raw = response.headers.get("Content-Type", "")
    kind = raw.split(";", 1)[0].strip().lower()
    if not kind or kind.startswith("video/") or kind in ACCEPTED_TYPES:
        return
    raise transfer.error(DownloadError, f"The storage host sent {kind!r} instead of a video for "
                                        f"{shown_url(transfer.url)} (often an error or sign-in page)")
