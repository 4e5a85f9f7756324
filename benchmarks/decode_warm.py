"""The decode benchmark's "warm" methods: the output's memory faulted in before the clock starts.

Inside ComfyUI the pack allocates and faults in the frames' memory while the job is still
generating (core/pacing.py), so what it spends after completion is decoding and writing, not
faulting. These methods measure exactly that, and the bound two CPUs set on it:

  floor-warm  opencv decodes every frame (no conversion, one reused buffer), then converts a
              frame to float32 0..1 into every slot of the output, already faulted in (the
              fastest conversion measured, on one thread); decode and conversion are timed
              apart, with their CPU seconds
  pack-warm   the pack's decode_frames into a buffer reserved and faulted in beforehand (as
              during the generation)

The bound: the pack must at least decode (what the bare decode does) and convert every value
to float32 once; overlapped perfectly on every CPU that is max(decode time, (decode CPU + write CPU)
/ CPUs). ``bound_s`` gives it per round, so a ratio against the bare decode can be read against
what the machine allows.
"""
from __future__ import annotations

import os
import resource
import sys
import time

from bench_support import REPO_ROOT


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_floor_warm(clip: str):
    import cv2
    import numpy as np

    capture = cv2.VideoCapture(clip, cv2.CAP_FFMPEG)
    width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
    height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
    count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    out = np.empty((count, height, width, 3), np.float32)
    out.fill(0.0)  # faulted in before the clock starts
    frame = np.empty((height, width, 3), np.uint8)
    started, cpu_started = time.perf_counter(), _cpu()
    while capture.read(frame)[0]:
        pass
    decoded, cpu_decoded = time.perf_counter(), _cpu()
    capture.release()
    cv2.setNumThreads(1)
    for slot in out:  # the conversion every loader of ComfyUI frames does: uint8 -> float32 0..1
        cv2.addWeighted(frame, 1.0 / 255.0, frame, 0.0, 0.0, dst=slot, dtype=cv2.CV_32F)
    written, cpu_written = time.perf_counter(), _cpu()
    decode_cpu, write_cpu = cpu_decoded - cpu_started, cpu_written - cpu_decoded
    cpus = os.cpu_count() or 1
    return out, {"timed_s": written - started, "decode_s": decoded - started, "write_s": written - decoded,
                 "decode_cpu_s": decode_cpu, "write_cpu_s": write_cpu,
                 "bound_s": max(decoded - started, (decode_cpu + write_cpu) / cpus)}


def run_pack_warm(clip: str):
    import torch

    sys.path.insert(0, str(REPO_ROOT))
    from core.media.frames import decode_frames, reserve_frames
    from core.media.probe import probe_video
    from core.media.selection import FrameSelection

    info = probe_video(clip)
    reserved = reserve_frames(info, FrameSelection())
    prefaulter = reserved.prefaulter if reserved is not None else None
    for thread in getattr(prefaulter, "_threads", ()):  # wait until the memory is faulted in
        thread.join()
    started, cpu_started = time.perf_counter(), _cpu()
    decoded = decode_frames(clip, info=info, reserved=reserved)
    return torch.from_numpy(decoded.frames), {"timed_s": time.perf_counter() - started,
                                              "cpu_timed_s": _cpu() - cpu_started}


RUNNERS = {"floor-warm": run_floor_warm, "pack-warm": run_pack_warm}


def report(results: dict) -> list[str]:
    """Lines comparing pack-warm with the bare decode and the two-CPU bound (medians)."""
    if "floor-warm" not in results or "pack-warm" not in results:
        return []
    floor, pack = results["floor-warm"], results["pack-warm"]
    bare, bound = floor["decode_s"], floor["bound_s"]
    return [f"warm (memory faulted in beforehand, as inside ComfyUI): bare decode {bare:.2f} s "
            f"({floor['decode_cpu_s']:.2f} CPU s), float32 conversion {floor['write_s']:.2f} s "
            f"({floor['write_cpu_s']:.2f} CPU s)",
            f"  bound on {os.cpu_count()} CPUs: {bound:.2f} s = {bound / bare:.2f}x the bare decode",
            f"  pack-warm: {pack['wall_s']:.2f} s ({pack['cpu_timed_s']:.2f} CPU s) = {pack['wall_s'] / bare:.2f}x "
            f"the bare decode, {pack['wall_s'] / bound:.2f}x the bound"]
