"""Downloads decoded while they land, for the streaming tests: a finished sandbox job, a file host
that holds the end of the file back, a transfer that starts over, and the check that two decodes
of a clip are the same."""
from __future__ import annotations

import threading
import time

import numpy as np

from pack_loader import pack_module

download = pack_module("core.media.download")
decode = pack_module("core.media.decode")
video_maker = pack_module("sandbox.video_maker")
FrameSelection = pack_module("core.media.frames").FrameSelection


def finished_job(sandbox, **settings) -> str:
    """The file URL of a finished sandbox job (a small light clip with sound)."""
    import requests

    for name, value in settings.items():
        setattr(sandbox.settings, name, value)
    sandbox.settings.queue_seconds = sandbox.settings.run_seconds = 0.0
    headers = {"Authorization": "Bearer sandbox-token"}
    answer = requests.post(f"{sandbox.api_base}/v1/models/kling/kling-3.0/pro/text-to-video", headers=headers,
                           json={"prompt": "streaming", "duration": 3, "aspect_ratio": "16:9", "sound": True},
                           timeout=30).json()
    body = requests.get(f"{sandbox.api_base}/v1/requests/{answer['request_id']}/result", headers=headers,
                        timeout=30).json()
    assert body["status"] == "completed", body
    return body["output"]["video"]


def stream_download(url: str, dest, selection=FrameSelection(), **options):
    """Download ``url`` while decoding it; returns (clip, stream, frames decoded when the
    download finished)."""
    stream = decode.StreamingDecode(selection, progress=lambda done, total: None)
    decoded = []
    stream.progress = lambda done, total: decoded.append(done)
    try:
        path = download.download_file(url, dest, progress=stream.hook(lambda have, total: None),
                                      on_part=stream.on_part, **options)
    except BaseException as exc:
        stream.abandon(exc)
        raise
    at_end = len(decoded)
    stream.downloaded(path)
    return stream.result(path), stream, at_end


def assert_same_clip(a, b):
    assert a.frames.frames.shape == b.frames.frames.shape
    assert np.array_equal(a.frames.frames, b.frames.frames)
    assert np.array_equal(a.audio.samples, b.audio.samples) and a.audio.sample_rate == b.audio.sample_rate


class HeldBackOrigin:
    """A file host on 127.0.0.1 that holds the last part of the file back until ``until()`` is
    true (or a minute passed, so a broken decoder cannot hang the test); ``cut_at``: the first
    transfer breaks off there (the client resumes with Range)."""

    def __init__(self, data: bytes, *, hold_at: float = 0.7, cut_at: float | None = None):
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.until = lambda: False
        self.released_by_timeout = False
        self.ranges: list[str | None] = []
        origin, hold, cut = self, int(len(data) * hold_at), None if cut_at is None else int(len(data) * cut_at)

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                asked = self.headers.get("Range")
                origin.ranges.append(asked)
                start = int(asked.split("=")[1].split("-")[0]) if asked else 0
                self.send_response(206 if asked else 200)
                if asked:
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                self.send_header("Content-Type", "video/mp4")
                self.send_header("Content-Length", str(len(data) - start))
                self.send_header("ETag", '"held-1"')
                self.end_headers()
                if cut is not None and len(origin.ranges) == 1:
                    self.wfile.write(data[:cut])
                    self.close_connection = True
                    return
                self.wfile.write(data[start:max(start, hold)])
                self.wfile.flush()
                deadline = time.monotonic() + 60
                while not origin.until() and time.monotonic() < deadline:
                    time.sleep(0.01)
                origin.released_by_timeout = not origin.until()
                self.wfile.write(data[max(start, hold):])

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/video.mp4"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.until = lambda: True
        self.server.shutdown()
        self.server.server_close()


def held_back_download(tmp_path, selection=FrameSelection(), *, faststart=True, **origin_options):
    """Make a clip, serve it held back until the decoder has made a frame (or, for a file whose
    index comes last, has decided to wait for the whole file), download it while decoding."""
    source = video_maker.make_clip(tmp_path / "src.mp4", duration=3, resolution_scale=0.25, sound=True,
                                   faststart=faststart)
    origin = HeldBackOrigin(source.read_bytes(), **origin_options)
    stream = decode.StreamingDecode(selection)
    decoded = []
    stream.progress = lambda done, total: decoded.append(done)
    origin.until = lambda: bool(decoded) or stream.mode.startswith("after the download (the mp4")
    try:
        path = download.download_file(origin.url, tmp_path / "video.mp4", on_part=stream.on_part,
                                      progress=stream.hook(lambda have, total: None), backoff_s=0.01)
        stream.downloaded(path)
        clip = stream.result(path)
    finally:
        origin.close()
    assert not origin.released_by_timeout  # the decoder got that far before the last bytes came
    return clip, stream, origin, path


def download_that_starts_over(tmp_path, *, after_a_frame: bool = False):
    """Half a clip lands, then the server's file changes and the whole file comes again from
    byte 0 (``after_a_frame``: only once a frame was decoded from the first half). Returns
    (clip, stream, the finished file)."""
    source = video_maker.make_clip(tmp_path / "src.mp4", duration=2, resolution_scale=0.125, sound=True)
    data = source.read_bytes()
    part, final = tmp_path / ".video.part", tmp_path / "video.mp4"
    stream = decode.StreamingDecode(FrameSelection())
    decoded = []
    stream.progress = lambda done, total: decoded.append(done)
    with open(part, "wb") as sink:
        stream.on_part(part)
        sink.write(data[: len(data) // 2])
        sink.flush()
        stream.on_progress(len(data) // 2, len(data))
        deadline = time.monotonic() + 30
        while after_a_frame and not decoded and time.monotonic() < deadline:
            time.sleep(0.01)
        assert decoded or not after_a_frame, "no frame was decoded from the first half of the file"
        sink.seek(0)
        sink.truncate()  # the server's file changed: everything again from byte 0
        stream.on_progress(0, len(data))
        sink.write(data)
        sink.flush()
        stream.on_progress(len(data), len(data))
    part.rename(final)
    stream.downloaded(final)
    return stream.result(final), stream, final
