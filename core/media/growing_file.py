"""Reading a download while it lands: a file object over the part file that waits for bytes.

The download writes the part file and reports how far it got (``DownloadFeed.advance``, its
progress callback); ``GrowingFile`` reads the same file through its own handle and, when asked
for bytes that have not arrived, waits for them instead of reporting the end of the file. So
PyAV can decode frames from the part of the file that is there, while the rest is downloading.

* A resumed transfer (``Range``) only appends: the reader just waits across the break.
* A transfer that starts over (the file changed on the server, or it failed verification and
  is fetched again) rewrites bytes the reader may already have used: the feed then reports
  ``Restarted`` and the caller decodes the finished file instead.
* The mp4 index (moov atom) must come before the media data for this to help:
  ``header_ready`` tells when it has arrived, or that it comes last (then the caller waits for
  the whole file; PyAV would have to seek to the end first anyway).

POSIX only: there a file stays readable through the handle when the finished download is
renamed into place. Windows refuses to rename a file another handle holds open, so there the
caller decodes after the download (``streaming_supported``).
"""
from __future__ import annotations

import io
import os
import struct
import threading
from pathlib import Path

from .. import stopping

#: how often a waiting reader looks at the stop callback (seconds)
WAIT_STEP_S = 0.1
#: a header larger than this is not waited for piece by piece (the whole file is)
MAX_HEADER_BYTES = 64 * 1024 * 1024


def streaming_supported() -> bool:
    return os.name != "nt"


class Restarted(Exception):
    """The download started over: bytes already read may have changed."""


class DownloadFeed:
    """What the download has written so far; shared by the downloading and decoding threads."""

    def __init__(self, request_id: str | None = None):
        self.request_id = request_id
        self._cond = threading.Condition()
        self.path: Path | None = None       # the part file, once it exists
        self.have = 0                       # bytes written to it
        self.total: int | None = None       # the file's size, once announced
        self.final: Path | None = None      # where the finished, verified file is
        self.error: BaseException | None = None
        self.restarted = False

    # --- the download's side ----------------------------------------------------------------
    def attach(self, part_path: Path) -> None:
        with self._cond:
            self.path = Path(part_path)
            self._cond.notify_all()

    def advance(self, have: int, total: int | None) -> None:
        with self._cond:
            if have < self.have:
                self.restarted = True
            self.have, self.total = have, total if total is not None else self.total
            self._cond.notify_all()

    def finish(self, path: Path) -> None:
        with self._cond:
            self.final = Path(path)
            self._cond.notify_all()

    def fail(self, error: BaseException) -> None:
        with self._cond:
            self.error = error
            self._cond.notify_all()

    # --- the decoder's side -----------------------------------------------------------------
    def wait(self, ready) -> None:
        """Block until ``ready()`` (called under the lock) is true; ``Restarted`` or the
        download's error when that happens first; honours the stop callback."""
        with self._cond:
            while True:
                if self.restarted:
                    raise Restarted()
                if ready():
                    return
                if self.error is not None:
                    raise self.error
                if self.final is not None:
                    return  # finished: nothing more will come
                stopping.check("Stopped while decoding the video", self.request_id)
                self._cond.wait(WAIT_STEP_S)

    def header_ready(self) -> bool:
        """Wait until the mp4 header has landed in the part file. True: decode from the part
        file now; False: the header comes last (or this is no mp4): wait for the whole file."""
        end: list[int | None] = [None]

        def known() -> bool:
            if self.path is None or self.have < 16:
                return False
            try:
                with open(self.path, "rb") as head:
                    end[0] = header_end(head, self.have)
            except OSError:  # renamed into place meanwhile: the download is finishing
                return False
            return end[0] is not None

        self.wait(known)
        if end[0] is None or end[0] < 0:
            return False
        self.wait(lambda: self.have >= end[0])
        return self.final is None or self.have >= end[0]

    def wait_finished(self) -> Path:
        self.wait(lambda: self.final is not None)
        assert self.final is not None
        return self.final


def header_end(head, have: int) -> int | None:
    """Where the mp4 header (``moov``) ends in a file of which ``have`` bytes have arrived
    (``head``: a binary file open on it): its end offset; -1 when it comes after the media
    data, or the file is no mp4 (decode after the download); None when more bytes are needed
    to tell. Reads only the top-level box headers."""
    offset = 0
    while True:
        if offset + 16 > have:
            return None
        if offset > MAX_HEADER_BYTES:
            return -1
        head.seek(offset)
        box = head.read(16)
        if len(box) < 16:
            return None  # counted, but still in the writer's buffer
        size, kind = struct.unpack(">I4s", box[:8])
        if size == 1:
            size = struct.unpack(">Q", box[8:])[0]
        if offset == 0 and kind != b"ftyp":
            return -1
        if kind == b"moov":
            return offset + size if size >= 8 else -1
        if kind == b"mdat" or size < 8:
            return -1
        offset += size


class GrowingFile(io.RawIOBase):
    """A read-only, seekable view of the part file that waits for bytes not written yet."""

    def __init__(self, feed: DownloadFeed):
        super().__init__()
        feed.wait(lambda: feed.path is not None)
        self.feed = feed
        self._file = open(feed.path, "rb")  # type: ignore[arg-type]
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_END:
            feed = self.feed
            feed.wait(lambda: feed.total is not None)
            size = feed.total if feed.total is not None else feed.have
            self._pos = size + offset
        elif whence == io.SEEK_CUR:
            self._pos += offset
        else:
            self._pos = offset
        return self._pos

    def readinto(self, buffer) -> int:
        feed, want = self.feed, len(buffer)
        while True:
            feed.wait(lambda: feed.have > self._pos or (feed.total is not None and self._pos >= feed.total))
            with feed._cond:
                available = feed.have - self._pos
                finished = feed.final is not None
            if available <= 0:
                return 0  # the end of the file (or of what a finished download holds)
            self._file.seek(self._pos)
            count = self._file.readinto(memoryview(buffer)[:min(want, available)])
            if count:
                self._pos += count
                return count
            if finished:
                return 0
            # counted but still in the writer's buffer: it lands with the next write
            with feed._cond:
                feed._cond.wait(WAIT_STEP_S / 10)

    def close(self) -> None:
        if not self.closed:
            self._file.close()
        super().close()
