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
    for name in ("comfy_api.latest", "comfy_api.input_impl"):
        module = _module(name)
        cls = getattr(module, "VideoFromFile", None) if module else None
        if cls is None and module is not None and hasattr(module, "InputImpl"):
            cls = getattr(module.InputImpl, "VideoFromFile", None)
        if cls is not None:
            return cls(str(path))
    return str(path)


def user_directory() -> Path | None:
    folder_paths = _module("folder_paths")
    return Path(folder_paths.get_user_directory()) if folder_paths else None


def data_dir() -> Path:
    """Where the pack keeps its state (saved token, journal, result cache, timings).

    Inside ComfyUI: ``<user directory>/runcomfy`` (outside ``user/default``, which ComfyUI serves
    to the browser, and outside the pack folder, which hosted machines copy into shared images).
    Elsewhere: the per-user cache directory.
    """
    from ..core.paths import default_data_dir

    user = user_directory()
    return user / "runcomfy" if user is not None else default_data_dir()
