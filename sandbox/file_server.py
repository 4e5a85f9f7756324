"""The storage origin: result files at ``/files/<request_id>/<name>.mp4``.

A separate origin like the real storage host: it needs no token (tests assert clients never
send one here), serves byte ranges so downloads can resume, and streams from disk in chunks.
Settings can make it slow (``file_bytes_per_second``), answer with a redirect
(``file_redirect``), or serve a crafted file (``media``); file faults cut or empty the body.
"""
from __future__ import annotations

import os
import re
import time
from email.utils import formatdate

from .faults import BODY_KINDS
from .http_common import SandboxHandler
from .jobs import COMPLETED

CHUNK_BYTES = 256 * 1024
#: how long a file request waits for its clip to finish encoding
CLIP_WAIT_SECONDS = 600
_FILE_ROUTE = re.compile(r"^/files/([^/]+)/([^/]+\.mp4)$")
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class FileHandler(SandboxHandler):
    def do_GET(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve()

    def _serve(self) -> None:
        self.start_record(b"")
        state = self.server.state
        # a HEAD must not use up a fault meant to break the body of the next GET
        fault = state.faults.take("file", skip_kinds=BODY_KINDS if self.command == "HEAD" else ())
        if fault is not None and self.answer_fault(fault):
            return
        if fault is not None and fault.kind == "slow":
            time.sleep(float(fault.param("delay", 1.0)))
        if fault is not None and fault.kind == "wrong_content_type":
            self.send_bytes(200, b"<!DOCTYPE html><html><head><title>Sign in</title></head>"
                                 b"<body><h1>Please sign in to view this file</h1></body></html>",
                            "text/html; charset=utf-8")
            return

        match = _FILE_ROUTE.match(self.url_path)
        job = state.jobs.get(match.group(1)) if match else None
        if (job is None or job.status()[0] != COMPLETED
                or match.group(2) != state.file_name(job)):
            self.send_bytes(404, b"Not Found", "text/plain")
            return
        if job.settings.file_redirect is not None:
            self.send_bytes(job.settings.file_redirect_status, b"", "text/plain",
                            {"Location": job.settings.file_redirect})
            return
        if fault is not None and fault.kind == "empty_body":
            self._send_empty(bool(fault.param("content_length", True)))
            return
        try:
            path = state.result_file(job, timeout=CLIP_WAIT_SECONDS)
        except (RuntimeError, TimeoutError, ValueError, OSError) as exc:
            self.send_bytes(500, f"Could not produce the file: {exc}".encode(), "text/plain")
            return
        truncated = fault is not None and fault.kind == "truncate"
        self._send_file(path, fault.param("fraction", 0.5) if truncated else None,
                        fault.param("framing", "content_length") if truncated else None)

    def _send_empty(self, with_length: bool) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "video/mp4")
        if with_length:
            self.send_header("Content-Length", "0")
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()

    def _send_file(self, path, fraction: float | None, framing: str | None) -> None:
        size = os.path.getsize(path)
        start, end = 0, size - 1
        status = 200
        requested = self._parse_range(self.headers.get("Range"), size)
        if requested == "unsatisfiable":
            self.send_bytes(416, b"", "text/plain", {"Content-Range": f"bytes */{size}"})
            return
        if requested is not None:
            start, end = requested
            status = 206
        length = end - start + 1
        stat = os.stat(path)
        self.send_response(status)
        self.send_header("Content-Type", "video/mp4")
        if framing in (None, "content_length"):
            self.send_header("Content-Length", str(length))
        elif framing in ("chunked", "chunked_cut"):
            self.send_header("Transfer-Encoding", "chunked")
        else:                      # "close": the body ends when the connection does
            self.send_header("Connection", "close")
            self.close_connection = True
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("ETag", f'"{os.path.basename(path)[:-4]}-{stat.st_size}"')
        self.send_header("Last-Modified", formatdate(stat.st_mtime, usegmt=True))
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.end_headers()
        if self.command == "HEAD":
            return
        to_send = length if fraction is None else int(length * fraction)
        chunked = framing in ("chunked", "chunked_cut")
        try:
            self._copy(path, start, to_send, chunked)
            if framing == "chunked":
                self.wfile.write(b"0\r\n\r\n")   # a clean end: the short body looks whole
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
            return
        if framing in ("content_length", "chunked_cut"):
            self.drop()   # promised more than it sent: the client must notice the short body

    def _copy(self, path, start: int, count: int, chunked: bool) -> None:
        """Send ``count`` bytes of the file from ``start``, at most at the configured rate."""
        began, sent = time.monotonic(), 0
        with open(path, "rb") as source:
            source.seek(start)
            while sent < count:
                rate = self.server.state.settings.file_bytes_per_second
                piece = CHUNK_BYTES if rate is None else max(1024, min(CHUNK_BYTES,
                                                                       int(rate / 20)))
                chunk = source.read(min(piece, count - sent))
                if not chunk:
                    break
                if chunked:
                    self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                else:
                    self.wfile.write(chunk)
                sent += len(chunk)
                if rate is not None:
                    ahead = began + sent / rate - time.monotonic()
                    if ahead > 0:
                        time.sleep(ahead)

    @staticmethod
    def _parse_range(header: str | None, size: int):
        """(start, end) inclusive, "unsatisfiable", or None to send the whole file (no header,
        a form we do not support such as several ranges, or nonsense: RFC 9110 allows
        ignoring it)."""
        if not header:
            return None
        match = _RANGE.match(header.strip())
        if not match:
            return None
        first, last = match.groups()
        if not first and not last:
            return None
        if not first:                       # bytes=-N: the last N bytes
            suffix = int(last)
            if suffix == 0:
                return "unsatisfiable"
            return max(0, size - suffix), size - 1
        start = int(first)
        end = int(last) if last else size - 1
        if last and end < start:
            return None
        if start >= size:
            return "unsatisfiable"
        return start, min(end, size - 1)
