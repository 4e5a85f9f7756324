"""How fast, and in how much memory, does a 15 s 1080p 24 fps clip become an IMAGE tensor?

    python benchmarks/decode_benchmark.py               # makes the clip on first use
    python benchmarks/decode_benchmark.py --repeat 3    # median of three rounds
    python benchmarks/decode_benchmark.py --aspect-ratio 9:16 --light   # flat-colour clip

The clip is realistic footage (see bench_support.py) unless ``--light`` is given. This measures
the decode alone, from a file on disk; benchmarks/e2e_benchmark.py measures the whole path inside
a real ComfyUI.

Each method runs in a fresh subprocess (clean peak RSS) that imports torch first, as ComfyUI
has, and times only the load itself. A method about to exhaust the machine's memory is stopped
(its time and peak are then lower bounds):

  floor      opencv decodes every frame (no colour conversion, one reused buffer), then one
             write of a float32 array of the output's size (np.empty + fill), 4 KiB pages
  floor-thp  the same with numpy's default for big arrays, transparent huge pages (slower
             here: see core/buffers.py), shown for reference; the targets use "floor"
  pack       this pack: core.media.frames.decode_frames, then torch.from_numpy (shares the memory)
  core       ComfyUI core's VideoFromFile.get_components: PyAV decode, each frame to a float
             tensor in a list, then torch.stack
  core-tuned the same with glibc told to give freed frames back (MALLOC_MMAP_THRESHOLD_):
             leaner and faster than core as shipped, so ratios against it are conservative
  cv2-stack  a plain opencv loader: read, BGR->RGB, float32 / 255 into a list, then torch.stack
  floor-warm, pack-warm  the floor and the pack with the output faulted in beforehand, as inside
             ComfyUI, and the bound two CPUs set on decode + write (decode_warm.py)

Before every run the script waits until freed memory has settled (see bench_support.py).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

import decode_warm
from bench_support import (GIB, MIB, REPO_ROOT, available_bytes, clip_path, ensure_clip,
                           machine_summary, process_rss, wait_for_settled_memory)

METHODS = ("floor", "floor-thp", "pack", "core", "core-tuned", "cv2-stack", *decode_warm.RUNNERS)
#: glibc keeps freed 24 MiB frames in its heap and grows past them (its mmap threshold adapts
#: upwards), so core's list costs about twice its size; this setting stops that. It only makes
#: core leaner and faster, so a ratio against it is conservative.
TUNED_MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": str(1024 * 1024)}

# --- targets of the issue ----------------------------------------------------------------------
MAX_TIME_VS_FLOOR = 1.3
MIN_SPEEDUP_VS_CORE = 3.0
RSS_FACTOR, RSS_EXTRA = 1.1, 300 * MIB
#: a method is stopped when its RSS comes this close to exhausting available memory
GUARD_MARGIN = 3 * GIB // 2


# --- the methods (run inside the child) --------------------------------------------------------

def run_floor(clip: str, huge_pages: bool = False):
    import cv2
    import numpy as np

    set_madvise = getattr((getattr(np, "_core", None) or np.core).multiarray,
                          "_set_madvise_hugepage", None)
    if set_madvise is not None:
        set_madvise(huge_pages)   # numpy asks for huge pages on big arrays unless told not to

    capture = cv2.VideoCapture(clip, cv2.CAP_FFMPEG)
    width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
    height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
    frame = np.empty((height, width, 3), np.uint8)
    count = 0
    started = time.perf_counter()
    while capture.read(frame)[0]:
        count += 1
    decoded = time.perf_counter()
    capture.release()
    out = np.empty((count, height, width, 3), np.float32)
    out.fill(0.5)
    return out, {"decode_s": decoded - started, "write_s": time.perf_counter() - decoded}


def run_pack(clip: str):
    import torch

    sys.path.insert(0, str(REPO_ROOT))
    from core.media.frames import decode_frames

    decoded = decode_frames(clip)
    return torch.from_numpy(decoded.frames), {}


def run_core(clip: str):
    import av
    import torch

    # ComfyUI's comfy_api VideoFromFile.get_components(), frames part
    frames = []
    with av.open(clip) as container:
        for frame in container.decode(video=0):
            frames.append(torch.from_numpy(frame.to_ndarray(format="rgb24")) / 255.0)
    return torch.stack(frames), {}


def run_cv2_stack(clip: str):
    import cv2
    import numpy as np
    import torch

    frames = []
    capture = cv2.VideoCapture(clip, cv2.CAP_FFMPEG)
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frame = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB).astype(np.float32)
        frame /= 255.0
        frames.append(torch.from_numpy(frame))
    capture.release()
    return torch.stack(frames), {}


RUNNERS = {"floor": run_floor, "floor-thp": lambda clip: run_floor(clip, huge_pages=True),
           "pack": run_pack, "core": run_core, "core-tuned": run_core,
           "cv2-stack": run_cv2_stack, **decode_warm.RUNNERS}


def rss_now() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def child(method: str, clip: str) -> None:
    import torch  # noqa: F401  (loaded first, as in ComfyUI; part of every baseline)
    import cv2  # noqa: F401
    import av  # noqa: F401

    sys.path.insert(0, str(REPO_ROOT))
    import core.media.frames  # noqa: F401  (imports are not part of the measured load)

    baseline = rss_now()
    print(f"started {time.monotonic()}", flush=True)
    started = time.perf_counter()
    result, extra = RUNNERS[method](clip)
    wall = extra.pop("timed_s", time.perf_counter() - started)  # a warm method times its own part
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"method": method, "wall_s": wall, "peak_rss": usage.ru_maxrss * 1024,
                      "baseline_rss": baseline, "cpu_s": usage.ru_utime + usage.ru_stime,
                      "shape": list(result.shape), "nbytes": int(result.nbytes), **extra}))


# --- the parent ----------------------------------------------------------------------------------

def measure(method: str, clip: Path, settle_limit: float) -> dict:
    """Run one method in a fresh subprocess. A method that would exhaust the machine's memory
    is stopped before the kernel's OOM killer has to pick a victim (this machine may be
    shared); its result then says how far it got, and its time is a lower bound."""
    output_bytes = 360 * 1080 * 1920 * 3 * 4  # the 1080p clip, whatever its orientation
    waited = wait_for_settled_memory(settle_limit)
    guard = available_bytes() - GUARD_MARGIN
    env = dict(os.environ, **(TUNED_MALLOC_ENV if method == "core-tuned" else {}))
    child_process = subprocess.Popen(
        [sys.executable, __file__, "--child", method, "--clip", str(clip)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env=env)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(child_process.stdout), daemon=True)
    reader.start()
    highest, stopped_at = 0, None
    while child_process.poll() is None:
        rss = process_rss(child_process.pid)
        highest = max(highest, rss)
        if rss > guard:
            child_process.kill()
            stopped_at = time.monotonic()
            break
        time.sleep(0.02)
    child_process.wait()
    stopped_at = stopped_at or (time.monotonic() if child_process.returncode == -9 else None)
    reader.join()
    errors = child_process.stderr.read()
    if stopped_at is not None:  # stopped by us, or by the kernel's OOM killer
        started = next((float(line.split()[1]) for line in lines if line.startswith("started ")), None)
        return {"method": method, "stopped": True, "wall_s": stopped_at - (started or stopped_at),
                "peak_rss": highest, "baseline_rss": 0, "nbytes": output_bytes, "cpu_s": 0.0,
                "settle_wait_s": waited}
    if child_process.returncode != 0:
        raise SystemExit(f"{method} failed (exit {child_process.returncode}):\n{errors}")
    result = json.loads(lines[-1])
    result["settle_wait_s"] = waited
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clip", type=Path, help="a clip of your own (default: the test clip)")
    parser.add_argument("--aspect-ratio", default="16:9", choices=("16:9", "9:16", "1:1"))
    parser.add_argument("--light", action="store_true",
                        help="flat-colour test clip (decodes several times faster than real footage)")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--repeat", type=int, default=1,
                        help="rounds over all methods; the table shows each method's median time")
    parser.add_argument("--settle-limit", type=float, default=120.0,
                        help="longest wait for freed memory to be returned before a run (s)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, str(args.clip))
        return

    footage = "light" if args.light else "realistic"
    clip = args.clip or ensure_clip(clip_path(args.aspect_ratio, footage), args.aspect_ratio, footage)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = set(methods) - set(METHODS)
    if unknown:
        raise SystemExit(f"--methods: unknown {sorted(unknown)}; choose from {METHODS}")
    print(machine_summary(), flush=True)
    runs: dict[str, list[dict]] = {method: [] for method in methods}
    for round_index in range(args.repeat):
        for method in methods:
            result = measure(method, clip, args.settle_limit)
            runs[method].append(result)
            print(f"  round {round_index + 1} {method:<10} {'>=' if result.get('stopped') else ''}"
                  f"{result['wall_s']:.2f} s, peak RSS {result['peak_rss'] / GIB:.2f} GiB "
                  f"(waited {result['settle_wait_s']:.0f} s for memory to settle)", flush=True)
    print_report({method: median_run(results) for method, results in runs.items()},
                 {method: [r["wall_s"] for r in results] for method, results in runs.items()})


def median_run(results: list[dict]) -> dict:
    ordered = sorted(results, key=lambda r: r["wall_s"])
    chosen = dict(ordered[(len(ordered) - 1) // 2])
    chosen["peak_rss"] = max(r["peak_rss"] for r in results)
    chosen["stopped"] = any(r.get("stopped") for r in results)
    return chosen


def print_report(results: dict, times: dict) -> None:
    print()
    print(f"{'method':<11} {'wall s':>9} {'peak RSS GiB':>13} {'baseline GiB':>13} {'output GiB':>11}  notes")
    for method, r in results.items():
        notes = []
        if len(times[method]) > 1:
            notes.append("median of " + ", ".join(f"{t:.2f}" for t in times[method]))
        if method.startswith("floor"):
            notes.append(f"decode {r['decode_s']:.2f} s + write {r['write_s']:.2f} s")
        if method == "core-tuned":
            notes.append("core with MALLOC_MMAP_THRESHOLD_=1MiB (leaner than as shipped)")
        if r.get("stopped"):
            notes.append("stopped before exhausting memory: time and RSS are lower bounds")
        mark = ">=" if r.get("stopped") else "  "
        baseline = "n/a" if r.get("stopped") else f"{r['baseline_rss'] / GIB:.2f}"
        print(f"{method:<11} {mark}{r['wall_s']:>7.2f} {mark}{r['peak_rss'] / GIB:>11.2f} "
              f"{baseline:>13} {r['nbytes'] / GIB:>11.2f}  {'; '.join(notes)}")
    for line in decode_warm.report(results):
        print(line)
    if "pack" not in results:
        return
    pack = results["pack"]
    print()
    print("ratios (method / pack):")
    for method, r in results.items():
        if method != "pack":
            mark = ">=" if r.get("stopped") else "  "
            print(f"  {method:<11} time {mark}{r['wall_s'] / pack['wall_s']:5.2f}x   "
                  f"peak RSS {mark}{r['peak_rss'] / pack['peak_rss']:5.2f}x")
    print()
    print("targets:")
    checks = []
    if "floor" in results:
        ratio = pack["wall_s"] / results["floor"]["wall_s"]
        checks.append((f"pack time <= {MAX_TIME_VS_FLOOR}x floor", f"{ratio:.2f}x", ratio <= MAX_TIME_VS_FLOOR))
    cores = [m for m in ("core", "core-tuned") if m in results]
    if cores:
        # every figure here is a lower bound of core's real time, so the largest one holds
        best = max(cores, key=lambda m: results[m]["wall_s"])
        speedup = results[best]["wall_s"] / pack["wall_s"]
        mark = ">=" if results[best].get("stopped") or best == "core-tuned" else ""
        checks.append((f"pack >= {MIN_SPEEDUP_VS_CORE}x faster than core (against {best})",
                       f"{mark}{speedup:.2f}x", speedup >= MIN_SPEEDUP_VS_CORE))
    limit = RSS_FACTOR * pack["nbytes"] + RSS_EXTRA
    checks.append((f"pack peak RSS <= {RSS_FACTOR}x output + 300 MiB ({limit / GIB:.2f} GiB)",
                   f"{pack['peak_rss'] / GIB:.2f} GiB", pack["peak_rss"] <= limit))
    for name, value, ok in checks:
        print(f"  {'PASS' if ok else 'FAIL'}  {name}: {value}")


if __name__ == "__main__":
    main()
