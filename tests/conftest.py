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
