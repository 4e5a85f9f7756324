"""The decode loop behind ``frames.decode_frames``: PyAV decodes, converter threads convert.

PyAV (FFmpeg) decodes with frame threading on every CPU (``thread_type="AUTO"``; PyAV's own
default is slice threading, which H.264 at these bit rates barely uses) and hands over the
decoded YUV frames as they are. Converter threads (two on two CPUs) turn each selected one into
its place in the output: PyAV's ``to_ndarray(format="rgb24")`` makes RGB (as ComfyUI's own
loader does, so colours match it; about 1.6 ms at 1080p, faster than copying the planes for
``cv2.cvtColor``), the frame is cropped/resized if asked, and ``cv2.addWeighted`` writes float32
0..1 straight into the output (one pass, no float temporary; numpy's multiply into the output
measures the same within noise, cv2.multiply, cv2.LUT and copy-then-scale slower: the write of
25 MB a frame is bound by memory, 3-3.5 ms even as a plain copy). Meanwhile
``buffers.Prefaulter`` threads fault the output in ahead of the converters. FFmpeg and opencv
drop the GIL, so the threads overlap. Rotation metadata (which Kling never writes) is not
applied.

Skipped frames are decoded (H.264 needs them anyway) but never converted. The source is a path
or a readable binary file object (``growing_file.GrowingFile`` decodes a download as it lands).
"""
from __future__ import annotations

import logging
import os
import queue
import threading
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from . import buffers
from .. import stopping
from ..errors import DecodeError
from .probe import open_failure
from .selection import cover_crop

log = logging.getLogger("runcomfy_kling3")

#: decoded frames waiting for a converter (3 MiB each at 1080p, so 48 MiB): with 4, the decoder
#: waited 0.7-1.5 s a 1080p clip for a converter the scheduler had paused, while both CPUs were
#: needed; with 16, 0.01 s
SLOTS = 16
#: converter threads: two use both CPUs of a small machine when the decoder is ahead (and halve
#: the tail after the last frame is decoded); one CPU converts ~150 1080p frames a second, so
#: bigger machines, which decode faster, get more (memory bandwidth caps the gain)
CONVERTERS = min(4, max(2, buffers.usable_cpus() // 2))
_SCALE = 1.0 / 255.0


class FramePipeline:
    def __init__(self, source, name: str | None = None):
        import av  # loaded with the first video, not when ComfyUI starts

        self._av_error = av.FFmpegError
        self.name = name or (Path(source).name if isinstance(source, (str, os.PathLike)) else "the video")
        try:
            self.container = av.open(str(source) if isinstance(source, (str, os.PathLike)) else source)
        except (av.FFmpegError, OSError, ValueError, UnicodeDecodeError) as exc:
            raise open_failure(self.name, exc) from None
        if not self.container.streams.video:
            self.container.close()
            raise DecodeError(f"{self.name} contains no video stream")
        self.stream = self.container.streams.video[0]
        self.stream.thread_type = "AUTO"
        self.width = self.stream.codec_context.width
        self.height = self.stream.codec_context.height

    def __enter__(self) -> "FramePipeline":
        return self

    def __exit__(self, *exc) -> None:
        self.container.close()

    def frames(self):
        """Decoded frames in order; a damaged or cut-off end just ends the sequence."""
        try:
            for packet in self.container.demux(self.stream):
                for frame in packet.decode():
                    yield frame
        except self._av_error as exc:
            log.warning("%s: decoding stopped early (%s)", self.name, exc)

    def run(self, frames: np.ndarray, selection, *, expected: int,
            progress: Callable[[int, int], None] | None, request_id: str | None,
            prefault: bool = True, prefaulter: "buffers.Prefaulter | None" = None) -> int:
        """Fill ``frames`` (from index 0) with the selected frames; return how many.
        ``prefaulter``: one already faulting ``frames`` in (a reserved buffer); it is stopped
        at the end like the one made here when ``prefault`` is set."""
        out_h, out_w = frames.shape[1:3]
        converter = _Converter(frames, lambda: _FrameShaper(self.width, self.height, out_w, out_h),
                               SLOTS, CONVERTERS)
        if prefaulter is None and prefault:
            prefaulter = buffers.Prefaulter(frames, expected * frames[0].nbytes).__enter__()
        converter.start()
        produced = 0
        try:
            limit = frames.shape[0]
            for position, frame in enumerate(self.frames()):
                offset = position - selection.skip_first_frames
                if offset < 0 or offset % selection.select_every_nth:
                    continue
                if produced >= limit:
                    break
                converter.submit(frame, produced)
                produced += 1
                stopping.check("Stopped while decoding the video", request_id)
                if progress is not None:
                    progress(produced, max(expected, produced))
            return produced
        finally:
            converter.finish()
            if prefaulter is not None:
                prefaulter.stop()
                if prefaulter.failure:
                    log.debug("prefaulting stopped early (%s)", prefaulter.failure)
            if progress is not None and converter.error is None:
                progress(produced, max(expected, produced))
            converter.raise_error()


class _FrameShaper:
    """A decoded frame -> float32 RGB 0..1 in its place in the output."""

    def __init__(self, width: int, height: int, out_w: int, out_h: int):
        self.width, self.height = width, height
        self.resize = (out_w, out_h) != (width, height)
        self.out_size = (out_w, out_h)
        x, y, w, h = cover_crop(width, height, out_w, out_h)
        self.crop = (slice(y, y + h), slice(x, x + w))
        # shrinking: area averaging (no aliasing); enlarging: Lanczos, as VideoHelperSuite
        self.interpolation = cv2.INTER_AREA if out_w * out_h < w * h else cv2.INTER_LANCZOS4
        self.resized = np.empty((out_h, out_w, 3), np.uint8) if self.resize else None

    def __call__(self, frame, dest: np.ndarray) -> None:
        rgb = self._rgb(frame)
        if self.resize:
            rgb = cv2.resize(rgb[self.crop], self.out_size, dst=self.resized, interpolation=self.interpolation)
        written = cv2.addWeighted(rgb, _SCALE, rgb, 0.0, 0.0, dst=dest, dtype=cv2.CV_32F)
        if written is not dest and not np.shares_memory(written, dest):
            np.copyto(dest, written)  # opencv chose its own output (never seen): keep it correct

    def _rgb(self, frame) -> np.ndarray:
        if (frame.width, frame.height) != (self.width, self.height):
            # the size changed mid-stream (rare): bring the frame to the plan
            return frame.to_ndarray(format="rgb24", width=self.width, height=self.height)
        return frame.to_ndarray(format="rgb24")


class _Converter:
    """The converter threads, fed decoded frames through a short queue. Every frame has its own
    place in the output, so the threads need no order among them; each has its own shaper (its
    resize buffer)."""

    def __init__(self, frames: np.ndarray, make_shaper: Callable[[], _FrameShaper], slots: int, threads: int):
        self.frames = frames
        self.make_shaper = make_shaper
        self.work: queue.Queue = queue.Queue(maxsize=slots)
        self.error: BaseException | None = None
        self.threads = [threading.Thread(target=self._run, name=f"frame-converter-{n}", daemon=True)
                        for n in range(threads)]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def _run(self) -> None:
        shaper = None
        while True:
            item = self.work.get()
            if item is None:
                return
            frame, index = item
            try:
                if self.error is None:
                    if shaper is None:
                        shaper = self.make_shaper()
                    shaper(frame, self.frames[index])
            except BaseException as exc:  # handed to the decoding thread
                self.error = exc

    def submit(self, frame, index: int) -> None:
        while True:
            self.raise_error()
            try:
                self.work.put((frame, index), timeout=0.5)
                return
            except queue.Full:
                if not any(thread.is_alive() for thread in self.threads):
                    raise RuntimeError("frame converter stopped unexpectedly") from None

    def finish(self) -> None:
        started = [thread for thread in self.threads if thread.ident is not None]
        for _ in started:
            self.work.put(None)
        for thread in started:
            thread.join()

    def raise_error(self) -> None:
        if self.error is not None:
            error, self.error = self.error, None
            raise error
