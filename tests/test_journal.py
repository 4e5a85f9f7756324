"""The request journal in the state database: fingerprints, the submit's steps, damaged records,
durability under kills, and the cross-process lock."""
from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from pack_loader import PACK_DIR, pack_module

journal_module = pack_module("core.store.journal")
folder_module = pack_module("core.store.folder")
stopping = pack_module("core.stopping")
errors = pack_module("core.errors")
JournalEntry, fingerprint = journal_module.JournalEntry, journal_module.fingerprint
KEY = "ab" * 32
BODY = {"prompt": "a fox", "duration": 5, "aspect_ratio": "16:9", "cfg_scale": 0.5, "sound": True}


def journal_in(root: Path):
    return folder_module.StateFolder(root).journal()


def entry(state="submitting", request_id=None, key=KEY, **fields):
    return JournalEntry(key, state, "kling/kling-3.0/pro/text-to-video", request_id=request_id,
                        created_at=time.time(), updated_at=time.time(), **fields)


def rows(journal):
    with journal.database.read() as db:
        return [dict(row) for row in db.execute("SELECT * FROM jobs ORDER BY id")]


# --- fingerprints --------------------------------------------------------------------------------

def test_fingerprint_depends_on_every_part_of_the_request_but_not_on_key_order():
    model = "kling/kling-3.0/pro/text-to-video"
    base = fingerprint(model, BODY, 7, "https://api")
    assert base == fingerprint(model, dict(reversed(list(BODY.items()))), 7, "https://api")
    assert len(base) == 64 and int(base, 16) >= 0
    others = {fingerprint(model, BODY, 8, "https://api"),
              fingerprint(model, {**BODY, "prompt": "a fox "}, 7, "https://api"),
              fingerprint(model, {**BODY, "sound": False}, 7, "https://api"),
              fingerprint("other/model", BODY, 7, "https://api"),
              fingerprint(model, BODY, 7, "http://127.0.0.1:9")}
    assert base not in others and len(others) == 5


# --- the submit's steps ----------------------------------------------------------------------------

def test_a_submission_moves_through_its_states_in_one_record(tmp_path):
    journal = journal_in(tmp_path)
    assert journal.read(KEY) is None
    journal.begin(entry(body=BODY, seed=3, estimate_usd=0.84))
    assert journal.read(KEY).state == "submitting" and journal.read(KEY).body == BODY
    journal.settle(KEY, "req-1", "submitted")
    journal.settle(KEY, "req-1", "completed", video_url="https://files/x.mp4", cost_usd=0.84, video_path="/v.mp4")
    got = journal.read(KEY)
    assert (got.state, got.request_id, got.seed, got.body, got.cost_usd) == ("completed", "req-1", 3, BODY, 0.84)
    assert len(rows(journal)) == 1 and (tmp_path / "state.db").is_file()


def test_a_refused_submit_is_forgotten_and_the_previous_record_counts_again(tmp_path):
    journal = journal_in(tmp_path)
    journal.begin(entry())
    journal.settle(KEY, "req-1", "failed", error="policy")
    journal.begin(entry())
    journal.abandon(KEY)
    got = journal.read(KEY)
    assert (got.state, got.request_id) == ("failed", "req-1") and len(rows(journal)) == 1
    journal.begin(entry(key="cd" * 32))
    journal.abandon("cd" * 32)
    assert journal.read("cd" * 32) is None


def test_a_new_submission_keeps_the_old_one_in_the_ledger(tmp_path):
    journal = journal_in(tmp_path)
    journal.begin(entry())
    journal.settle(KEY, "req-1", "cancelled")
    journal.begin(entry())
    journal.settle(KEY, "req-2", "submitted")
    assert journal.read(KEY).request_id == "req-2"
    assert [(r["request_id"], r["state"], r["current"]) for r in rows(journal)] == [
        ("req-1", "cancelled", 0), ("req-2", "submitted", 1)]


def test_settle_records_the_outcome_only_for_the_request_it_names(tmp_path):
    journal = journal_in(tmp_path)
    journal.begin(entry())
    journal.settle(KEY, "req-2", "submitted")
    # a slow waiter of an older request must not overwrite the newer submission's record
    assert journal.settle(KEY, "req-1", "failed", error="late") is None
    assert journal.read(KEY).state == "submitted" and journal.read(KEY).request_id == "req-2"
    settled = journal.settle(KEY, "req-2", "completed", video_url="https://files/x.mp4", cost_usd=0.5)
    assert settled.state == "completed" and journal.read(KEY).video_url == "https://files/x.mp4"


# --- damage ----------------------------------------------------------------------------------------

BROKEN_ROWS = {"request id not text": "UPDATE jobs SET request_id = X'00ff'",
               "body not JSON": "UPDATE jobs SET body = '{\"prompt\": \"a f'",
               "body a list": "UPDATE jobs SET body = '[1, 2]'",
               "unknown state": "UPDATE jobs SET state = 'paused'",
               "absurd time": "UPDATE jobs SET created_at = 1e300",
               "nesting bomb": "UPDATE jobs SET seed = '" + "[" * 100_000 + "]" * 100_000 + "'"}


@pytest.mark.parametrize("change", BROKEN_ROWS.values(), ids=BROKEN_ROWS.keys())
def test_a_damaged_record_is_an_error_naming_where_it_is_never_taken_as_none(tmp_path, change):
    journal = journal_in(tmp_path)
    journal.begin(entry())
    journal.settle(KEY, "req-1", "submitted")
    with sqlite3.connect(tmp_path / "state.db") as db:
        db.execute(change)
    with pytest.raises(errors.StateFileError) as info:
        journal.read(KEY)
    text = str(info.value)
    assert str(tmp_path / "state.db") in text and "change the seed" in text and "request history" in text
    assert list(journal.entries()) == []  # tools skip it


@pytest.mark.parametrize("damage", ["garbage", "folder"])
def test_a_damaged_database_file_is_an_error_naming_it(tmp_path, damage):
    path = tmp_path / "state.db"
    if damage == "folder":
        path.mkdir()
    else:
        path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(errors.StateFileError) as info:
        journal_in(tmp_path).read(KEY)
    assert str(path) in str(info.value) and "Move that file aside" in str(info.value)


# --- kills at any moment ---------------------------------------------------------------------------

WRITER = r"""
import sys, time
sys.path.insert(0, sys.argv[1])
from core.store.folder import StateFolder
from core.store.journal import JournalEntry
journal, number = StateFolder(sys.argv[2]).journal(), int(sys.argv[3])
padding = "x" * 200_000   # a big record keeps the writer inside a write most of the time
while True:
    number += 1
    key = "ab" * 32
    journal.begin(JournalEntry(key, "submitting", "m", body={"prompt": padding[: 100_000 + number % 1000]},
                               created_at=time.time(), updated_at=time.time()))
    journal.settle(key, f"req-{number:09d}", "submitted")
    if number % 1_000_000 == 1:
        print("first write done", flush=True)
"""


def test_killing_the_writer_at_random_moments_never_leaves_a_broken_or_older_record(tmp_path):
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    rng = random.Random(1234)
    newest = -1
    for round_number in range(12):
        child = subprocess.Popen([sys.executable, str(script), str(PACK_DIR), str(tmp_path / "state"),
                                  str(round_number * 1_000_000)], stdout=subprocess.PIPE, text=True)
        try:
            assert child.stdout.readline().strip() == "first write done"
            time.sleep(rng.uniform(0.0, 0.05))
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait()
        got = journal_in(tmp_path / "state").read(KEY)
        assert got is not None and got.state in ("submitting", "submitted")
        if got.state == "submitted":
            number = int(got.request_id.split("-")[1])
            assert number > newest and len(got.body["prompt"]) == 100_000 + number % 1000
            newest = number
    assert newest >= 0


# --- the lock ----------------------------------------------------------------------------------------

HOLDER = r"""
import sys, time
sys.path.insert(0, sys.argv[1])
from core.store.folder import StateFolder
with StateFolder(sys.argv[2]).journal().lock(sys.argv[3]):
    print("locked", flush=True)
    time.sleep(600)
"""


def stop_after(seconds):
    deadline = time.monotonic() + seconds
    return lambda: time.monotonic() > deadline


def test_lock_excludes_another_process_and_is_released_when_its_holder_is_killed(tmp_path):
    script = tmp_path / "holder.py"
    script.write_text(HOLDER)
    journal = journal_in(tmp_path / "state")
    holder = subprocess.Popen([sys.executable, str(script), str(PACK_DIR), str(tmp_path / "state"), KEY],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(errors.StoppedError, match="another run with the same inputs"):
            with stopping.scope(stop_after(0.3)), journal.lock(KEY):
                pytest.fail("got the lock while another process held it")
        with stopping.scope(stop_after(5)), journal.lock("cd" * 32):
            pass  # other fingerprints are not blocked
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    with stopping.scope(stop_after(10)), journal.lock(KEY):
        pass  # a killed holder leaves no stale lock


def test_lock_excludes_threads_of_the_same_process(tmp_path):
    journal = journal_in(tmp_path)
    inside, overlaps = [], []

    def worker():
        for _ in range(20):
            with journal.lock(KEY):
                inside.append(1)
                if len(inside) > 1:
                    overlaps.append(1)
                time.sleep(0.001)
                inside.pop()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert overlaps == []


def test_journal_works_without_fcntl(tmp_path):
    """Windows has no fcntl: the store must still import and lock (msvcrt or thread lock)."""
    code = ("import sys, builtins; real = builtins.__import__\n"
            "def fake(name, *a, **k):\n"
            "    if name == 'fcntl': raise ImportError(name)\n"
            "    return real(name, *a, **k)\n"
            "builtins.__import__ = fake\n"
            f"sys.path.insert(0, {str(PACK_DIR)!r})\n"
            "from core.store import files, folder\n"
            "assert files.fcntl is None\n"
            f"j = folder.StateFolder({str(tmp_path)!r}).journal()\n"
            "with j.lock('k'):\n    print('ok')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "ok", done.stderr
    assert os.path.exists(Path(tmp_path) / "locks" / "k.lock")
