"""The request journal: fingerprints, atomic writes that survive kills, the cross-process lock."""
from __future__ import annotations

import json
import logging
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from pack_loader import PACK_DIR, pack_module

journal_module = pack_module("core.store.journal")
stopping = pack_module("core.stopping")
errors = pack_module("core.errors")
Journal, JournalEntry, fingerprint = journal_module.Journal, journal_module.JournalEntry, journal_module.fingerprint
KEY = "ab" * 32
BODY = {"prompt": "a fox", "duration": 5, "aspect_ratio": "16:9", "cfg_scale": 0.5, "sound": True}


def entry(state, request_id=None, **fields):
    return JournalEntry(KEY, state, "kling/kling-3.0/pro/text-to-video", request_id=request_id,
                        created_at=time.time(), updated_at=time.time(), **fields)


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


# --- reading and writing ---------------------------------------------------------------------------

def test_entries_round_trip_and_leave_no_temporary_files(tmp_path):
    journal = Journal(tmp_path / "journal")
    assert journal.read(KEY) is None
    journal.write(entry("submitting", body=BODY, seed=3))
    assert journal.read(KEY).state == "submitting" and journal.read(KEY).body == BODY
    journal.write(journal.read(KEY).moved_to("submitted", request_id="req-1"))
    got = journal.read(KEY)
    assert (got.state, got.request_id, got.seed, got.body) == ("submitted", "req-1", 3, BODY)
    assert sorted(p.name for p in journal.directory.iterdir()) == [f"{KEY}.json"]
    assert json.loads(journal.path(KEY).read_text())["version"] == 1
    journal.remove(KEY)
    assert journal.read(KEY) is None


def test_settle_records_the_outcome_only_for_the_request_it_names(tmp_path):
    journal = Journal(tmp_path)
    journal.write(entry("submitted", "req-2"))
    # a slow waiter of an older request must not overwrite the newer submission's record
    assert journal.settle(KEY, "req-1", "failed", error="late") is None
    assert journal.read(KEY).state == "submitted" and journal.read(KEY).request_id == "req-2"
    settled = journal.settle(KEY, "req-2", "completed", video_url="https://files/x.mp4", cost_usd=0.5)
    assert settled.state == "completed" and journal.read(KEY).video_url == "https://files/x.mp4"


DAMAGED = [b"", b"{\"fingerprint\": \"ab", b"\xff\xfe garbage", b"[1, 2]", b"[" * 100_000 + b"]" * 100_000,
           json.dumps({"fingerprint": KEY, "state": "submitted"}).encode(),
           json.dumps({"fingerprint": "cd" * 32, "state": "failed"}).encode(),
           json.dumps({"fingerprint": KEY, "state": "paused"}).encode(),
           json.dumps({"fingerprint": KEY, "state": "submitted", "request_id": 123}).encode(),
           json.dumps({"fingerprint": KEY, "state": "submitting", "created_at": 1e300}).encode(),
           json.dumps({"fingerprint": KEY, "state": "completed", "request_id": "r", "body": [1]}).encode()]


@pytest.mark.parametrize("content", DAMAGED, ids=range(len(DAMAGED)))
def test_a_damaged_record_is_an_error_naming_the_file_never_taken_as_none(tmp_path, content):
    journal = Journal(tmp_path)
    journal.path(KEY).write_bytes(content)
    with pytest.raises(errors.StateFileError) as info:
        journal.read(KEY)
    text = str(info.value)
    assert str(journal.path(KEY)) in text and "change the seed" in text and "request history" in text
    assert journal.path(KEY).read_bytes() == content  # left in place for a person to check
    assert list(journal.entries()) == []  # tools skip it


def test_a_folder_in_place_of_a_record_is_an_error_naming_it(tmp_path):
    journal = Journal(tmp_path)
    journal.path(KEY).mkdir()
    with pytest.raises(errors.StateFileError, match="cannot be read"):
        journal.read(KEY)


# --- kills at any moment ---------------------------------------------------------------------------

WRITER = r"""
import sys, time
sys.path.insert(0, sys.argv[1])
from core.store.journal import Journal, JournalEntry
journal, key, number = Journal(sys.argv[2]), sys.argv[3], int(sys.argv[4])
padding = "x" * 200_000   # a big entry keeps the writer inside a write most of the time
states = ["submitting", "submitted", "completed"]
while True:
    number += 1
    journal.write(JournalEntry(key, states[number % 3], "m", request_id=f"req-{number:09d}",
                               body={"prompt": padding[: 100_000 + number % 1000]},
                               created_at=time.time(), updated_at=time.time()))
    if number % 1_000_000 == 1:
        print("first write done", flush=True)
"""


def test_killing_the_writer_at_random_moments_never_leaves_a_broken_or_older_entry(tmp_path, caplog):
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    folder = tmp_path / "journal"
    rng = random.Random(1234)
    newest = -1
    for round_number in range(20):
        child = subprocess.Popen([sys.executable, str(script), str(PACK_DIR), str(folder), KEY,
                                  str(round_number * 1_000_000)], stdout=subprocess.PIPE, text=True)
        try:
            assert child.stdout.readline().strip() == "first write done"
            time.sleep(rng.uniform(0.0, 0.05))
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait()
        with caplog.at_level(logging.WARNING, logger="runcomfy_kling3"):
            got = Journal(folder).read(KEY)
        assert got is not None and got.fingerprint == KEY
        number = int(got.request_id.split("-")[1])
        # a whole entry, and never one older than what an earlier round already read back
        assert got.state in ("submitting", "submitted", "completed") and number > newest
        assert len(got.body["prompt"]) == 100_000 + number % 1000
        newest = number
    assert "cannot be used" not in caplog.text


# --- the lock ----------------------------------------------------------------------------------------

HOLDER = r"""
import sys, time
sys.path.insert(0, sys.argv[1])
from core.store.journal import Journal
with Journal(sys.argv[2]).lock(sys.argv[3]):
    print("locked", flush=True)
    time.sleep(600)
"""


def stop_after(seconds):
    deadline = time.monotonic() + seconds
    return lambda: time.monotonic() > deadline


def test_lock_excludes_another_process_and_is_released_when_its_holder_is_killed(tmp_path):
    script = tmp_path / "holder.py"
    script.write_text(HOLDER)
    journal = Journal(tmp_path / "journal")
    holder = subprocess.Popen([sys.executable, str(script), str(PACK_DIR), str(journal.directory), KEY],
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
    journal = Journal(tmp_path)
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


def test_journal_imports_without_fcntl(tmp_path):
    """Windows has no fcntl: the module must still import and lock (msvcrt or thread lock)."""
    code = ("import sys, builtins; real = builtins.__import__\n"
            "def fake(name, *a, **k):\n"
            "    if name == 'fcntl': raise ImportError(name)\n"
            "    return real(name, *a, **k)\n"
            "builtins.__import__ = fake\n"
            f"sys.path.insert(0, {str(PACK_DIR)!r})\n"
            "from core.store import files, journal\n"
            "assert files.fcntl is None\n"
            f"j = journal.Journal({str(tmp_path)!r})\n"
            "with j.lock('k'):\n    print('ok')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "ok", done.stderr
    assert os.path.exists(Path(tmp_path) / "k.lock")
