"""Fixtures for the browser tests: Debian's Chromium driven by Playwright against the real
ComfyUI frontend, with the pack installed and pointed at the sandbox.

Prerequisites: Playwright for Python (the package only: the browser is the system's Chromium,
``CHROMIUM_PATH`` or ``chromium`` on PATH, never one Playwright downloads) and a real ComfyUI
(see comfyui_harness.py). Without one the tests skip and say why; under CI=true they fail.

Each test leaves numbered screenshots in one folder per run, ``test-artifacts/browser/<UTC time>/``
in the pack (``KLING3_BROWSER_ARTIFACTS`` chooses another); the folder is printed at the end.
"""
from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest

from comfyui_harness import INSTALL_NAME, comfyui_with_sandbox, require_comfyui, skip_or_fail
from pack_loader import PACK_DIR

from browser.comfy_page import ComfyPage, only_local

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
                 "--autoplay-policy=no-user-gesture-required"]
VIEWPORT = {"width": 1600, "height": 1000}
# Set before the first page opens: no first-run template browser, exports without a file-name
# prompt, no minimap over the canvas and no text-less low-detail nodes when zoomed out in the
# screenshots.
FRONTEND_SETTINGS = {"Comfy.TutorialCompleted": True, "Comfy.PromptFilename": False,
                     "Comfy.Minimap.Visible": False, "LiteGraph.Canvas.MinFontSizeForLOD": 0}

_artifacts: dict[str, Path] = {}


def chromium_path() -> str | None:
    configured = os.environ.get("CHROMIUM_PATH")
    if configured:
        return configured if Path(configured).is_file() else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    if "dir" not in _artifacts:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        default = PACK_DIR / "test-artifacts" / "browser" / stamp
        folder = Path(os.environ.get("KLING3_BROWSER_ARTIFACTS") or default)
        folder.mkdir(parents=True, exist_ok=True)
        _artifacts["dir"] = folder
    return _artifacts["dir"]


def pytest_terminal_summary(terminalreporter):
    if "dir" in _artifacts:
        terminalreporter.write_line(f"browser test screenshots: {_artifacts['dir']}")


@pytest.fixture(scope="session")
def playwright_browser():
    """Debian's Chromium under Playwright (no downloaded browser)."""
    if importlib.util.find_spec("playwright") is None:
        skip_or_fail("browser tests need Playwright for Python (pip install playwright; no `playwright install`)")
    executable = chromium_path()
    if executable is None:
        skip_or_fail("browser tests need Chromium: apt-get install chromium (or set CHROMIUM_PATH)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def browser_comfy(playwright_browser, tmp_path_factory):
    """One ComfyUI (with the pack) and its sandbox for all browser tests. ``.sandbox`` is the
    sandbox, ``.pack_folder`` the pack's folder name in custom_nodes."""
    require_comfyui()
    base = tmp_path_factory.mktemp("browser-comfyui")
    with comfyui_with_sandbox(base) as (server, sandbox):
        settings = server.base_dir / "user" / "default" / "comfy.settings.json"
        settings.parent.mkdir(parents=True, exist_ok=True)
        current = json.loads(settings.read_text()) if settings.is_file() else {}
        settings.write_text(json.dumps({**current, **FRONTEND_SETTINGS}, indent=2))
        server.pack_folder = INSTALL_NAME
        server.examples_dir = PACK_DIR / "example_workflows"
        yield server


@pytest.fixture
def shots(request, artifacts_dir):
    """``shots("step")`` saves a screenshot of the page as NN-<test>-<step>.png."""
    callspec = getattr(request.node, "callspec", None)
    label = callspec.id if callspec else request.node.name.removeprefix("test_")
    test = re.sub(r"[^A-Za-z0-9_.-]+", "-", label).strip("-")[:48]
    holder = {}

    def take(step: str) -> Path:
        _artifacts["count"] = _artifacts.get("count", 0) + 1
        path = artifacts_dir / f"{_artifacts['count']:02d}-{test}-{step}.png"
        holder["page"].screenshot(path=path)
        return path

    take.holder = holder
    return take


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    if call.when == "call":
        item.browser_call_failed = outcome.get_result().failed


@pytest.fixture
def comfy_page(request, playwright_browser, browser_comfy, shots):
    """A fresh browser context (empty storage) on ComfyUI; only 127.0.0.1 answers. A failing
    test leaves a last screenshot of the page as it was."""
    context = playwright_browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    context.route("**/*", only_local)
    context.set_default_timeout(30_000)
    page = context.new_page()
    shots.holder["page"] = page
    try:
        yield ComfyPage(page, browser_comfy, shots, FRONTEND_SETTINGS).open()
        if getattr(request.node, "browser_call_failed", False):
            shots("failed")
    finally:
        context.close()
