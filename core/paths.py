"""Default places on disk for the pack's state when it runs outside ComfyUI."""
from __future__ import annotations

import os
from pathlib import Path

DATA_DIR_ENV = "RUNCOMFY_KLING3_HOME"


def default_data_dir() -> Path:
    """``$RUNCOMFY_KLING3_HOME``, else ``$XDG_CACHE_HOME/runcomfy-kling3``, else ``~/.cache/...``."""
    if os.environ.get(DATA_DIR_ENV):
        return Path(os.environ[DATA_DIR_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "runcomfy-kling3"
