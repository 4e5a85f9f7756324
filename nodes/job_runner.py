"""Runs a blocking job (submit, wait, download, decode) off ComfyUI's event loop.

The worker thread only writes ``Progress``; this loop, on ComfyUI's side, reads it four times a
second to draw the status text, the websocket status event and the progress bar, and watches
for Cancel. That keeps every ComfyUI call on the node's own task (where ComfyUI knows which node
is running) and lets several nodes of one graph wait at the same time.
"""
from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import math
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, TypeVar

from ..core.errors import RunComfyError, StoppedError
from ..core.slots import LIMIT_RANGE
from ..core.status import Phase, Progress
from ..core.store.timings import PRIOR_LATE_FACTOR, TypicalTime
from .comfy_bridge import ProgressBar, interrupt_exception, interrupt_requested, is_interrupt
from .status_events import send_status

log = logging.getLogger("runcomfy_kling3")
T = TypeVar("T")

TICK_S = 0.25
#: after Cancel, how long to wait for the worker's outcome (it usually takes milliseconds: one
#: quick cancel request) so the user learns whether the job is cancelled or will be charged
STOP_GRACE_S = 10.0


#: where each phase sits on ComfyUI's progress bar (0..1): generating takes most of it, moved by
#: the typical time (core/store/timings.py), then download and decode share the rest
GENERATING_SPAN = (0.03, 0.85)
DOWNLOAD_SPAN = (0.85, 0.95)
DECODE_SPAN = (0.95, 1.0)
#: past the typical time the bar creeps on towards this, never reaching the end
GENERATING_CEILING = 0.98
BAR_STEPS = 1000


def generating_fraction(generating_s: float, expected_s: float) -> float:
    """0..1 of the generating phase: linear up to 90 % of the typical time, then slower and
    slower, so a run a little slower than usual neither stalls nor reaches the end."""
    if expected_s <= 0:
        return 0.0
    share = max(0.0, generating_s) / expected_s
    if share <= 0.9:
        return share
    return 0.9 + (GENERATING_CEILING - 0.9) * (1.0 - math.exp(-(share - 0.9) / 0.5))


class StatusView:
    """Draws ``Progress`` on one node: the pack's status event, ComfyUI's status text, and
    ComfyUI's own progress (node outline, queue panel) through its ``ProgressBar``; sends only
    what changed."""

    def __init__(self, node_id: str | None, eta_for_generation: float | None = None,
                 typical: TypicalTime | None = None):
        self.node_id = node_id
        if typical is None and eta_for_generation:
            typical = TypicalTime(eta_for_generation, eta_for_generation * PRIOR_LATE_FACTOR, "history")
        self.typical = typical
        self.bar = ProgressBar(BAR_STEPS, node_id)
        self._last: tuple | None = None
        self._last_bar = -1
        #: ComfyUI's progress hook raised its interrupt (and so cleared its Cancel flag)
        self.interrupted = False

    def fraction(self, progress: Progress) -> float | None:
        """Where the whole job is, 0..1 (None before it was submitted)."""
        phase, percent = progress.phase, progress.percent
        if phase == Phase.GENERATING:
            start, end = GENERATING_SPAN
            if not (self.typical and progress.generating_since):
                return start
            share = generating_fraction(time.monotonic() - progress.generating_since, self.typical.expected_s)
            return start + (end - start) * share
        for span_phase, (start, end) in ((Phase.DOWNLOADING, DOWNLOAD_SPAN), (Phase.DECODING, DECODE_SPAN)):
            if phase == span_phase:
                return start + (end - start) * (percent or 0.0) / 100.0
        if phase in (Phase.SUBMITTING, Phase.QUEUED):
            return 0.0
        return None

    def show(self, progress: Progress) -> None:
        elapsed = progress.elapsed()
        eta, overdue = None, False
        if progress.phase == Phase.GENERATING and self.typical and progress.generating_since:
            generating = time.monotonic() - progress.generating_since
            eta = max(0.0, self.typical.expected_s - generating)
            overdue = generating > self.typical.late_after_s
        percent = None if progress.percent is None else round(progress.percent)
        fraction = self.fraction(progress)
        state = (progress.phase, progress.request_id, progress.queue_position,
                 None if elapsed is None else int(elapsed), None if eta is None else int(eta), percent,
                 overdue, None if fraction is None else round(fraction, 2))
        if fraction is not None:
            self._move_bar(fraction)
        if state == self._last:
            return
        self._last = state
        send_status(self.node_id, progress.phase, request_id=progress.request_id,
                    queue_position=progress.queue_position, elapsed_s=elapsed, eta_s=eta, percent=percent,
                    progress=fraction, overdue=overdue)

    def _move_bar(self, fraction: float) -> None:
        steps = int(max(0.0, min(1.0, fraction)) * BAR_STEPS)
        if steps == self._last_bar:
            return
        self._last_bar = steps
        try:
            self.bar.update(steps)
        except BaseException as exc:  # ComfyUI's interrupt derives from BaseException
            if is_interrupt(exc):
                # ComfyUI's progress hook raises its interrupt on Cancel and clears the flag that
                # interrupt_requested() reads: remember it, run_job stops the job (and the batch)
                self.interrupted = True
            elif isinstance(exc, Exception):
                log.debug("RunComfy: progress bar not updated: %s", exc)
            else:
                raise

    def finish(self, phase: Phase, progress: Progress, message: str | None = None) -> None:
        if phase == Phase.DONE:
            self._move_bar(1.0)
        send_status(self.node_id, phase, request_id=progress.request_id, message=message,
                    elapsed_s=progress.elapsed(), cost_usd=progress.cost_usd if phase == Phase.DONE else None,
                    progress=1.0 if phase == Phase.DONE else None)


class _CancelEpochs:
    """ComfyUI runs one prompt at a time, but a list runs one job per item at once, and ComfyUI's
    Cancel flag is cleared by the first check that sees it (its progress hook clears it too). So
    the first job to see Cancel bumps the epoch, and every job that started before stops too: its
    worker reads the epoch directly, so a job waiting for a slot stops before the slot is free."""

    def __init__(self):
        self.epoch = 0
        self._lock = threading.Lock()

    def note(self) -> None:
        with self._lock:
            self.epoch += 1

    def seen_since(self, epoch: int) -> bool:
        return self.epoch != epoch


_cancels = _CancelEpochs()
#: the jobs' worker threads: room for every job a batch can have in flight or waiting for a slot
#: (threads start only when needed; a waiting one sleeps on the slot)
_JOBS = ThreadPoolExecutor(max_workers=2 * LIMIT_RANGE[1] + 8, thread_name_prefix="runcomfy-kling3-job")


async def run_job(work: Callable[[Callable[[], bool]], T], progress: Progress, view: StatusView) -> T:
    """Run ``work(should_stop)`` in a thread; raise ComfyUI's interrupt on Cancel (within ~1 s)."""
    stop = threading.Event()
    epoch = _cancels.epoch

    def should_stop() -> bool:
        # the batch's epoch too, not only this loop's ``stop``: a job waiting for a slot must see
        # the Cancel before the first job's slot comes free, not at its own loop's next tick
        return stop.is_set() or _cancels.seen_since(epoch)
    # Not asyncio.to_thread: the loop's default pool has min(32, CPUs + 4) threads (6 on two
    # CPUs), shared with every other node of the prompt. A batch of jobs that wait for minutes
    # would hold all of them: jobs past the sixth would not start (nor show "waiting for a slot")
    # whatever the job limit, and other nodes' threads would wait behind them.
    call = functools.partial(contextvars.copy_context().run, work, should_stop)
    future = asyncio.get_running_loop().run_in_executor(_JOBS, call)
    try:
        stopped = await _watch(future, stop, epoch, progress, view)
    except BaseException as exc:
        # ComfyUI cancelled this task (another node of the graph failed or was interrupted), the
        # worker did not answer Cancel in time, or drawing the status failed: the worker must
        # stop now too, whatever raised.
        stop.set()
        future.add_done_callback(_log_late_outcome)
        if isinstance(exc, asyncio.CancelledError) and not future.done():
            # ComfyUI ends the prompt when its tasks end (its asyncio.run would wait for threads
            # of the default pool, not of ours): let the worker finish stopping first, so a job
            # still queued is cancelled before the prompt is reported ended
            await asyncio.wait({future}, timeout=STOP_GRACE_S)
        raise
    try:
        result = future.result()
    except StoppedError as exc:
        phase = Phase.CANCELLED if exc.remote_cancelled else Phase.INTERRUPTED
        view.finish(phase, progress, str(exc))
        log.warning("%s", exc)
        raise interrupt_exception(str(exc)) from None
    except RunComfyError as exc:
        if progress.request_id:
            exc.with_request_id(progress.request_id)
        view.finish(Phase.FAILED, progress, str(exc))
        raise
    except BaseException as exc:
        view.finish(Phase.FAILED, progress, _with_id(f"{type(exc).__name__}: {exc}", progress))
        raise
    if stopped:
        view.finish(Phase.INTERRUPTED, progress, "Interrupted")
        raise interrupt_exception(_with_id("Interrupted", progress))
    view.finish(Phase.DONE, progress)
    return result


async def _watch(future: "asyncio.Future", stop: threading.Event, epoch: int, progress: Progress,
                 view: StatusView) -> bool:
    """Draw the progress until the worker ends; on Cancel set ``stop``. True when stopped."""
    stop_requested_at: float | None = None
    while True:
        done, _ = await asyncio.wait({future}, timeout=TICK_S)
        if done:
            return stop_requested_at is not None
        view.show(progress)
        if stop_requested_at is None and (view.interrupted or interrupt_requested() or _cancels.seen_since(epoch)):
            _cancels.note()  # ComfyUI's flag is read (and cleared) once: the batch's other jobs stop too
            log.info("RunComfy: Cancel seen (%s); stopping the job",
                     "progress hook" if view.interrupted else "flag or batch")
            stop.set()
            stop_requested_at = time.monotonic()
        if stop_requested_at is not None and time.monotonic() - stop_requested_at > STOP_GRACE_S:
            # The worker is stuck in a slow network call: stop waiting for it; it sees the stop
            # flag at its next step and logs what became of the job.
            message = "Interrupted; the API did not answer in time, so the job's state is unknown"
            view.finish(Phase.INTERRUPTED, progress, message)
            raise interrupt_exception(_with_id(message, progress))


def _with_id(message: str, progress: Progress) -> str:
    return f"{message} (request id {progress.request_id})" if progress.request_id else message


def _log_late_outcome(future: "asyncio.Future") -> None:
    if not future.cancelled() and future.exception() is not None:
        log.warning("After Cancel: %s", future.exception())
