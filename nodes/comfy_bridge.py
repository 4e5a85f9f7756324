"""The few ComfyUI hooks the nodes use, looked up when called (not at import).

Outside ComfyUI (tests, scripts) every hook degrades to a harmless no-op, so the nodes can be
exercised without a ComfyUI checkout; tests install small stand-in modules to observe them.
"""
from __future__ import annotations

import importlib
import logging
from pathlib import Path

log = logging.getLogger("runcomfy_kling3")


def _module(name: str):
    try:
        return importlib.import_module(name)
    except Exception:  # not inside ComfyUI, or ComfyUI changed: behave as outside
        return None


def interrupt_requested() -> bool:
    """True after the user pressed Cancel (does not consume the flag)."""
    mm = _module("comfy.model_management")
    return bool(mm and mm.processing_interrupted())


def interrupt_exception(message: str) -> BaseException:
    """The exception that makes ComfyUI show the run as interrupted, not failed."""
    mm = _module("comfy.model_management")
    cls = getattr(mm, "InterruptProcessingException", None) if mm else None
    if cls is None:
        return KeyboardInterrupt(message)
    return cls(message)


class ProgressBar:
    """ComfyUI's node progress bar; a no-op outside ComfyUI."""

    def __init__(self, total: int, node_id: str | None):
        utils = _module("comfy.utils")
        self._bar = None
        if utils is not None and hasattr(utils, "ProgressBar"):
            try:
                self._bar = utils.ProgressBar(total, node_id=node_id)
            except TypeError:  # older ComfyUI without node_id
                self._bar = utils.ProgressBar(total)
        self.total = total

    def update(self, value: float) -> None:
        if self._bar is not None:
            self._bar.update_absolute(int(max(0, min(self.total, value))), self.total)


def video_object(path: Path):
    """ComfyUI's VIDEO value for a file (so SaveVideo can keep it as is); the path outside ComfyUI."""
    module = _module("comfy_api.input_impl")
    cls = getattr(module, "VideoFromFile", None) if module else None
    return cls(str(path)) if cls is not None else str(path)


def data_dir() -> Path:
    """Where the pack keeps its state (saved token, journal, result cache, timings).

    Inside ComfyUI: its system-user directory ``user/__runcomfy``, which ComfyUI never serves over
    HTTP (unlike ``user/default``), and which is outside the pack folder (hosted machines copy
    that into shared images). Elsewhere: the per-user cache directory.
    """
    from ..core.paths import default_data_dir

    folder_paths = _module("folder_paths")
    if folder_paths is None:
        return default_data_dir()
    if hasattr(folder_paths, "get_system_user_directory"):
        return Path(folder_paths.get_system_user_directory("runcomfy"))
    return Path(folder_paths.get_user_directory()) / "__runcomfy"


TOKEN_FILE = "api_token"
TIMES_FILE = "generation_times.json"


def token_store():
    """The token saved from ComfyUI's settings dialog (see nodes/server_routes.py)."""
    from ..core.token_store import TokenStore

    return TokenStore(data_dir() / TOKEN_FILE)


def generation_times():
    """How long this user's past generations took, for the remaining-time estimate."""
    from ..core.generation_times import GenerationTimes

    return GenerationTimes(data_dir() / TIMES_FILE)
