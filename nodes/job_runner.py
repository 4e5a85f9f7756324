"""Runs a blocking job (submit, wait, download, decode) off ComfyUI's event loop.

The worker thread only writes ``Progress``; this loop, on ComfyUI's side, reads it four times a
second to draw the status text, the websocket status event and the progress bar, and watches
for Cancel. That keeps every ComfyUI call on the node's own task (where ComfyUI knows which node
is running) and lets several nodes of one graph wait at the same time.
"""
from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Callable, TypeVar

from ..core.errors import RunComfyError, StoppedError
from ..core.status import Phase, Progress
from .comfy_bridge import ProgressBar, interrupt_exception, interrupt_requested
from .status_events import send_status

log = logging.getLogger("runcomfy_kling3")
T = TypeVar("T")

TICK_S = 0.25
#: after Cancel, how long to wait for the worker's outcome (it usually takes milliseconds: one
#: quick cancel request) so the user learns whether the job is cancelled or will be charged
STOP_GRACE_S = 10.0


class StatusView:
    """Draws ``Progress`` on one node; sends only what changed."""

    def __init__(self, node_id: str | None, eta_for_generation: float | None = None):
        self.node_id = node_id
        self.eta_for_generation = eta_for_generation
        self.bar = ProgressBar(100, node_id)
        self._last: tuple | None = None

    def show(self, progress: Progress) -> None:
        elapsed = progress.elapsed()
        eta = None
        if progress.phase == Phase.GENERATING and self.eta_for_generation and progress.generating_since:
            eta = max(0.0, self.eta_for_generation - (time.monotonic() - progress.generating_since))
        percent = None if progress.percent is None else round(progress.percent)
        state = (progress.phase, progress.request_id, progress.queue_position,
                 None if elapsed is None else int(elapsed), None if eta is None else int(eta), percent)
        if state == self._last:
            return
        self._last = state
        send_status(self.node_id, progress.phase, request_id=progress.request_id,
                    queue_position=progress.queue_position, elapsed_s=elapsed, eta_s=eta, percent=percent)
        if progress.phase == Phase.DOWNLOADING and percent is not None:
            self.bar.update(percent / 2)
        elif progress.phase == Phase.DECODING and percent is not None:
            self.bar.update(50 + percent / 2)

    def finish(self, phase: Phase, progress: Progress, message: str | None = None) -> None:
        if phase == Phase.DONE:
            self.bar.update(100)
        send_status(self.node_id, phase, request_id=progress.request_id, message=message,
                    elapsed_s=progress.elapsed(), cost_usd=progress.cost_usd if phase == Phase.DONE else None)


async def run_job(work: Callable[[Callable[[], bool]], T], progress: Progress, view: StatusView) -> T:
    """Run ``work(should_stop)`` in a thread; raise ComfyUI's interrupt on Cancel (within ~1 s)."""
    stop = threading.Event()
    future = asyncio.ensure_future(asyncio.to_thread(work, stop.is_set))
    stop_requested_at: float | None = None
    while True:
        try:
            done, _ = await asyncio.wait({future}, timeout=TICK_S)
        except asyncio.CancelledError:
            # Another node of the graph failed or was interrupted: ComfyUI cancels this task but
            # waits for worker threads before it moves on, so the worker must stop now too.
            stop.set()
            future.add_done_callback(_log_late_outcome)
            raise
        if done:
            break
        view.show(progress)
        if stop_requested_at is None and interrupt_requested():
            stop.set()
            stop_requested_at = time.monotonic()
        if stop_requested_at is not None and time.monotonic() - stop_requested_at > STOP_GRACE_S:
            # The worker is stuck in a slow network call: stop waiting for it; it sees the stop
            # flag at its next step and logs what became of the job.
            future.add_done_callback(_log_late_outcome)
            message = "Interrupted; the API did not answer in time, so the job's state is unknown"
            view.finish(Phase.INTERRUPTED, progress, message)
            raise interrupt_exception(_with_id(message, progress))
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
    if stop_requested_at is not None:
        view.finish(Phase.INTERRUPTED, progress, "Interrupted")
        raise interrupt_exception(_with_id("Interrupted", progress))
    view.finish(Phase.DONE, progress)
    return result


def _with_id(message: str, progress: Progress) -> str:
    return f"{message} (request id {progress.request_id})" if progress.request_id else message


def _log_late_outcome(future: "asyncio.Future") -> None:
    if not future.cancelled() and future.exception() is not None:
        log.warning("After Cancel: %s", future.exception())
