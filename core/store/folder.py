"""The pack's data folder and what lives in it: one place that knows the layout.

    <folder>/api_token               the token pasted in ComfyUI's settings (owner-only)
    <folder>/journal/                what happened to every paid request
    <folder>/results/                downloaded videos (the result cache)
    <folder>/generation_times.json   how long past generations took

Inside ComfyUI the folder is ``user/__runcomfy`` (see ``nodes/comfy_bridge.data_dir``); outside it
``default_data_dir()``.
"""
from __future__ import annotations

import os
from pathlib import Path

from .journal import Journal
from .result_cache import ResultCache
from .timings import GenerationTimes
from .token_file import TokenStore

DATA_DIR_ENV = "RUNCOMFY_KLING3_HOME"
TOKEN_FILE = "api_token"
TIMES_FILE = "generation_times.json"
RESULTS_FOLDER = "results"
JOURNAL_FOLDER = "journal"


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

    def journal(self) -> Journal:
        return Journal(self.root / JOURNAL_FOLDER)

    def results(self) -> ResultCache:
        return ResultCache(self.root / RESULTS_FOLDER)

    def timings(self) -> GenerationTimes:
        return GenerationTimes(self.root / TIMES_FILE)
