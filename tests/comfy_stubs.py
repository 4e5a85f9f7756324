"""Small stand-ins for the ComfyUI modules the nodes call, recording what the nodes do."""
from __future__ import annotations

import sys
import threading
import types
from pathlib import Path


class InterruptProcessingException(BaseException):  # as in ComfyUI: not an Exception
    pass


class FakeComfy:
    """Installs ``comfy.model_management``, ``comfy.utils``, ``server`` and ``folder_paths``."""

    def __init__(self, root: Path):
        self.root = root
        self.interrupted = False
        self.progress_texts: list[tuple[str, str]] = []
        self.events: list[tuple[str, dict]] = []
        self.bar_values: list[tuple[str | None, int, int]] = []
        self.lock = threading.Lock()
        for sub in ("user", "temp", "output", "input"):
            (root / sub).mkdir(parents=True, exist_ok=True)

    def modules(self) -> dict:
        fake = self
        mm = types.ModuleType("comfy.model_management")
        mm.InterruptProcessingException = InterruptProcessingException
        mm.processing_interrupted = lambda: fake.interrupted

        def throw_exception_if_processing_interrupted():
            if fake.interrupted:
                fake.interrupted = False
                raise InterruptProcessingException()
        mm.throw_exception_if_processing_interrupted = throw_exception_if_processing_interrupted

        utils = types.ModuleType("comfy.utils")

        class ProgressBar:
            def __init__(self, total, node_id=None):
                self.total, self.node_id = total, node_id

            def update_absolute(self, value, total=None, preview=None):
                with fake.lock:
                    fake.bar_values.append((self.node_id, value, total or self.total))
                # as ComfyUI's progress hook does (server.py): after Cancel it raises its
                # interrupt and clears the flag that processing_interrupted() reads
                throw_exception_if_processing_interrupted()
        utils.ProgressBar = ProgressBar

        comfy = types.ModuleType("comfy")
        comfy.model_management, comfy.utils = mm, utils

        server = types.ModuleType("server")

        class PromptServer:
            instance = None

            def send_progress_text(self, text, node_id, sid=None):
                with fake.lock:
                    fake.progress_texts.append((node_id, text))

            def send_sync(self, event, data, sid=None):
                with fake.lock:
                    fake.events.append((event, data))
        PromptServer.instance = PromptServer()
        server.PromptServer = PromptServer

        folder_paths = types.ModuleType("folder_paths")
        folder_paths.get_user_directory = lambda: str(fake.root / "user")
        folder_paths.get_system_user_directory = lambda name="system": str(fake.root / "user" / f"__{name}")
        folder_paths.get_temp_directory = lambda: str(fake.root / "temp")
        folder_paths.get_output_directory = lambda: str(fake.root / "output")
        folder_paths.get_input_directory = lambda: str(fake.root / "input")
        return {"comfy": comfy, "comfy.model_management": mm, "comfy.utils": utils,
                "server": server, "folder_paths": folder_paths}

    def install(self, monkeypatch) -> "FakeComfy":
        for name, module in self.modules().items():
            monkeypatch.setitem(sys.modules, name, module)
        return self
