"""What the benchmarks share: the test clips, the machine's state, and medians.

Clips are the sandbox's "realistic" footage (texture, motion and grain at Kling's bit rate: a
15 s 1080p clip is about 30 MB and decodes as slowly as a real result); ``light`` clips (flat
colours, several times faster to decode) only on request. They are made once, into
``benchmarks/.cache/``.
"""
from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
CACHE = REPO_ROOT / "benchmarks" / ".cache"
REPORTED_KIB = Path("/sys/module/page_reporting/parameters/reported_kib")
GIB = 1024 ** 3
MIB = 1024 ** 2
ASPECT_RATIOS = ("16:9", "9:16", "1:1")
SHOTS = [("a rainy neon street at night, slow dolly forward", 5),
         ("close-up of a cat watching the rain from a window", 5),
         ("wide shot of mountains at dawn, mist in the valleys", 5)]


def repo_import_path() -> None:
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))


def clip_path(aspect_ratio: str = "16:9", footage: str = "realistic") -> Path:
    return CACHE / f"kling_{footage}_{aspect_ratio.replace(':', 'x')}_15s.mp4"


def ensure_clip(path: Path, aspect_ratio: str = "16:9", footage: str = "realistic") -> Path:
    """The 15 s, 24 fps, H.264 + AAC test clip at ``path``, made on first use."""
    if path.exists():
        return path
    repo_import_path()
    from sandbox.video_maker import make_clip

    print(f"making the test clip {path.name} ({footage} footage, 15 s, {aspect_ratio}, 24 fps, "
          f"H.264 + AAC; a minute or so) ...", flush=True)
    return make_clip(path, duration=15, aspect_ratio=aspect_ratio, sound=True, shots=SHOTS, fps=24,
                     footage=footage)


def wait_for_settled_memory(limit_s: float, quiet_s: float = 3.0) -> float:
    """Wait until the kernel stops handing freed memory back to the host; returns the wait.

    On virtual machines whose free memory is handed back to the host (virtio-balloon free page
    reporting) a run right after a big free would find memory cheaper to fault in than a
    ComfyUI process decoding a result minutes after its last big tensor was freed."""
    started = time.monotonic()
    if not REPORTED_KIB.exists():
        time.sleep(min(limit_s, 2.0))
        return time.monotonic() - started
    last, last_change = REPORTED_KIB.read_text(), time.monotonic()
    while time.monotonic() - started < limit_s:
        time.sleep(0.25)
        now = REPORTED_KIB.read_text()
        if now != last:
            last, last_change = now, time.monotonic()
        elif time.monotonic() - last_change >= quiet_s:
            break
    return time.monotonic() - started


def available_bytes() -> int:
    repo_import_path()
    from core.media.buffers import available_memory_bytes

    return available_memory_bytes()


def process_rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def load_average() -> float:
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return 0.0


def machine_summary() -> str:
    repo_import_path()
    from core.media.buffers import available_memory_bytes, huge_pages_mode, usable_cpus

    return (f"machine: {usable_cpus()} CPUs, {available_memory_bytes() / GIB:.1f} GiB available, "
            f"load average {load_average():.1f}, transparent huge pages: {huge_pages_mode()}, "
            f"free page reporting: {'yes' if REPORTED_KIB.exists() else 'no'}")


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None
