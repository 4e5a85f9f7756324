"""Load the pack the way ComfyUI does: by folder path, under a hyphenated module name,
so any absolute import inside the pack breaks here as it would in ComfyUI."""
from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path

PACK_DIR = Path(__file__).resolve().parents[1]
PACK_NAME = "ComfyUI-RunComfy-Kling3"


def load_pack():
    """Import the pack's ``__init__.py`` as ComfyUI's ``load_custom_node`` does."""
    if PACK_NAME in sys.modules:
        return sys.modules[PACK_NAME]
    spec = importlib.util.spec_from_file_location(
        PACK_NAME, PACK_DIR / "__init__.py", submodule_search_locations=[str(PACK_DIR)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[PACK_NAME] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[PACK_NAME]
        raise
    return module


def pack_module(dotted: str):
    """A submodule of the pack, e.g. ``pack_module("core.api.client")``."""
    load_pack()
    return importlib.import_module(f"{PACK_NAME}.{dotted}")
