"""The pack's queried state in one SQLite file (``state.db`` in the data folder): the journal and
ledger of paid jobs, and the generation timings.

Why SQLite: several ComfyUI processes may share the folder (hosted machines run several workers);
SQLite gives them atomic, durable transactions and a cross-process write lock (``BEGIN
IMMEDIATE``) without hand-written locks, and answers the history and totals queries directly.
WAL mode lets readers go on while one process writes; ``synchronous=FULL`` makes every commit
durable, because a record of a paid job must survive a power cut.

A connection is opened per operation (cheap, and safe across threads). Any failure of the file
itself (a folder in its place, not a database, a full disk) is ``StateFileError`` naming the file
and what to do: a journal that cannot be read never counts as "no record".
"""
from __future__ import annotations

import contextlib
import sqlite3
import time
from pathlib import Path
from typing import Callable, Iterator

from ..errors import StateFileError

SCHEMA_VERSION = 1
BUSY_TIMEOUT_S = 30.0
LOCKED_RETRY_S = 0.05
SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    fingerprint TEXT NOT NULL,
    state TEXT NOT NULL,
    model_id TEXT NOT NULL,
    request_id TEXT,
    seed TEXT,
    api_base TEXT,
    body TEXT,
    video_url TEXT,
    video_path TEXT,
    estimate_usd REAL,
    cost_usd REAL,
    error TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    current INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX IF NOT EXISTS jobs_current ON jobs(fingerprint) WHERE current = 1;
CREATE INDEX IF NOT EXISTS jobs_created ON jobs(created_at);
CREATE INDEX IF NOT EXISTS jobs_request ON jobs(request_id);
CREATE TABLE IF NOT EXISTS timings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    duration_s INTEGER NOT NULL,
    generating_s REAL NOT NULL,
    queued_s REAL NOT NULL DEFAULT 0,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS timings_duration ON timings(duration_s, id);
CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, at REAL NOT NULL);
"""

#: one-time imports of older versions' files, run once per folder (see ``Database.migrate``)
Migration = Callable[[sqlite3.Connection], None]


class Database:
    def __init__(self, path: str | Path, migrations: dict[str, Migration] | None = None):
        self.path = Path(path)
        self._migrations = migrations or {}
        self._ready = False

    def __repr__(self) -> str:
        return f"Database({str(self.path)!r})"

    @contextlib.contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        with self._connection() as connection:
            yield connection

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction, holding SQLite's lock across processes until it commits."""
        with self._connection() as connection:
            try:
                connection.execute("BEGIN IMMEDIATE")
                yield connection
                connection.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    connection.execute("ROLLBACK")
                raise

    @contextlib.contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        try:
            connection = self._open()
        except sqlite3.Error as exc:
            raise self.damaged(exc) from None
        try:
            yield connection
        except sqlite3.Error as exc:
            raise self.damaged(exc) from None
        finally:
            connection.close()

    def _open(self) -> sqlite3.Connection:
        if not self._ready:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(str(self.path), timeout=BUSY_TIMEOUT_S, isolation_level=None)
        try:
            connection.row_factory = sqlite3.Row
            connection.execute("PRAGMA synchronous=FULL")
            # set up once; again if the file was replaced or removed while the process ran
            if not self._ready or connection.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
                self._prepare_when_free(connection)
        except BaseException:
            connection.close()
            raise
        return connection

    def _prepare_when_free(self, connection: sqlite3.Connection) -> None:
        """``_prepare``, waiting out another process that holds the file (two ComfyUIs starting
        at once). Switching a file to WAL escalates a read lock to an exclusive one, and SQLite
        answers "locked" at once instead of calling its busy handler when another connection
        holds the write lock (to avoid a deadlock), so the busy timeout alone does not cover it."""
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        while True:
            try:
                return self._prepare(connection)
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() >= deadline:
                    raise
            time.sleep(LOCKED_RETRY_S)

    def _prepare(self, connection: sqlite3.Connection) -> None:
        mode = connection.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":  # some network file systems cannot: still correct, slower
            connection.execute("PRAGMA journal_mode=DELETE")
        connection.execute("BEGIN IMMEDIATE")
        try:
            version = connection.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StateFileError(
                    f"{self.path} was written by a newer version of this pack (schema {version})",
                    hint="Update the pack, or move that file aside to start a new record")
            for statement in SCHEMA.split(";"):  # one by one: executescript would commit first
                if statement.strip():
                    connection.execute(statement)
            connection.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            done = {row[0] for row in connection.execute("SELECT name FROM migrations")}
            for name, migrate in self._migrations.items():
                if name not in done:
                    migrate(connection)
                    connection.execute("INSERT INTO migrations (name, at) VALUES (?, ?)", (name, time.time()))
            connection.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                connection.execute("ROLLBACK")
            raise
        self._ready = True

    def damaged(self, exc: BaseException) -> StateFileError:
        if isinstance(exc, StateFileError):
            return exc
        reason = str(exc) or type(exc).__name__
        if "full" in reason:
            hint = "Free disk space there and run again; nothing was submitted"
        else:
            hint = ("Move that file aside (keep it: it lists paid jobs), then look for any job still "
                    "running in your RunComfy request history; nothing was submitted")
        return StateFileError(f"The pack's state file {self.path} cannot be used ({reason})", hint=hint)
