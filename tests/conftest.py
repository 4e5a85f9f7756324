"""Shared fixtures."""
from __future__ import annotations

import pytest

from pack_loader import load_pack, pack_module


@pytest.fixture(scope="session")
def pack():
    return load_pack()


@pytest.fixture(scope="session")
def _sandbox_server(tmp_path_factory):
    """One local RunComfy API stand-in for the whole session (starting one per test is slow);
    small, fast videos and a short job timeline."""
    sandbox_module = pack_module("sandbox")
    server = sandbox_module.Sandbox(resolution_scale=0.125, queue_seconds=0.3, run_seconds=0.3,
                                    state_dir=tmp_path_factory.mktemp("sandbox"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def sandbox(_sandbox_server):
    """The session's sandbox, reset (no jobs, faults or logged requests; default settings)."""
    _sandbox_server.reset()
    yield _sandbox_server
    _sandbox_server.reset()


@pytest.fixture
def sandbox_factory():
    """Make extra sandboxes (not started) with the test defaults, e.g. on a chosen port;
    every one made is stopped after the test."""
    sandbox_module = pack_module("sandbox")
    made = []

    def make(**kwargs):
        options = {"resolution_scale": 0.125, "queue_seconds": 0.3, "run_seconds": 0.3, **kwargs}
        made.append(sandbox_module.Sandbox(**options))
        return made[-1]

    yield make
    for server in made:
        server.stop()


@pytest.fixture
def api_env(monkeypatch, sandbox):
    """The nodes pointed at the sandbox (also inherited by child processes), polling quickly."""
    monkeypatch.setenv("RUNCOMFY_API_BASE", sandbox.api_base)
    monkeypatch.setenv("RUNCOMFY_API_TOKEN", "sandbox-token")
    monkeypatch.delenv("RUNCOMFY_TOKEN", raising=False)
    monkeypatch.delenv("RUNCOMFY_KLING3_CACHE_MAX_GB", raising=False)
    for module in ("nodes.text_to_video_node", "nodes.fetch_result_node"):
        monkeypatch.setattr(pack_module(module), "POLL_INTERVAL_S", 0.05)


@pytest.fixture
def comfy(tmp_path, monkeypatch, api_env):
    """Stand-ins for the ComfyUI modules the nodes call (see comfy_stubs.py)."""
    from comfy_stubs import FakeComfy

    return FakeComfy(tmp_path).install(monkeypatch)
