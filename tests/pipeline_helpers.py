"""What the torch-free pipeline tests share: a small request, a pipeline on a temporary data
folder, and readers of what reached the sandbox."""
from __future__ import annotations

from pathlib import Path

from pack_loader import pack_module

settings_module = pack_module("core.api.settings")
request_module = pack_module("core.kling.request")
pipeline_module = pack_module("core.pipeline")
selection_module = pack_module("core.media.selection")
status_module = pack_module("core.status")
folder_module = pack_module("core.store.folder")

TOKEN = "sandbox-token"
FRAMES_OF_3S = 72


def small_request(prompt: str = "a red fox in snow", duration: int = 3, **changes):
    return request_module.TextToVideoRequest(prompt=prompt, duration=duration, **changes).validate()


def make_pipeline(root: Path, sandbox=None):
    environ = {} if sandbox is None else {"RUNCOMFY_API_BASE": sandbox.api_base, "RUNCOMFY_API_TOKEN": TOKEN}
    return pipeline_module.Pipeline(folder_module.StateFolder(root), environ=environ, poll_interval=0.05)


def settings_for(sandbox, token=TOKEN):
    return settings_module.ApiSettings(base_url=sandbox.api_base, token=token)


def generate(pipeline, sandbox, *, request=None, seed=1, selection=None, progress=None, should_stop=None,
             token=TOKEN):
    return pipeline.generate(request or small_request(), selection or selection_module.FrameSelection(),
                             settings_for(sandbox, token), seed=seed, progress=progress or status_module.Progress(),
                             should_stop=should_stop)


def api_calls(sandbox) -> list:
    return [r for r in sandbox.requests if r.origin == "api"]


def file_calls(sandbox) -> list:
    return [r for r in sandbox.requests if r.origin == "files"]
