"""The decode loop behind ``frames.decode_frames``: opencv decodes, a second thread converts.

Per selected frame: opencv (FFmpeg, its own decode threads) writes BGR uint8 into one of a few
reusable slots; a converter thread crops/resizes it if asked, swaps BGR to RGB into a uint8
scratch, and writes float32 0..1 straight into the frame's place in the output with
``cv2.addWeighted`` (one pass, no float temporary; it was the fastest of numpy multiply/divide,
cv2.multiply, cv2.LUT and copy-then-scale when measured). Meanwhile ``buffers.Prefaulter``
threads fault the output in ahead of the converter. opencv drops the GIL in every call, so
the threads really overlap.

Skipped frames are only ``grab()``-ed: decoded (which H.264 needs anyway) but never converted.
"""
from __future__ import annotations

import logging
import queue
import threading
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from . import buffers
from .. import stopping
from ..errors import DecodeError
from .selection import cover_crop

log = logging.getLogger("runcomfy_kling3")

#: BGR slots between decoder and converter: enough to ride out jitter, small enough to stay
#: cache- and memory-friendly (6 MiB each at 1080p)
SLOTS = 4
_SCALE = 1.0 / 255.0


class FramePipeline:
    def __init__(self, path):
        self.name = Path(path).name
        self.capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
        if not self.capture.isOpened():
            self.capture.release()
            raise DecodeError(f"{self.name} could not be opened for decoding")
        self.width = int(self.capture.get(cv2.CAP_PROP_FRAME_WIDTH))
        self.height = int(self.capture.get(cv2.CAP_PROP_FRAME_HEIGHT))

    def __enter__(self) -> "FramePipeline":
        return self

    def __exit__(self, *exc) -> None:
        self.capture.release()

    def run(self, frames: np.ndarray, selection, *, expected: int,
            progress: Callable[[int, int], None] | None, request_id: str | None,
            prefault: bool = True) -> int:
        """Fill ``frames`` (from index 0) with the selected frames; return how many."""
        out_h, out_w = frames.shape[1:3]
        shaper = _FrameShaper(self.width, self.height, out_w, out_h)
        converter = _Converter(frames, shaper, SLOTS, (self.height, self.width, 3))
        frame_bytes = frames[0].nbytes
        prefaulter = buffers.Prefaulter(frames, expected * frame_bytes) if prefault else None
        if prefaulter is not None:
            prefaulter.__enter__()
        converter.start()
        produced = 0
        try:
            position = 0  # index of the next frame the capture will return
            for index in range(frames.shape[0]):
                wanted = selection.skip_first_frames + index * selection.select_every_nth
                while position < wanted:
                    if not self.capture.grab():
                        return produced
                    position += 1
                slot = converter.free_slot()
                ok, image = self.capture.read(slot)
                position += 1
                if not ok or image is None:
                    converter.give_back(slot)
                    return produced
                if image is not slot:  # size changed mid-stream (rare): bring it to the plan
                    cv2.resize(image, (self.width, self.height), dst=slot, interpolation=cv2.INTER_AREA)
                converter.submit(slot, index)
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
    """BGR uint8 frame -> float32 RGB 0..1 in its place in the output."""

    def __init__(self, width: int, height: int, out_w: int, out_h: int):
        self.resize = (out_w, out_h) != (width, height)
        self.out_size = (out_w, out_h)
        x, y, w, h = cover_crop(width, height, out_w, out_h)
        self.crop = (slice(y, y + h), slice(x, x + w))
        # shrinking: area averaging (no aliasing); enlarging: Lanczos, as VideoHelperSuite
        self.interpolation = cv2.INTER_AREA if out_w * out_h < w * h else cv2.INTER_LANCZOS4
        self.resized = np.empty((out_h, out_w, 3), np.uint8) if self.resize else None
        self.rgb = np.empty((out_h, out_w, 3), np.uint8)

    def __call__(self, bgr: np.ndarray, dest: np.ndarray) -> None:
        if self.resize:
            bgr = cv2.resize(bgr[self.crop], self.out_size, dst=self.resized,
                             interpolation=self.interpolation)
        cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB, dst=self.rgb)
        written = cv2.addWeighted(self.rgb, _SCALE, self.rgb, 0.0, 0.0, dst=dest, dtype=cv2.CV_32F)
        if written is not dest and not np.shares_memory(written, dest):
            np.copyto(dest, written)  # opencv chose its own output (never seen): keep it correct


class _Converter:
    """The converter thread and the slots it shares with the decoder."""

    def __init__(self, frames: np.ndarray, shaper: _FrameShaper, slots: int, slot_shape):
        self.frames = frames
        self.shaper = shaper
        self.free: queue.Queue = queue.Queue()
        for _ in range(slots):
            self.free.put(np.empty(slot_shape, np.uint8))
        self.work: queue.Queue = queue.Queue()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="frame-converter", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _run(self) -> None:
        while True:
            item = self.work.get()
            if item is None:
                return
            slot, index = item
            try:
                if self.error is None:
                    self.shaper(slot, self.frames[index])
            except BaseException as exc:  # handed to the decoding thread
                self.error = exc
            self.free.put(slot)

    def free_slot(self) -> np.ndarray:
        while True:
            self.raise_error()
            try:
                return self.free.get(timeout=0.5)
            except queue.Empty:
                if not self.thread.is_alive():
                    raise RuntimeError("frame converter stopped unexpectedly") from None

    def give_back(self, slot: np.ndarray) -> None:
        self.free.put(slot)

    def submit(self, slot: np.ndarray, index: int) -> None:
        self.work.put((slot, index))

    def finish(self) -> None:
        if self.thread.is_alive():
            self.work.put(None)
            self.thread.join()

    def raise_error(self) -> None:
        if self.error is not None:
            error, self.error = self.error, None
            raise error
