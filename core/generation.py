"""One generation from validated request to local mp4: submit, wait, download.

The node runs this in a worker thread and reads ``Progress`` from its event loop to draw the
status, so this module needs no ComfyUI and no thread-safety beyond single attribute writes.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .client import RunComfyClient
from .download import download_file
from .errors import RunComfyError
from .job import DEFAULT_POLL_INTERVAL_S, DEFAULT_TIMEOUT_S, InProgress, JobUpdate, Queued
from .kling_request import MODEL_ID, TextToVideoRequest


@dataclass
class Progress:
    """What the job is doing now; written by the worker, read by whoever draws it."""

    phase: str = "validating"   # submitting, queued, generating, downloading, decoding, done
    request_id: str | None = None
    queue_position: int | None = None
    started_at: float | None = None      # time.monotonic() when the job was submitted
    generating_since: float | None = None
    percent: float | None = None

    def elapsed(self) -> float | None:
        return None if self.started_at is None else time.monotonic() - self.started_at

    def on_job_update(self, update: JobUpdate) -> None:
        if isinstance(update.status, Queued):
            self.phase, self.queue_position = "queued", update.status.position
        elif isinstance(update.status, InProgress):
            self.phase, self.queue_position = "generating", None
            self.generating_since = self.generating_since or time.monotonic()

    def on_bytes(self, done: int, total: int | None) -> None:
        self.percent = 100.0 * done / total if total else None


@dataclass(frozen=True)
class GeneratedVideo:
    request_id: str
    video_url: str
    path: Path
    cost_usd: float | None = None
    generating_s: float | None = None


def run_generation(client: RunComfyClient, request: TextToVideoRequest, results_dir: Path, *,
                   progress: Progress | None = None, should_stop: Callable[[], bool] | None = None,
                   poll_interval: float = DEFAULT_POLL_INTERVAL_S, timeout: float = DEFAULT_TIMEOUT_S,
                   max_download_bytes: int | None = None) -> GeneratedVideo:
    progress = progress or Progress()
    body = request.to_body()
    progress.phase = "submitting"
    handle = client.submit(MODEL_ID, body)
    progress.request_id = handle.request_id
    progress.started_at = time.monotonic()
    progress.phase = "queued"
    return finish_request(client, handle.request_id, results_dir, progress=progress,
                          should_stop=should_stop, poll_interval=poll_interval, timeout=timeout,
                          max_download_bytes=max_download_bytes)


def finish_request(client: RunComfyClient, request_id: str, results_dir: Path, *,
                   progress: Progress | None = None, should_stop: Callable[[], bool] | None = None,
                   poll_interval: float = DEFAULT_POLL_INTERVAL_S, timeout: float = DEFAULT_TIMEOUT_S,
                   max_download_bytes: int | None = None) -> GeneratedVideo:
    """Wait for an already submitted request and download its video."""
    progress = progress or Progress(request_id=request_id)
    progress.request_id = request_id
    progress.started_at = progress.started_at or time.monotonic()
    handle = client.handle(request_id)
    result = handle.wait(progress.on_job_update, should_stop, poll_interval=poll_interval, timeout=timeout)
    generating_s = (time.monotonic() - progress.generating_since) if progress.generating_since else None
    progress.phase, progress.percent = "downloading", 0.0
    results_dir.mkdir(parents=True, exist_ok=True)
    extra = {} if max_download_bytes is None else {"max_bytes": max_download_bytes}
    try:
        path = download_file(result.video_url, results_dir / f"{safe_name(request_id)}.mp4",
                             progress=progress.on_bytes, should_stop=should_stop,
                             request_id=request_id, **extra)
    except RunComfyError as exc:
        raise exc.with_request_id(request_id)
    return GeneratedVideo(request_id, result.video_url, Path(path), result.cost_usd, generating_s)


def safe_name(request_id: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in request_id)[:120]
