"""The video preview on the node after a run: ComfyUI's own player, with sound and controls.

ComfyUI's ``SaveVideo`` answers ``{"images": [{filename, subfolder, type}], "animated": (True,)}``
(``comfy_api.latest.ui.PreviewVideo``); the frontend shows any such output whose file is not
``.webp``/``.png`` as a ``<video controls>`` element served by ``/view``. So the node returns the
same shape and needs no player of its own.

The mp4 is hard-linked (copied when linking is impossible) into ComfyUI's temp directory,
which ComfyUI empties at start: the preview never fills the output folder, and the pack's own
copy of the result stays where it is.
"""
from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

from .comfy_bridge import temp_dir as comfy_temp_dir

log = logging.getLogger("runcomfy_kling3")

SUBFOLDER = "runcomfy-kling3"


def preview_ui(video_path: Path, temp_dir: Path | None = None) -> dict:
    """The ``"ui"`` value that shows ``video_path`` on the node; ``{}`` when it cannot be shown.

    ``temp_dir`` defaults to ComfyUI's temp directory (outside ComfyUI there is none: ``{}``).
    """
    video_path = Path(video_path)
    if temp_dir is None:
        temp_dir = comfy_temp_dir()
        if temp_dir is None:
            return {}
    try:
        target = _place(video_path, Path(temp_dir) / SUBFOLDER)
    except OSError as exc:  # a missing preview must not fail a paid, finished generation
        log.warning("RunComfy: no preview for %s (%s)", video_path.name, exc)
        return {}
    return {"images": [{"filename": target.name, "subfolder": SUBFOLDER, "type": "temp"}],
            "animated": (True,)}


def _place(source: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    stem, suffix = source.stem, source.suffix or ".mp4"
    for attempt in range(1000):
        target = folder / (f"{stem}{suffix}" if attempt == 0 else f"{stem}_{attempt}{suffix}")
        if target.exists():
            if _same_file(source, target):
                return target  # the same result shown again (a cached re-run)
            continue
        try:
            os.link(source, target)
        except FileExistsError:
            continue
        except OSError:  # another file system, or links not allowed there
            shutil.copyfile(source, target)
        return target
    raise OSError(f"too many previews named {stem}{suffix} in {folder}")


def _same_file(a: Path, b: Path) -> bool:
    try:
        if os.path.samefile(a, b):
            return True
        return a.stat().st_size == b.stat().st_size and _read_head(a) == _read_head(b)
    except OSError:
        return False


def _read_head(path: Path, size: int = 1 << 16) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(size)
