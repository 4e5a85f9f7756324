"""Pieces of the end-to-end benchmark: the probe node, the graphs, the baselines run beside
ComfyUI, memory sampling and reading the stages of a run (see e2e_benchmark.py)."""
from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

from bench_support import process_rss

#: a node that notes when the IMAGE reached it (the next node after the loader), then drops it
PROBE_NODE = '''
import json, time

class BenchmarkProbe:
    CATEGORY = "benchmark"
    FUNCTION = "probe"
    RETURN_TYPES = ()
    OUTPUT_NODE = True

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"images": ("IMAGE",), "tag": ("STRING", {"default": ""})}}

    def probe(self, images, tag):
        now = time.time()
        with open(LOG, "a") as out:
            out.write(json.dumps({"tag": tag, "time": now, "shape": list(images.shape),
                                  "dtype": str(images.dtype)}) + "\\n")
        return {}

NODE_CLASS_MAPPINGS = {"BenchmarkProbe": BenchmarkProbe}
'''
_STAGE_LINE = re.compile(r"Request (\S+): stage (.+?) at (\d+\.\d+)")


def install_probe(base: Path, log_path: Path) -> None:
    folder = base / "custom_nodes" / "benchmark_probe"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "__init__.py").write_text(f"LOG = {str(log_path)!r}\n" + PROBE_NODE)


def pack_graph(aspect_ratio: str, seed: int, tag: str) -> dict:
    return {"1": {"class_type": "RunComfyKling3TextToVideo",
                  "inputs": {"prompt": "benchmark clip", "negative_prompt": "", "duration": 15,
                             "aspect_ratio": aspect_ratio, "cfg_scale": 0.5, "sound": True, "seed": seed,
                             "frame_load_cap": 0, "skip_first_frames": 0, "select_every_nth": 1,
                             "custom_width": 0, "custom_height": 0}},
            "2": {"class_type": "BenchmarkProbe", "inputs": {"images": ["1", 0], "tag": tag}}}


def core_graph(file_name: str, tag: str) -> dict:
    """ComfyUI core's own path: LoadVideo -> GetVideoComponents -> the probe."""
    return {"1": {"class_type": "LoadVideo", "inputs": {"file": file_name}},
            "2": {"class_type": "GetVideoComponents", "inputs": {"video": ["1", 0]}},
            "3": {"class_type": "BenchmarkProbe", "inputs": {"images": ["2", 0], "tag": tag}}}


def probe_entry(log_path: Path, tag: str) -> dict:
    for line in reversed(log_path.read_text().splitlines()):
        entry = json.loads(line)
        if entry["tag"] == tag:
            return entry
    raise RuntimeError(f"the probe never saw {tag}")


def execution_start(history: dict) -> float:
    """Wall time ComfyUI started executing a prompt (from its history messages)."""
    for name, data in history.get("status", {}).get("messages", []):
        if name == "execution_start":
            return data["timestamp"] / 1000.0
    raise RuntimeError("no execution_start in the history")


class RssSampler:
    """Peak RSS of a process over a ``with`` block, sampled every 20 ms, against its RSS at the start."""

    def __init__(self, pid: int):
        self.pid, self.baseline, self.peak = pid, process_rss(pid), 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, process_rss(self.pid))
            time.sleep(0.02)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    @property
    def growth(self) -> int:
        return max(0, self.peak - self.baseline)


BARE_DECODE = r'''
import sys, time, cv2, numpy as np
capture = cv2.VideoCapture(sys.argv[1], cv2.CAP_FFMPEG)
frame = np.empty((int(capture.get(4)), int(capture.get(3)), 3), np.uint8)
started, count = time.perf_counter(), 0
while capture.read(frame)[0]:
    count += 1
print(time.perf_counter() - started, count)
'''


def bare_decode_s(python: str, clip: Path) -> float:
    """opencv decoding every frame of ``clip`` in a fresh process, no conversion, one reused
    buffer: the floor any loader of this file stands on."""
    out = subprocess.run([python, "-c", BARE_DECODE, str(clip)], capture_output=True, text=True, check=True)
    return float(out.stdout.split()[0])


def bare_download_s(url: str, dest: Path) -> float:
    """One plain streamed GET of ``url`` into ``dest`` (the network part alone)."""
    started = time.perf_counter()
    with requests.get(url, stream=True, timeout=60) as answer, open(dest, "wb") as sink:
        answer.raise_for_status()
        for chunk in answer.iter_content(1 << 20):
            sink.write(chunk)
    return time.perf_counter() - started


def pack_stages(sandbox, request_id: str, comfy_log: str, frames_at: float) -> dict:
    """The pack's path of one run, as wall times, from the sandbox's records (when the job
    completed, when each request reached it) and the pack's stage lines in ComfyUI's log."""
    job = sandbox.job(request_id)
    offset = time.time() - time.monotonic()  # the sandbox's records use this process's clock
    completed = job["finished_at_monotonic"] + offset
    mine = [r for r in sandbox.requests if request_id in r.path]
    status_polls = [r for r in mine if r.origin == "api" and r.path.endswith("/status")]
    noticed = min((r.time + offset for r in status_polls if r.time + offset >= completed), default=None)
    file_requests = [r.time + offset for r in mine if r.origin == "files" and r.method == "GET"]
    stages = {}
    for rid, name, at in _STAGE_LINE.findall(comfy_log):
        if rid == request_id:
            stages[name.split(" (")[0]] = float(at)
            if name.startswith("decoded"):
                stages["mode"] = name[len("decoded ("):-1]
    result = {"completed": completed, "noticed": noticed, "first_byte_request": min(file_requests, default=None),
              "result_received": stages.get("result received"), "downloaded": stages.get("downloaded"),
              "decoded": stages.get("decoded"), "frames": frames_at, "mode": stages.get("mode", "?"),
              "status_polls": len(status_polls)}
    # one status request a second at most: the shortest gap between two of them
    times = sorted(r.time for r in status_polls)
    result["min_poll_gap"] = min((b - a for a, b in zip(times, times[1:])), default=None)
    return result


def stage_durations(s: dict) -> dict:
    """Seconds of each stage of the pack's path (None when a mark is missing)."""
    def span(a, b):
        return None if s.get(a) is None or s.get(b) is None else s[b] - s[a]
    return {"completion noticed": span("completed", "noticed"),
            "result call": span("noticed", "result_received"),
            "download": span("result_received", "downloaded"),
            "decode after download": span("downloaded", "decoded"),
            "hand-off": span("decoded", "frames"),
            "completed -> frames": span("completed", "frames")}


def python_of_comfyui() -> str:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from comfyui_harness import comfyui_python

    return comfyui_python()
