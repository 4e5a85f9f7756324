"""The learnt generation times behind the time-left estimate of the text-to-video node: the
median per duration, kept across runs, threads and processes."""
from __future__ import annotations

import json
import sys
import threading

from pack_loader import PACK_DIR, pack_module

GenerationTimes = pack_module("core.store.timings").GenerationTimes


def test_no_history_means_no_estimate(tmp_path):
    assert GenerationTimes(tmp_path / "times.json").estimate(5) is None


def test_estimate_is_the_median_of_the_same_duration(tmp_path):
    times = GenerationTimes(tmp_path / "runcomfy" / "times.json")
    for seconds in (60, 300, 90):
        times.record(5, seconds)
    times.record(10, 500)
    assert times.estimate(5) == 90
    assert times.estimate(10) == 500
    assert times.estimate(15) is None
    assert GenerationTimes(times.path).estimate(5) == 90  # persisted


def test_only_the_last_twenty_runs_count(tmp_path):
    times = GenerationTimes(tmp_path / "times.json")
    for _ in range(25):
        times.record(5, 1000)
    for _ in range(20):
        times.record(5, 50)
    assert times.estimate(5) == 50
    stored = json.loads(times.path.read_text())["durations"]["5"]
    assert len(stored) == 20


def test_impossible_values_are_ignored(tmp_path):
    times = GenerationTimes(tmp_path / "times.json")
    for bad in (0, -5, float("nan"), float("inf"), None, "60", True):
        times.record(5, bad)  # type: ignore[arg-type]
    times.record("x", 60)  # type: ignore[arg-type]
    assert times.estimate(5) is None
    assert not times.path.exists()


def test_a_damaged_file_is_replaced_not_fatal(tmp_path):
    path = tmp_path / "times.json"
    path.write_text("{not json")
    times = GenerationTimes(path)
    assert times.estimate(5) is None
    times.record(5, 42)
    assert times.estimate(5) == 42


def test_concurrent_records_from_threads_all_land(tmp_path):
    times = GenerationTimes(tmp_path / "times.json")
    threads = [threading.Thread(target=lambda i=i: times.record(3 + i % 3, 10 + i)) for i in range(15)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stored = json.loads(times.path.read_text())["durations"]
    assert sum(len(v) for v in stored.values()) == 15
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".tmp"] == []


def test_records_from_two_processes_all_land(tmp_path):
    import subprocess
    script = ("import sys; sys.path.insert(0, sys.argv[1]);"
              "from pack_loader import pack_module;"
              "T = pack_module('core.store.timings').GenerationTimes;"
              "t = T(__import__('pathlib').Path(sys.argv[2]));"
              "[t.record(5, 10 + i) for i in range(8)]")
    path = tmp_path / "times.json"
    procs = [subprocess.Popen([sys.executable, "-c", script, str(PACK_DIR / "tests"), str(path)])
             for _ in range(2)]
    assert [p.wait(timeout=60) for p in procs] == [0, 0]
    # read-modify-write under the lock: no process overwrote a sample of the other
    assert len(json.loads(path.read_text())["durations"]["5"]) == 16
