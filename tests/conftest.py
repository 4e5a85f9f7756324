"""Shared fixtures, and the CI rule: under CI=true no test may skip.

On a user's machine a test whose prerequisite is missing (ComfyUI, a browser, ...) skips and says
why. Under CI=true the same skip is reported as a failure, so a broken CI set-up can never pass
by skipping; only skips bound to the platform (comfyui_harness.platform_skipif, e.g. POSIX file
modes on Windows) stand.
"""
from __future__ import annotations

import pytest

from comfyui_harness import PLATFORM_SKIP, in_ci
from pack_loader import load_pack, pack_module


def _skip_reason(report) -> str:
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
    return reason.removeprefix("Skipped: ")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.skipped and in_ci() and not hasattr(report, "wasxfail"):
        reason = _skip_reason(report)
        if not reason.startswith(PLATFORM_SKIP):
            report.outcome = "failed"
            report.longrepr = f"CI=true, so this skip is a failure: {reason}"


def pytest_collectreport(report):
    if report.skipped and in_ci() and not _skip_reason(report).startswith(PLATFORM_SKIP):
        report.outcome = "failed"
        report.longrepr = f"CI=true, so this skip is a failure: {_skip_reason(report)}"


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
    # a 429 of the last test holds every API request of this process (core/api/rate_gate.py)
    pack_module("core.api.rate_gate").SHARED.reset()
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


@pytest.fixture(scope="session")
def comfyui(tmp_path_factory):
    """A real ComfyUI server with the pack installed, pointed at its own sandbox, shared by the
    whole session (starting ComfyUI takes seconds). ``comfyui.base_url`` is its address,
    ``comfyui.sandbox`` the sandbox, ``comfyui.base_dir`` its scratch base directory (see
    comfyui_harness.py). Skips with the reason when ComfyUI is not available; fails under CI=true.
    Tests sharing it should leave the sandbox's settings as they found them."""
    from comfyui_harness import comfyui_with_sandbox, require_comfyui

    require_comfyui()
    with comfyui_with_sandbox(tmp_path_factory.mktemp("comfyui")) as (server, _api):
        yield server
