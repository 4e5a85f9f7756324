"""The pack's data folder and what lives in it: one place that knows the layout.

    <folder>/api_token     the token pasted in ComfyUI's settings (owner-only)
    <folder>/state.db      the journal and ledger of paid jobs, generation times (SQLite)
    <folder>/locks/        one lock file per fingerprint, held around a submit
    <folder>/results/      downloaded videos (the result cache)

Earlier versions kept ``journal/*.json`` and ``generation_times.json``; they are carried over into
``state.db`` once (``legacy_files``).

Inside ComfyUI the folder is ``user/__runcomfy`` (see ``nodes/comfy_bridge.data_dir``); outside it
``default_data_dir()``.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path

from . import legacy_files
from .database import Database
from .journal import Journal
from .result_cache import ResultCache
from .timings import GenerationTimes
from .token_file import TokenStore

DATA_DIR_ENV = "RUNCOMFY_KLING3_HOME"
TOKEN_FILE = "api_token"
DATABASE_FILE = "state.db"
LOCKS_FOLDER = "locks"
RESULTS_FOLDER = "results"
#: files of earlier versions, carried over into the database once
LEGACY_JOURNAL_FOLDER = "journal"
LEGACY_TIMES_FILE = "generation_times.json"

#: one Database object per file, so its set-up (schema, carry-over) runs once per process
_databases: dict[str, Database] = {}
_databases_lock = threading.Lock()


def default_data_dir() -> Path:
    """``$RUNCOMFY_KLING3_HOME``, else ``$XDG_CACHE_HOME/runcomfy-kling3``, else ``~/.cache/...``."""
    if os.environ.get(DATA_DIR_ENV):
        return Path(os.environ[DATA_DIR_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "runcomfy-kling3"


class StateFolder:
    """Hands out the stores of one data folder; cheap to make, holds nothing open."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"StateFolder({str(self.root)!r})"

    def tokens(self) -> TokenStore:
        return TokenStore(self.root / TOKEN_FILE)

    def database(self) -> Database:
        path = self.root / DATABASE_FILE
        with _databases_lock:
            found = _databases.get(str(path))
            if found is None:
                found = _databases[str(path)] = Database(path, {
                    "journal-json-files": legacy_files.journal_files(self.root / LEGACY_JOURNAL_FOLDER),
                    "generation-times-json": legacy_files.timing_file(self.root / LEGACY_TIMES_FILE)})
            return found

    def journal(self) -> Journal:
        return Journal(self.database(), self.root / LOCKS_FOLDER)

    def results(self) -> ResultCache:
        return ResultCache(self.root / RESULTS_FOLDER)

    def timings(self) -> GenerationTimes:
        return GenerationTimes(self.database())
