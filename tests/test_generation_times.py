"""The learnt generation times behind the time-left estimate of the text-to-video node: the
median per duration, kept in the state database across runs, threads and processes."""
from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading

from pack_loader import PACK_DIR, pack_module

StateFolder = pack_module("core.store.folder").StateFolder


def times_in(root):
    return StateFolder(root).timings()


def stored(root) -> list[tuple[int, float]]:
    with sqlite3.connect(root / "state.db") as db:
        return db.execute("SELECT duration_s, generating_s FROM timings ORDER BY id").fetchall()


def test_no_history_means_no_estimate(tmp_path):
    assert times_in(tmp_path).estimate(5) is None


def test_estimate_is_the_median_of_the_same_duration(tmp_path):
    times = times_in(tmp_path)
    for seconds in (60, 300, 90):
        times.record(5, seconds)
    times.record(10, 500)
    assert times.estimate(5) == 90
    assert times.estimate(10) == 500
    assert times.estimate(15) is None
    assert pack_module("core.store.timings").GenerationTimes(
        pack_module("core.store.database").Database(tmp_path / "state.db")).estimate(5) == 90  # persisted


def test_only_the_last_twenty_runs_count(tmp_path):
    times = times_in(tmp_path)
    for _ in range(25):
        times.record(5, 1000)
    for _ in range(20):
        times.record(5, 50)
    assert times.estimate(5) == 50
    assert len(stored(tmp_path)) == 20


def test_impossible_values_are_ignored(tmp_path):
    times = times_in(tmp_path)
    for bad in (0, -5, float("nan"), float("inf"), None, "60", True, 1e300):
        times.record(5, bad)  # type: ignore[arg-type]
    times.record("x", 60)  # type: ignore[arg-type]
    assert times.estimate(5) is None
    assert stored(tmp_path) == []


def test_an_old_timing_file_is_carried_over_once(tmp_path):
    (tmp_path / "generation_times.json").write_text(
        '{"version": 1, "durations": {"5": [{"generating_s": 40, "at": 1}, {"generating_s": 44, "at": 2}]}}')
    times = times_in(tmp_path)
    assert times.estimate(5) == 42
    times.record(5, 42)
    assert len(stored(tmp_path)) == 3  # not carried over a second time


def test_concurrent_records_from_threads_all_land(tmp_path):
    times = times_in(tmp_path)
    threads = [threading.Thread(target=lambda i=i: times.record(3 + i % 3, 10 + i)) for i in range(15)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(stored(tmp_path)) == 15


def test_records_from_two_processes_all_land(tmp_path):
    script = ("import sys; sys.path.insert(0, sys.argv[1]);"
              "from pack_loader import pack_module;"
              "F = pack_module('core.store.folder').StateFolder;"
              "t = F(sys.argv[2]).timings();"
              "[t.record(5, 10 + i) for i in range(8)]")
    procs = [subprocess.Popen([sys.executable, "-c", script, str(PACK_DIR / "tests"), str(tmp_path)])
             for _ in range(2)]
    assert [p.wait(timeout=60) for p in procs] == [0, 0]
    assert len(stored(tmp_path)) == 16  # transactions: no process lost a sample of the other


HOLD_THE_WRITE_LOCK = r"""
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("CREATE TABLE IF NOT EXISTS other (a)")
db.execute("BEGIN IMMEDIATE")
db.execute("INSERT INTO other VALUES (1)")
print("holding", flush=True)
time.sleep(float(sys.argv[2]))
db.execute("COMMIT")
"""


def test_a_state_file_another_process_is_writing_is_waited_for_not_called_damaged(tmp_path):
    """Two ComfyUIs starting at once on one folder: while one writes the new (or an older
    version's) state file, the other's set-up switches it to WAL, which SQLite answers with an
    immediate "database is locked" (its busy timeout does not cover that case). The set-up
    waits for the other writer instead of losing the record or calling the file damaged."""
    holder = subprocess.Popen([sys.executable, "-c", HOLD_THE_WRITE_LOCK, str(tmp_path / "state.db"), "0.8"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        times_in(tmp_path).record(5, 42.0)
    finally:
        assert holder.wait(timeout=30) == 0
    assert stored(tmp_path) == [(5, 42.0)]
