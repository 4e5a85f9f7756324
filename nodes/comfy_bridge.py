"""Every ComfyUI (and torch) lookup of the pack, in one place, made when called (not at import).

Outside ComfyUI (tests, scripts) every hook degrades to a harmless no-op, so the nodes can be
exercised without a ComfyUI checkout; tests install small stand-in modules to observe them.
"""
from __future__ import annotations

import importlib
import logging
from pathlib import Path

from ..core.media.decode import DecodedClip
from ..core.store.folder import StateFolder, default_data_dir

log = logging.getLogger("runcomfy_kling3")


def _module(name: str):
    try:
        return importlib.import_module(name)
    except Exception:  # not inside ComfyUI, or ComfyUI changed: behave as outside
        return None


# --- execution: Cancel and the progress bar ----------------------------------------------------

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


def is_interrupt(exc: BaseException) -> bool:
    """True for ComfyUI's interrupt exception (raised by its progress hook after Cancel; a
    ``BaseException``, so ``except Exception`` does not catch it)."""
    mm = _module("comfy.model_management")
    cls = getattr(mm, "InterruptProcessingException", None) if mm else None
    return cls is not None and isinstance(exc, cls)


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


# --- the server: websocket messages and routes -------------------------------------------------

def prompt_server():
    """ComfyUI's ``PromptServer.instance``, or None outside ComfyUI."""
    server_module = _module("server")
    server_class = getattr(server_module, "PromptServer", None) if server_module else None
    return getattr(server_class, "instance", None)


def route_table():
    """The aiohttp route table of ComfyUI's server, or None outside ComfyUI."""
    server = prompt_server()
    return getattr(server, "routes", None) if server is not None else None


def listen_addresses() -> tuple[str, ...]:
    """The addresses ComfyUI's server listens on: its ``--listen`` (comma-separated; "0.0.0.0,::"
    when given bare), "127.0.0.1" by default and outside ComfyUI."""
    cli_args = _module("comfy.cli_args")
    listen = getattr(getattr(cli_args, "args", None), "listen", None)
    if not isinstance(listen, str):
        return ("127.0.0.1",)
    return tuple(address.strip() for address in listen.split(","))


# --- folders -----------------------------------------------------------------------------------

def data_dir() -> Path:
    """Where the pack keeps its state (saved token, journal, result cache, timings).

    Inside ComfyUI: its system-user directory ``user/__runcomfy``, which ComfyUI never serves over
    HTTP (unlike ``user/default``), and which is outside the pack folder (hosted machines copy
    that into shared images). Elsewhere: the per-user cache directory.
    """
    folder_paths = _module("folder_paths")
    if folder_paths is None:
        return default_data_dir()
    if hasattr(folder_paths, "get_system_user_directory"):
        return Path(folder_paths.get_system_user_directory("runcomfy"))
    return Path(folder_paths.get_user_directory()) / "__runcomfy"


def state_folder() -> StateFolder:
    return StateFolder(data_dir())


def temp_dir() -> Path | None:
    """ComfyUI's temp directory (emptied at its start), or None outside ComfyUI."""
    folder_paths = _module("folder_paths")
    try:
        return Path(folder_paths.get_temp_directory()) if folder_paths is not None else None
    except Exception:
        return None


# --- values ------------------------------------------------------------------------------------

def video_object(path: Path):
    """ComfyUI's VIDEO value for a file (so SaveVideo can keep it as is); the path outside ComfyUI."""
    module = _module("comfy_api.input_impl")
    cls = getattr(module, "VideoFromFile", None) if module else None
    return cls(str(path)) if cls is not None else str(path)


def comfy_values(clip: DecodedClip) -> dict:
    """IMAGE, AUDIO, fps, frame_count and VIDEO of a decoded clip, by output name.

    ``torch.from_numpy`` shares the decoder's own pre-faulted buffer: the frames are not copied.
    """
    import torch

    waveform = torch.from_numpy(clip.audio.samples).unsqueeze(0)
    return {"images": torch.from_numpy(clip.frames.frames),
            "audio": {"waveform": waveform, "sample_rate": int(clip.audio.sample_rate)},
            "fps": float(clip.frames.fps), "frame_count": int(clip.frames.frame_count),
            "video": video_object(clip.path)}
