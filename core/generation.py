"""One generation from validated request to local mp4, paid for at most once.

The node runs this in a worker thread and reads ``Progress`` from its event loop to draw the
status, so this module needs no ComfyUI and no thread-safety beyond single attribute writes.

With a journal (see core/journal.py for its states), the fingerprint of the request decides:

    completed (or submitted) and the video is in the result cache  -> reused, no request at all
    submitted or completed, video not cached  -> re-attach to the request id, wait, download
    submitting  -> refused: an earlier run died during its submit, a job may exist unrecorded
    none, failed or cancelled  -> write "submitting", submit, write "submitted" (fsynced), wait

The lookup and the submit happen under the fingerprint's file lock, so another process with the
same inputs waits for the request id and re-attaches instead of submitting again. The lock is
not held while waiting for the job.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .client import RunComfyClient
from .download import download_file
from .errors import (ConfigurationError, JobCancelledError, JobFailedError, RECOVERY_NODE,
                     RequestNotFoundError, ResultExpiredError, RunComfyError, StoppedError,
                     SubmissionOutcomeUnknownError)
from .job import DEFAULT_POLL_INTERVAL_S, DEFAULT_TIMEOUT_S, InProgress, JobUpdate, Queued
from .journal import (ATTACHABLE_STATES, CANCELLED, COMPLETED, FAILED, SUBMITTED, SUBMITTING, Journal,
                      JournalEntry, fingerprint)
from .kling_request import MODEL_ID, TextToVideoRequest
from .result_cache import ResultCache

log = logging.getLogger("runcomfy_kling3")

__all__ = ["Progress", "GeneratedVideo", "run_generation", "finish_request", "cached_result",
           "RESULTS_FOLDER", "JOURNAL_FOLDER"]

#: folders inside the pack's data directory (outside the pack folder)
RESULTS_FOLDER = "results"
JOURNAL_FOLDER = "journal"


@dataclass
class Progress:
    """What the job is doing now; written by the worker, read by whoever draws it."""

    phase: str = "validating"   # submitting, queued, generating, downloading, decoding, done
    request_id: str | None = None
    queue_position: int | None = None
    started_at: float | None = None      # time.monotonic() when the job was submitted
    generating_since: float | None = None
    percent: float | None = None
    #: the job was seen queued, so ``generating_since`` is when it really started generating
    #: (not when a restarted run re-attached to it mid-generation)
    seen_queued: bool = False

    def elapsed(self) -> float | None:
        return None if self.started_at is None else time.monotonic() - self.started_at

    def on_job_update(self, update: JobUpdate) -> None:
        if isinstance(update.status, Queued):
            self.phase, self.queue_position = "queued", update.status.position
            self.seen_queued = True
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
    #: served from the result cache without any request to the API
    reused: bool = False


def run_generation(client: RunComfyClient, request: TextToVideoRequest, results_dir: Path, *,
                   seed: object = None, journal: Journal | None = None,
                   progress: Progress | None = None, should_stop: Callable[[], bool] | None = None,
                   poll_interval: float = DEFAULT_POLL_INTERVAL_S, timeout: float = DEFAULT_TIMEOUT_S,
                   max_download_bytes: int | None = None) -> GeneratedVideo:
    """Submit (at most once per request and seed, when ``journal`` is given), wait, download.

    ``seed`` is never sent; it only tells generations with the same body apart.
    """
    progress = progress or Progress()
    body = request.to_body()
    waiting = dict(progress=progress, should_stop=should_stop, poll_interval=poll_interval,
                   timeout=timeout, max_download_bytes=max_download_bytes)
    if journal is None:
        progress.phase = "submitting"
        request_id = client.submit(MODEL_ID, body).request_id
        _on_submitted(progress, request_id)
        return finish_request(client, request_id, results_dir, **waiting)

    api_base = client.settings.base_url
    key = fingerprint(MODEL_ID, body, seed, api_base)
    cache = ResultCache(results_dir)
    reused = _reuse(journal.read(key), cache, progress)
    if reused is not None:
        return reused
    with journal.lock(key, should_stop):
        entry = journal.read(key)
        reused = _reuse(entry, cache, progress)
        if reused is not None:
            return reused
        if entry is not None and entry.state == SUBMITTING:
            raise _unknown_outcome(entry, journal)
        if entry is not None and entry.state in ATTACHABLE_STATES:
            request_id = entry.request_id
            log.info("RunComfy: same inputs as request %s (%s); waiting for it instead of submitting",
                     request_id, entry.state)
            progress.request_id = request_id
        else:
            new = JournalEntry(key, SUBMITTING, MODEL_ID, seed=seed, api_base=api_base, body=body,
                               created_at=time.time(), updated_at=time.time())
            request_id = _submit_recorded(client, journal, new, entry, progress)
    known_completed = entry is not None and entry.state == COMPLETED
    return _finish_recorded(client, journal, key, request_id, results_dir, known_completed, waiting)


def finish_request(client: RunComfyClient, request_id: str, results_dir: Path, *,
                   progress: Progress | None = None, should_stop: Callable[[], bool] | None = None,
                   poll_interval: float = DEFAULT_POLL_INTERVAL_S, timeout: float = DEFAULT_TIMEOUT_S,
                   max_download_bytes: int | None = None, cancel_on_stop: bool = True,
                   known_completed: bool = False) -> GeneratedVideo:
    """Wait for an already submitted request and download its video into the result cache;
    when the cache already holds it, no request is made at all.

    ``known_completed``: the job is known to have finished, so the API not knowing it any more
    means its result expired (``ResultExpiredError``).
    """
    progress = progress or Progress()
    progress.request_id = request_id
    cache = ResultCache(results_dir)
    reused = cached_result(cache, request_id)
    if reused is not None:
        return reused
    progress.started_at = progress.started_at or time.monotonic()
    if progress.phase not in ("queued", "generating"):
        progress.phase = "queued"
    try:
        result = client.handle(request_id).wait(progress.on_job_update, should_stop, poll_interval=poll_interval,
                                                timeout=timeout, cancel_on_stop=cancel_on_stop)
    except RequestNotFoundError:
        if not known_completed:
            raise
        raise ResultExpiredError(
            "The video has expired on RunComfy and its local copy is gone (removed from the result "
            "cache)", request_id=request_id,
            hint="A new video needs a new paid job: change the seed to generate it again") from None
    generating_s = None
    if progress.generating_since and progress.seen_queued:
        generating_s = time.monotonic() - progress.generating_since
    progress.phase, progress.percent = "downloading", 0.0
    dest = cache.prepare(request_id, result.video_url, result.cost_usd)
    extra = {} if max_download_bytes is None else {"max_bytes": max_download_bytes}
    try:
        download_file(result.video_url, dest, progress=progress.on_bytes, should_stop=should_stop,
                      request_id=request_id, **extra)
    except RunComfyError as exc:
        raise exc.with_request_id(request_id)
    saved = cache.commit(request_id, pin=True)
    return GeneratedVideo(request_id, result.video_url, saved.path, result.cost_usd, generating_s)


def cached_result(cache: ResultCache | Path, request_id: str) -> GeneratedVideo | None:
    """The video of ``request_id`` from the result cache (no request), or None."""
    cache = cache if isinstance(cache, ResultCache) else ResultCache(cache)
    hit = cache.get(request_id, pin=True)
    if hit is None:
        return None
    log.info("RunComfy: using the cached video of request %s", request_id)
    return GeneratedVideo(request_id, hit.video_url or "", hit.path, hit.cost_usd, reused=True)


# --- the journal's side --------------------------------------------------------------------------

def _on_submitted(progress: Progress, request_id: str) -> None:
    progress.request_id = request_id
    progress.started_at = time.monotonic()
    progress.phase = "queued"


def _reuse(entry: JournalEntry | None, cache: ResultCache, progress: Progress) -> GeneratedVideo | None:
    if entry is None or entry.state not in ATTACHABLE_STATES:
        return None
    video = cached_result(cache, entry.request_id)
    if video is None:
        return None
    progress.request_id = entry.request_id
    return GeneratedVideo(video.request_id, video.video_url or entry.video_url or "", video.path,
                          video.cost_usd if video.cost_usd is not None else entry.cost_usd, reused=True)


def _submit_recorded(client: RunComfyClient, journal: Journal, new: JournalEntry,
                     previous: JournalEntry | None, progress: Progress) -> str:
    """Submit with the journal written before and after; return the request id."""
    try:
        journal.write(new)
    except OSError as exc:
        raise ConfigurationError(
            f"Cannot write the request journal in {journal.directory}: {exc}",
            hint="Nothing was submitted: without the journal a restart could pay for this video "
                 "twice. Make that folder writable (or set RUNCOMFY_KLING3_HOME outside ComfyUI)") from None
    progress.phase = "submitting"
    try:
        request_id = client.submit(MODEL_ID, new.body).request_id
    except SubmissionOutcomeUnknownError:
        raise  # "submitting" stays: a job may exist, the next run must not submit blindly
    except RunComfyError:
        # The API answered with an error, or was never reached: no job was created.
        if previous is None:
            journal.remove(new.fingerprint)
        else:
            journal.write(previous)
        raise
    progress.request_id = request_id  # so even a failing journal write reports the id
    journal.write(new.moved_to(SUBMITTED, request_id=request_id))
    _on_submitted(progress, request_id)
    return request_id


def _finish_recorded(client: RunComfyClient, journal: Journal, key: str, request_id: str,
                     results_dir: Path, known_completed: bool, waiting: dict) -> GeneratedVideo:
    try:
        video = finish_request(client, request_id, results_dir, known_completed=known_completed, **waiting)
    except JobFailedError as exc:
        _settle(journal, key, request_id, FAILED, error=exc.reason)
        raise
    except JobCancelledError as exc:
        _settle(journal, key, request_id, CANCELLED, error=exc.reason)
        raise
    except StoppedError as exc:
        if exc.remote_cancelled:
            _settle(journal, key, request_id, CANCELLED, error=exc.reason)
        raise  # otherwise the job runs on and the next run re-attaches to it
    _settle(journal, key, request_id, COMPLETED, video_url=video.video_url or None, cost_usd=video.cost_usd)
    return video


def _settle(journal: Journal, key: str, request_id: str, state: str, **changes) -> None:
    try:
        journal.settle(key, request_id, state, **changes)
    except OSError as exc:  # the outcome itself is not at risk: the next run asks the API again
        log.warning("RunComfy: could not record request %s as %s in the journal: %s", request_id, state, exc)


def _unknown_outcome(entry: JournalEntry, journal: Journal) -> SubmissionOutcomeUnknownError:
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(entry.updated_at or entry.created_at))
    return SubmissionOutcomeUnknownError(
        f"An earlier run with exactly these inputs (seed {entry.seed}) stopped while submitting, on "
        f"{when}, before RunComfy's answer was saved, so a job may have been created and charged",
        hint=(f"Nothing was submitted now. Look for that job in your RunComfy request history: if it is "
              f"there, give its request id to the '{RECOVERY_NODE}' node; if it is not, change the seed "
              f"(or delete {journal.path(entry.fingerprint)}) to submit again"))
