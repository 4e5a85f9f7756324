"""The ledger: every paid job of the journal as the user's view of their money.

Reads the ``jobs`` table of the state database: history lines newest first, spend per day and
month (actual cost where the API gave one, else the estimate at submit; failed and cancelled jobs
cost nothing), the resolution of a job whose submit had an unknown outcome, and pruning that
always keeps the cost lines of the current and the previous month.
"""
from __future__ import annotations

import datetime as dt
import json
import sqlite3
import time
from dataclasses import dataclass

from .database import Database
from .journal import BILLABLE_STATES, CANCELLED, COMPLETED, DAMAGED, SUBMITTED, SUBMITTING

EXCERPT_CHARS = 120
#: what the history panel calls each state
SHOWN_STATES = {SUBMITTING: "unknown outcome", DAMAGED: "unknown outcome", SUBMITTED: "generating",
                COMPLETED: "done", "failed": "failed", CANCELLED: "cancelled", "not_created": "never created"}
IN_FLIGHT_STATES = (SUBMITTING, SUBMITTED, DAMAGED)


@dataclass(frozen=True)
class Spend:
    """USD committed in a period: ``spent`` (finished jobs) plus ``in_flight`` (estimates of jobs
    still running or of unknown outcome)."""

    spent: float
    in_flight: float

    @property
    def committed(self) -> float:
        return round(self.spent + self.in_flight, 6)


def day_start(now: float | None = None) -> float:
    today = dt.datetime.fromtimestamp(time.time() if now is None else now).date()
    return dt.datetime.combine(today, dt.time()).timestamp()


def month_start(now: float | None = None, months_back: int = 0) -> float:
    today = dt.datetime.fromtimestamp(time.time() if now is None else now).date()
    year, month = today.year, today.month - months_back
    while month < 1:
        year, month = year - 1, month + 12
    return dt.datetime(year, month, 1).timestamp()


def spend_since(db: sqlite3.Connection, since: float) -> Spend:
    marks = ", ".join("?" * len(BILLABLE_STATES))
    in_flight = ", ".join("?" * len(IN_FLIGHT_STATES))
    row = db.execute(
        f"SELECT COALESCE(SUM(CASE WHEN state IN ({in_flight}) THEN 0 ELSE COALESCE(cost_usd, estimate_usd, 0) END), 0),"
        f" COALESCE(SUM(CASE WHEN state IN ({in_flight}) THEN COALESCE(estimate_usd, 0) ELSE 0 END), 0)"
        f" FROM jobs WHERE created_at >= ? AND state IN ({marks})",
        (*IN_FLIGHT_STATES, *IN_FLIGHT_STATES, since, *BILLABLE_STATES)).fetchone()
    return Spend(round(float(row[0]), 6), round(float(row[1]), 6))


class Ledger:
    def __init__(self, database: Database):
        self.database = database

    def lines(self, limit: int = 50, before_id: int | None = None) -> list[dict]:
        """History lines, newest first (what the panel lists)."""
        with self.database.read() as db:
            rows = db.execute("SELECT * FROM jobs WHERE id < ? ORDER BY id DESC LIMIT ?",
                              (before_id if before_id is not None else 2 ** 62, max(1, min(500, limit)))).fetchall()
        return [line(row) for row in rows]

    def totals(self, now: float | None = None) -> dict:
        with self.database.read() as db:
            today, month = spend_since(db, day_start(now)), spend_since(db, month_start(now))
        return {"today": _spend_json(today), "month": _spend_json(month)}

    def resolve(self, line_id: int, request_id: str | None) -> dict | None:
        """An unknown outcome, settled by the user: the job found in the RunComfy history (its
        request id: the next run re-attaches to it), or never created (``request_id`` None)."""
        state = SUBMITTED if request_id else "not_created"
        with self.database.write() as db:
            done = db.execute(f"UPDATE jobs SET state = ?, request_id = COALESCE(?, request_id), updated_at = ? "
                              f"WHERE id = ? AND state IN (?, ?)",
                              (state, request_id, time.time(), line_id, SUBMITTING, DAMAGED)).rowcount
            row = db.execute("SELECT * FROM jobs WHERE id = ?", (line_id,)).fetchone() if done else None
        return None if row is None else line(row)

    def prune(self, keep_days: float, now: float | None = None) -> int:
        """Remove finished records older than ``keep_days``; returns how many went. Kept always:
        the current and previous month's cost lines, jobs in flight or of unknown outcome, and
        the current record of each fingerprint whose job completed (it is what makes a re-run
        reuse the paid video instead of paying again)."""
        now = time.time() if now is None else now
        cutoff = min(now - keep_days * 86400.0, month_start(now, months_back=1))
        flight = ", ".join("?" * len(IN_FLIGHT_STATES))
        with self.database.write() as db:
            return db.execute(f"DELETE FROM jobs WHERE created_at < ? AND state NOT IN ({flight}) "
                              f"AND (current = 0 OR state != ?)",
                              (cutoff, *IN_FLIGHT_STATES, COMPLETED)).rowcount


    def prune_if_due(self, keep_days: float, every_s: float = 86400.0, now: float | None = None) -> int | None:
        """``prune`` at most once per ``every_s`` across processes; None when not due."""
        now = time.time() if now is None else now
        with self.database.write() as db:
            row = db.execute("SELECT value FROM settings WHERE name = 'last_pruned_at'").fetchone()
            try:
                due = row is None or now - float(row[0]) >= every_s
            except (TypeError, ValueError):
                due = True
            if not due:
                return None
            db.execute("INSERT INTO settings (name, value) VALUES ('last_pruned_at', ?) ON CONFLICT(name) "
                       "DO UPDATE SET value = excluded.value", (str(now),))
        return self.prune(keep_days, now)


def line(row: sqlite3.Row) -> dict:
    body = _body(row["body"])
    shots = body.get("multi_prompt") if isinstance(body.get("multi_prompt"), list) else []
    prompt = str(body.get("prompt") or (shots[0].get("prompt") if shots and isinstance(shots[0], dict) else "") or "")
    return {"id": row["id"], "request_id": row["request_id"], "state": SHOWN_STATES.get(row["state"], row["state"]),
            "created_at": row["created_at"], "updated_at": row["updated_at"],
            "prompt": prompt[:EXCERPT_CHARS] + ("\u2026" if len(prompt) > EXCERPT_CHARS else ""),
            "duration": body.get("duration"), "aspect_ratio": body.get("aspect_ratio"), "sound": body.get("sound"),
            "shots": len(shots) or 1, "estimate_usd": row["estimate_usd"], "cost_usd": row["cost_usd"],
            "video_path": row["video_path"], "error": row["error"]}


def _body(text: object) -> dict:
    try:
        body = json.loads(text) if isinstance(text, str) else None
    except (ValueError, RecursionError):
        return {}
    return body if isinstance(body, dict) else {}


def _spend_json(spend: Spend) -> dict:
    return {"spent_usd": spend.spent, "in_flight_usd": spend.in_flight, "committed_usd": spend.committed}
