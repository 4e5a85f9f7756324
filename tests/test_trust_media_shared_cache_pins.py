"""Trust under attack, a shared state folder: two ComfyUI processes (several workers on one hosted
machine) share one result cache. Process B's eviction must not delete the file behind process
A's VIDEO output: a pin is a marker file with a time lease that every process's eviction honours."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from pack_loader import pack_module

result_cache = pack_module("core.store.result_cache")
TESTS_DIR = Path(__file__).resolve().parent

#: one generation through the pipeline over HTTP; with "hold", the process keeps running (as
#: ComfyUI does while the VIDEO output is read) until told to read its file again
CHILD = r"""
import json, sys
from types import SimpleNamespace
sys.path.insert(0, sys.argv[1])
from pathlib import Path
from pipeline_helpers import generate, make_pipeline
sandbox = SimpleNamespace(api_base=sys.argv[2])
pipeline = make_pipeline(Path(sys.argv[3]), sandbox)
result = generate(pipeline, sandbox, seed=int(sys.argv[4]))
print("DONE " + json.dumps({"path": str(result.video.path)}), flush=True)
if sys.argv[5] == "hold":
    sys.stdin.readline()
    print("READ " + json.dumps({"size": len(result.video.path.read_bytes())}), flush=True)
"""


def start(tmp_path, sandbox, seed, mode, cache_gib="4"):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    env = {**os.environ, "RUNCOMFY_KLING3_CACHE_MAX_GB": cache_gib, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, str(script), str(TESTS_DIR), sandbox.api_base,
                             str(tmp_path / "state"), str(seed), mode], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def line(child, prefix) -> dict:
    for text in child.stdout:
        if text.startswith(prefix):
            return json.loads(text[len(prefix):])
    child.wait(timeout=60)
    raise AssertionError(f"the child ended without {prefix!r}: {child.stderr.read()[-3000:]}")


def test_another_process_evicting_never_deletes_a_file_handed_to_an_output(tmp_path, sandbox):
    holder = start(tmp_path, sandbox, seed=1, mode="hold")
    try:
        held = Path(line(holder, "DONE ")["path"])
        # process B: another video, a cache limit of about 1 KiB, so it evicts all it may
        other = start(tmp_path, sandbox, seed=2, mode="exit", cache_gib="0.000001")
        other_path = Path(line(other, "DONE ")["path"])
        assert other.wait(timeout=60) == 0, other.stderr.read()[-3000:]
        assert held.exists() and other_path.exists() and held != other_path
        holder.stdin.write("read\n")
        holder.stdin.flush()
        assert line(holder, "READ ")["size"] == held.stat().st_size > 0
    finally:
        if holder.poll() is None:
            holder.stdin.close()
            holder.wait(timeout=60)
    assert len(sandbox.submissions) == 2


def test_a_pin_of_a_process_that_is_gone_protects_until_its_lease_ends(tmp_path):
    cache = result_cache.ResultCache(tmp_path, max_bytes=0)
    for name in ("a", "b"):
        cache.prepare(name, f"https://files.example/{name}.mp4")
        cache.video_path(name).write_bytes(b"v" * 100)
    # "a" was pinned by another process (a marker of another pid and tag): spared
    marker = tmp_path / ".a.mp4.pin-999999-0badc0de"
    marker.write_bytes(b"")
    assert cache.evict() == [tmp_path / "b.mp4"] and cache.video_path("a").exists()
    # once its lease is over, the pin is gone and so is the file
    old = time.time() - result_cache.PIN_LEASE_S - 60
    os.utime(marker, (old, old))
    assert cache.evict() == [tmp_path / "a.mp4"] and not marker.exists()


def test_pins_released_by_this_process_no_longer_protect_across_processes(tmp_path, monkeypatch):
    monkeypatch.setattr(result_cache, "_pinned", type(result_cache._pinned)())
    monkeypatch.setattr(result_cache, "PINNED_FILES", 1)
    cache = result_cache.ResultCache(tmp_path, max_bytes=0)
    for name in ("a", "b"):
        cache.prepare(name, f"https://files.example/{name}.mp4")
        cache.video_path(name).write_bytes(b"v" * 100)
        cache.commit(name, pin=True)
    markers = sorted(p.name for p in tmp_path.glob(".*.pin-*"))
    assert len(markers) == 1 and markers[0].startswith(".b.mp4.pin-")
    assert not cache.video_path("a").exists() and cache.video_path("b").exists()
