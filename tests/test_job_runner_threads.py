"""The jobs' worker threads: a batch's jobs wait for minutes each, so they must not live in the
event loop's default thread pool, which holds min(32, CPUs + 4) threads (6 on a two-CPU machine)
and which the other nodes of the prompt use too."""
from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

from pack_loader import pack_module

job_runner = pack_module("nodes.job_runner")
Progress = pack_module("core.status").Progress
JOBS = 8  # more than a small machine's default pool


def test_every_job_of_a_batch_runs_at_once_whatever_the_default_pool(comfy):
    started = threading.Barrier(JOBS, timeout=10)

    def work(should_stop):
        started.wait()  # returns only when every job's worker is running at the same time
        return "done"

    async def batch():
        # the default pool of a two-CPU machine, already busy with ComfyUI's own work
        small = ThreadPoolExecutor(max_workers=6)
        asyncio.get_running_loop().set_default_executor(small)
        busy = threading.Event()
        for _ in range(4):
            small.submit(busy.wait, 15)
        try:
            return await asyncio.gather(*(job_runner.run_job(work, Progress(), job_runner.StatusView(None))
                                          for _ in range(JOBS)))
        finally:
            busy.set()
    assert asyncio.run(batch()) == ["done"] * JOBS


def test_the_job_keeps_the_callers_context(comfy):
    import contextvars
    marker = contextvars.ContextVar("marker", default=None)

    async def main():
        marker.set("the node's task")
        return await job_runner.run_job(lambda should_stop: marker.get(), Progress(), job_runner.StatusView(None))
    assert asyncio.run(main()) == "the node's task"
