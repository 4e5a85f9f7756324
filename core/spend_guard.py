"""The spend guard: budgets per day and per month in USD, checked before anything is sent.

A submission whose estimate would take the period's committed spend (actual costs, plus the
estimates of jobs still running or of unknown outcome) over a budget is refused with a message
naming the budget, the spend so far, what is in flight, this job's estimate and how to raise the
budget. The check runs inside the journal's write transaction that records the submission
(``Journal.begin``), so check and reservation happen under one lock across processes: parallel
nodes cannot overshoot together, and a crash leaves the reservation counted until the job's
outcome is known. Budgets come from the environment (it wins, for hosted machines) or from
ComfyUI's settings (saved in the state database); unset means no limit.
"""
from __future__ import annotations

import math
import os
import sqlite3
import time
from dataclasses import dataclass
from typing import Mapping

from .errors import BudgetExceededError, ConfigurationError
from .store.database import Database
from .store.ledger import day_start, month_start, spend_since

DAILY_ENV = "RUNCOMFY_KLING3_DAILY_BUDGET_USD"
MONTHLY_ENV = "RUNCOMFY_KLING3_MONTHLY_BUDGET_USD"
KEEP_DAYS_ENV = "RUNCOMFY_KLING3_KEEP_DAYS"
SETTING_NAMES = {"daily": "daily_budget_usd", "monthly": "monthly_budget_usd"}
ENV_NAMES = {"daily": DAILY_ENV, "monthly": MONTHLY_ENV}
#: ledger records older than this are pruned (never this and last month's cost lines)
DEFAULT_KEEP_DAYS = 90


@dataclass(frozen=True)
class Budget:
    period: str            # "daily" or "monthly"
    usd: float | None      # None: no limit
    source: str | None     # the variable's name, "settings", or None


def parse_usd(value: object, where: str) -> float | None:
    """A budget: blank means none; otherwise a finite amount >= 0."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        usd = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        usd = float("nan")
    if isinstance(value, bool) or not math.isfinite(usd) or usd < 0:
        raise ConfigurationError(f"{where}: must be an amount in USD, 0 or more, or empty for no limit "
                                 f"(got {str(value)[:40]!r})")
    return round(usd, 2)


def read_budgets(database: Database, environ: Mapping[str, str] | None = None) -> list[Budget]:
    environ = os.environ if environ is None else environ
    with database.read() as db:
        saved = dict(db.execute("SELECT name, value FROM settings").fetchall())
    budgets = []
    for period in ("daily", "monthly"):
        env = ENV_NAMES[period]
        if (environ.get(env) or "").strip():
            budgets.append(Budget(period, parse_usd(environ[env], env), env))
        else:
            value = parse_usd(saved.get(SETTING_NAMES[period]), f"the {period} budget in ComfyUI's settings")
            budgets.append(Budget(period, value, "settings" if value is not None else None))
    return budgets


def save_budget(database: Database, period: str, usd: float | None) -> None:
    with database.write() as db:
        db.execute("INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = "
                   "excluded.value", (SETTING_NAMES[period], None if usd is None else str(usd)))


class SpendGuard:
    def __init__(self, budgets: list[Budget], now: float | None = None):
        self.budgets = [b for b in budgets if b.usd is not None]
        self._now = now

    def check(self, db: sqlite3.Connection, estimate_usd: float | None, count: int = 1) -> None:
        """Raise ``BudgetExceededError`` when ``estimate_usd`` would take a period over its budget."""
        estimate = float(estimate_usd or 0.0)
        now = time.time() if self._now is None else self._now
        for budget in self.budgets:
            since = day_start(now) if budget.period == "daily" else month_start(now)
            spend = spend_since(db, since)
            if spend.committed + estimate > budget.usd + 1e-9:
                raise BudgetExceededError(budget, spend.spent, spend.in_flight, estimate, count)


def keep_days(database: Database, environ: Mapping[str, str] | None = None) -> float:
    """How long the ledger keeps finished records: the environment, else the settings, else 90."""
    environ = os.environ if environ is None else environ
    raw = (environ.get(KEEP_DAYS_ENV) or "").strip()
    if not raw:
        with database.read() as db:
            row = db.execute("SELECT value FROM settings WHERE name = 'keep_days'").fetchone()
        raw = row[0] if row is not None and row[0] else ""
    days = parse_usd(raw, KEEP_DAYS_ENV) if raw else None  # same rule: a number >= 0
    return DEFAULT_KEEP_DAYS if days is None else days


def save_keep_days(database: Database, days: float | None) -> None:
    with database.write() as db:
        db.execute("INSERT INTO settings (name, value) VALUES ('keep_days', ?) ON CONFLICT(name) DO UPDATE SET "
                   "value = excluded.value", (None if days is None else str(days),))
