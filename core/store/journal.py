"""The journal: what happened to every paid request, so no result is lost or paid twice.

One row per submission in the ``jobs`` table of the state database (``database.py``); for each
fingerprint (a hash of exactly what would be sent, where, and the node's seed) one row is
*current*: the one a new run with the same inputs must respect. Older rows stay as the ledger.

    submitting  written (durably) before the submit is sent: if it is still current on the next
                run, the process died during the submit and a job may exist unknown to us
    submitted   the request id is known; written before anyone starts waiting
    completed   the video was downloaded into the result cache
    failed      the job failed on RunComfy's side (nothing to recover, not billed)
    cancelled   the job was cancelled while queued (nothing to recover, not billed)
    damaged     a record carried over from an older version's file that could not be read

A record that cannot be read (a damaged database, wrong types, a ``damaged`` carry-over) is never
taken as "no record": it may stand for a paid job, so ``read`` raises ``StateFileError`` naming
where it is and the way out.

``lock(fingerprint)`` is a lock file per fingerprint shared by every process using the folder
(``files.FileLock``), held around the submit so a second process waits for the request id; the
operating system releases it when its holder dies, so a killed ComfyUI leaves no stale lock.
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import math
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from ..errors import RECOVERY_NODE, StateFileError
from .database import Database
from .files import FileLock

log = logging.getLogger("runcomfy_kling3")

SUBMITTING, SUBMITTED, COMPLETED, FAILED, CANCELLED, DAMAGED = (
    "submitting", "submitted", "completed", "failed", "cancelled", "damaged")
STATES = (SUBMITTING, SUBMITTED, COMPLETED, FAILED, CANCELLED, DAMAGED)
#: states that name a request that may hold (or become) a paid result
ATTACHABLE_STATES = (SUBMITTED, COMPLETED)
#: states whose job may be (or have been) billed: they count against a budget
BILLABLE_STATES = (SUBMITTING, SUBMITTED, COMPLETED, DAMAGED)
_TEXT_FIELDS = ("model_id", "request_id", "api_base", "video_url", "video_path", "error")
_NUMBER_FIELDS = ("created_at", "updated_at", "cost_usd", "estimate_usd")
COLUMNS = ("fingerprint", "state", "model_id", "request_id", "seed", "api_base", "body", "video_url",
           "video_path", "estimate_usd", "cost_usd", "error", "created_at", "updated_at")


def fingerprint(model_id: str, body: dict, seed: object = None, api_base: str | None = None) -> str:
    """sha256 of the canonical JSON of what would be sent, where, and with which seed."""
    canonical = json.dumps({"model_id": model_id, "body": body, "seed": seed, "api_base": api_base},
                           sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class JournalEntry:
    fingerprint: str
    state: str
    model_id: str
    request_id: str | None = None
    seed: object = None
    api_base: str | None = None
    #: the JSON body as sent (the ledger shows prompt, duration, shots from it)
    body: dict | None = None
    video_url: str | None = None
    #: where the video is in the result cache, once downloaded
    video_path: str | None = None
    #: the price-table estimate at submit; ``cost_usd`` is what the API reported
    estimate_usd: float | None = None
    cost_usd: float | None = None
    error: str | None = None
    created_at: float = 0.0     # time.time() of the first write
    updated_at: float = 0.0

    @classmethod
    def from_json(cls, data: object, expected_fingerprint: str) -> "JournalEntry":
        """The entry, or ``ValueError`` saying what is wrong with ``data``."""
        if not isinstance(data, dict):
            raise ValueError(f"a JSON {type(data).__name__} instead of an object")
        if data.get("fingerprint") != expected_fingerprint:
            raise ValueError("its fingerprint does not match")
        if data.get("state") not in STATES:
            raise ValueError(f"unknown state {str(data.get('state'))[:40]!r}")
        for name in _TEXT_FIELDS:
            if data.get(name) is not None and not isinstance(data[name], str):
                raise ValueError(f"{name} is a {type(data[name]).__name__}, not text")
        if data["state"] in ATTACHABLE_STATES and not data.get("request_id"):
            raise ValueError(f"state {data['state']!r} without a request id")
        for name in _NUMBER_FIELDS:
            value = data.get(name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                      or not math.isfinite(value) or abs(value) > 1e12):
                raise ValueError(f"{name} is not a plausible number")
        if data.get("body") is not None and not isinstance(data["body"], dict):
            raise ValueError("body is not an object")
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def moved_to(self, state: str, **changes) -> "JournalEntry":
        return dataclasses.replace(self, state=state, updated_at=time.time(), **changes)

    def to_row(self) -> tuple:
        values = dataclasses.asdict(self)
        values["seed"] = json.dumps(self.seed)
        values["body"] = None if self.body is None else json.dumps(self.body, ensure_ascii=False)
        return tuple(values[name] for name in COLUMNS)


def entry_from_row(row: sqlite3.Row) -> JournalEntry:
    """The entry of a row; ``ValueError`` when a field has a type no version of the pack writes."""
    data = {name: row[name] for name in COLUMNS}
    for name in ("seed", "body"):
        if data[name] is not None:
            if not isinstance(data[name], str):
                raise ValueError(f"{name} is not JSON text")
            data[name] = json.loads(data[name])
    return JournalEntry.from_json(data, row["fingerprint"])


class Journal:
    def __init__(self, database: Database, locks: Path):
        self.database = database
        self.locks = Path(locks)

    def __repr__(self) -> str:
        return f"Journal({str(self.database.path)!r})"

    def where(self, key: str) -> str:
        """Where a person finds the record of ``key``."""
        return f"{self.database.path} (record {key[:16]})"

    # --- reading --------------------------------------------------------------------------------
    def read(self, key: str) -> JournalEntry | None:
        """The current entry for ``key``, None when there is none; ``StateFileError`` when there
        is one that cannot be used (it may stand for a paid job, so it never counts as none)."""
        with self.database.read() as db:
            row = db.execute("SELECT * FROM jobs WHERE fingerprint = ? AND current = 1", (key,)).fetchone()
        if row is None:
            return None
        try:
            entry = entry_from_row(row)
        except (ValueError, TypeError, RecursionError) as exc:
            reason = "it is nested too deeply" if isinstance(exc, RecursionError) else str(exc)[:120]
            raise self.damaged(self.where(key), f"it is damaged ({reason})") from None
        if entry.state == DAMAGED:
            raise self.damaged(entry.error or self.where(key), "it could not be read when it was carried over")
        return entry

    def entries(self) -> Iterator[JournalEntry]:
        """Every readable current entry (for tools and tests; damaged ones are logged and skipped)."""
        with self.database.read() as db:
            rows = db.execute("SELECT * FROM jobs WHERE current = 1 ORDER BY id").fetchall()
        for row in rows:
            try:
                yield entry_from_row(row)
            except (ValueError, TypeError, RecursionError) as exc:
                log.warning("RunComfy journal: skipping a damaged record of %s (%s)", self.database.path, exc)

    def body_of(self, request_id: str) -> dict | None:
        """The body sent for ``request_id`` when this folder submitted it (None when unknown or
        unreadable: only a convenience, e.g. the shots of a fetched video)."""
        with self.database.read() as db:
            row = db.execute("SELECT body FROM jobs WHERE request_id = ? ORDER BY id DESC LIMIT 1",
                             (request_id,)).fetchone()
        try:
            body = json.loads(row[0]) if row is not None and row[0] else None
        except (ValueError, TypeError, RecursionError):
            return None
        return body if isinstance(body, dict) else None

    @staticmethod
    def damaged(where: str, why: str) -> StateFileError:
        return StateFileError(
            f"The journal record {where} of an earlier run with exactly these inputs cannot be used: "
            f"{why}. It may stand for a job that was submitted and charged, so nothing was submitted",
            hint=(f"Look for that job in your RunComfy request history: if it is there, give its request "
                  f"id to the '{RECOVERY_NODE}' node; either way, change the seed to generate anew, or "
                  f"mark the record resolved in the RunComfy history panel once you have checked"))

    # --- the submit's steps ---------------------------------------------------------------------
    def begin(self, entry: JournalEntry, check: Callable[[sqlite3.Connection], None] | None = None) -> None:
        """Make ``entry`` (state ``submitting``) the current record of its fingerprint, durably,
        after ``check(connection)`` (the spend guard) passed inside the same transaction."""
        with self.database.write() as db:
            if check is not None:
                check(db)
            db.execute("UPDATE jobs SET current = 0 WHERE fingerprint = ? AND current = 1", (entry.fingerprint,))
            db.execute(f"INSERT INTO jobs ({', '.join(COLUMNS)}, current) VALUES "
                       f"({', '.join('?' * len(COLUMNS))}, 1)", entry.to_row())

    def abandon(self, key: str) -> None:
        """The submit provably created no job: forget its ``submitting`` record and make the
        previous record of the fingerprint current again."""
        with self.database.write() as db:
            db.execute("DELETE FROM jobs WHERE fingerprint = ? AND current = 1 AND state = ?", (key, SUBMITTING))
            previous = db.execute("SELECT id FROM jobs WHERE fingerprint = ? ORDER BY id DESC LIMIT 1",
                                  (key,)).fetchone()
            if previous is not None:
                db.execute("UPDATE jobs SET current = 1 WHERE id = ?", (previous["id"],))

    def settle(self, key: str, request_id: str | None, state: str, **changes) -> JournalEntry | None:
        """Move the current record of ``key`` to ``state``, unless it has since moved on to another
        request (a slow waiter must not overwrite a newer submission's record)."""
        with self.database.write() as db:
            row = db.execute("SELECT * FROM jobs WHERE fingerprint = ? AND current = 1", (key,)).fetchone()
            if row is None:
                return None
            if request_id is not None and row["state"] != SUBMITTING and row["request_id"] != request_id:
                log.info("RunComfy journal: %s now belongs to request %s; not recording %s for %s",
                         key[:12], row["request_id"], state, request_id)
                return None
            entry = entry_from_row(row).moved_to(state, **({"request_id": request_id} if request_id else {}),
                                                **changes)
            assignments = ", ".join(f"{name} = ?" for name in COLUMNS)
            db.execute(f"UPDATE jobs SET {assignments} WHERE id = ?", (*entry.to_row(), row["id"]))
            return entry

    # --- locking --------------------------------------------------------------------------------
    @contextlib.contextmanager
    def lock(self, key: str) -> Iterator[None]:
        """Hold the cross-process lock of ``key``; ``StoppedError`` on a stop request while waiting."""
        self.locks.mkdir(parents=True, exist_ok=True)
        with FileLock(self.locks / f"{key}.lock").held():
            yield
