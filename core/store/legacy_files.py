"""Carrying a user's records over from the JSON files of earlier versions into the state database.

Run once per data folder, inside the database's first write transaction (``Database``'s
migrations), so every job in flight is still known after the upgrade: a ``submitting`` record still
refuses a blind resubmit, a ``submitted`` one is still re-attached. A file that cannot be read is
carried over as a ``damaged`` record naming the file, which blocks its inputs like a damaged record
does. The old files are left where they are (they are the user's), and never read again.
"""
from __future__ import annotations

import json
import logging
import math
import re
import sqlite3
from pathlib import Path

from .database import Migration
from .journal import COLUMNS, DAMAGED, JournalEntry

log = logging.getLogger("runcomfy_kling3")

_FINGERPRINT = re.compile(r"^[0-9a-f]{64}$")
MAX_FILE_BYTES = 1024 * 1024


def journal_files(folder: Path) -> Migration:
    def migrate(db: sqlite3.Connection) -> None:
        if not folder.is_dir():
            return
        carried = damaged = 0
        for path in sorted(folder.glob("*.json")):
            key = path.stem
            if not _FINGERPRINT.match(key):
                continue
            try:
                entry = JournalEntry.from_json(_read_json(path), key)
            except (OSError, ValueError, TypeError, UnicodeDecodeError, RecursionError):
                entry = JournalEntry(key, DAMAGED, "", error=str(path), created_at=_mtime(path),
                                     updated_at=_mtime(path))
                damaged += 1
            db.execute(f"INSERT INTO jobs ({', '.join(COLUMNS)}, current) VALUES "
                       f"({', '.join('?' * len(COLUMNS))}, 1)", entry.to_row())
            carried += 1
        if carried:
            log.info("RunComfy: carried %d journal record(s) over from %s (%d unreadable, kept as "
                     "blocking records)", carried, folder, damaged)
    return migrate


def timing_file(path: Path) -> Migration:
    def migrate(db: sqlite3.Connection) -> None:
        try:
            data = _read_json(path)
        except FileNotFoundError:
            return
        except (OSError, ValueError, UnicodeDecodeError, RecursionError):
            log.info("RunComfy: the old generation times in %s are unreadable; starting afresh", path)
            return
        durations = data.get("durations") if isinstance(data, dict) else None
        for key, samples in (durations.items() if isinstance(durations, dict) else ()):
            for sample in samples if isinstance(samples, list) else ():
                value = sample.get("generating_s") if isinstance(sample, dict) else None
                if str(key).isdigit() and isinstance(value, (int, float)) and math.isfinite(value) and value > 0:
                    db.execute("INSERT INTO timings (duration_s, generating_s, at) VALUES (?, ?, ?)",
                               (int(key), float(value), float(sample.get("at") or 0)))
    return migrate


def _read_json(path: Path) -> object:
    with open(path, "rb") as handle:
        raw = handle.read(MAX_FILE_BYTES + 1)
    if len(raw) > MAX_FILE_BYTES:
        raise ValueError("too large")
    return json.loads(raw.decode("utf-8"))


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
