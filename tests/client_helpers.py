"""What the client tests share: the model, a request body, and a client pointed at the sandbox
(test_client.py, test_client_waiting.py)."""
from __future__ import annotations

from pack_loader import pack_module

client_mod = pack_module("core.api.client")
config = pack_module("core.api.settings")

MODEL = "kling/kling-3.0/pro/text-to-video"
BODY = {"prompt": "a red fox runs through snow", "duration": 3, "aspect_ratio": "16:9",
        "cfg_scale": 0.5, "sound": False}
TOKEN = "sandbox-token"


def make_client(sandbox, token=TOKEN, attempts=3):
    settings = config.ApiSettings(base_url=sandbox.api_base, token=token)
    return client_mod.RunComfyClient(settings, attempts=attempts)


def api_requests(sandbox, path_part):
    return [r for r in sandbox.requests if r.origin == "api" and path_part in r.path]


def submits(sandbox):
    return [r for r in sandbox.requests if r.origin == "api" and r.method == "POST" and r.path.startswith("/v1/models/")]
