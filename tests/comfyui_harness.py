"""A real ComfyUI server with the pack installed, for tests that drive it over HTTP.

Where ComfyUI is found: ``COMFYUI_DIR`` if set, otherwise ``../shared/comfyui`` beside the pack.
The interpreter that runs it: ``COMFYUI_PYTHON`` if set, otherwise the pack's ``.venv-comfyui``
(ComfyUI's requirements plus the pack's, made by ``scripts/setup.sh``) when it exists, otherwise
the one running the tests.

Every server gets a scratch base directory (``--base-directory``: ComfyUI takes ``custom_nodes/``,
``user/``, ``input/``, ``output/`` and ``temp/`` from there, so the ComfyUI folder itself is only
read) with the pack symlinked as ``custom_nodes/ComfyUI-RunComfy-Kling3``, and an environment that
points the pack at a sandbox (the local RunComfy API stand-in).

On a user's machine without ComfyUI the tests that need it skip and say why; under ``CI=true`` a
missing prerequisite fails them instead (see :func:`require_comfyui`).

Typical use::

    from comfyui_harness import comfyui_server, require_comfyui

    @pytest.fixture(scope="module")
    def comfy(tmp_path_factory):
        require_comfyui()
        with sandbox_module.Sandbox(...) as api, \\
                comfyui_server(api, tmp_path_factory.mktemp("comfy-base")) as server:
            yield server

``tests/conftest.py`` also offers a session-scoped ``comfyui`` fixture (a running ComfyUI plus its
sandbox) built on this module.
"""
from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from pack_loader import PACK_DIR, PACK_NAME

TOKEN = "sandbox-token"
# The pack's name in custom_nodes: hyphenated, as a git clone of the repository would be.
INSTALL_NAME = PACK_NAME
DEFAULT_COMFYUI_DIR = PACK_DIR.parent / "shared" / "comfyui"
START_TIMEOUT_S = float(os.environ.get("COMFYUI_START_TIMEOUT", "240"))


def in_ci() -> bool:
    """True when running under CI (``CI=true``, as GitHub Actions and most CI services set it)."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def comfyui_dir() -> Path:
    """Where ComfyUI's source is expected: ``COMFYUI_DIR``, or ``../shared/comfyui`` beside the pack."""
    configured = os.environ.get("COMFYUI_DIR")
    return Path(configured).expanduser().resolve() if configured else DEFAULT_COMFYUI_DIR.resolve()


def comfyui_python() -> str:
    """The interpreter that runs ComfyUI: ``COMFYUI_PYTHON``, or ``.venv-comfyui``'s, or this one."""
    if os.environ.get("COMFYUI_PYTHON"):
        return os.environ["COMFYUI_PYTHON"]
    for candidate in (PACK_DIR / ".venv-comfyui" / "bin" / "python",
                      PACK_DIR / ".venv-comfyui" / "Scripts" / "python.exe"):
        if candidate.is_file():
            return str(candidate)
    return sys.executable


_availability: tuple[bool, str] | None = None


def comfyui_unavailable_reason() -> str | None:
    """None when a real ComfyUI can be started here, otherwise why not (checked once a session)."""
    global _availability
    if _availability is None:
        _availability = _check_availability()
    ok, reason = _availability
    return None if ok else reason


def comfyui_available() -> bool:
    """Whether a real ComfyUI can be started here (its source found, its requirements importable)."""
    return comfyui_unavailable_reason() is None


def _check_availability() -> tuple[bool, str]:
    directory = comfyui_dir()
    hint = "set COMFYUI_DIR to a ComfyUI checkout, or place one at ../shared/comfyui beside the pack"
    if not (directory / "main.py").is_file():
        return False, f"ComfyUI not found at {directory} ({hint})"
    python = comfyui_python()
    # What ComfyUI's server needs before it loads any node, and what the pack itself imports.
    probe = ("import torch, torchvision, torchaudio, aiohttp, av, yaml, safetensors, einops, alembic, "
             "sqlalchemy, requests, numpy, PIL, cv2")
    try:
        result = subprocess.run([python, "-c", probe], capture_output=True, text=True, timeout=300,
                                cwd=directory)
    except (OSError, subprocess.TimeoutExpired) as error:
        return False, f"cannot run ComfyUI's interpreter {python}: {error}"
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["?"])[-1]
        return False, (f"ComfyUI's requirements are not installed for {python} ({last}); run "
                       f"scripts/setup.sh (it makes .venv-comfyui) or set COMFYUI_PYTHON")
    return True, ""


def require_comfyui() -> None:
    """Skip the calling test (or fixture) when no real ComfyUI is available, with the reason;
    under ``CI=true`` fail instead: there a missing prerequisite is a broken set-up, not a skip."""
    reason = comfyui_unavailable_reason()
    if reason is None:
        return
    if in_ci():
        pytest.fail(f"CI=true and the real-ComfyUI tests cannot run: {reason}", pytrace=False)
    pytest.skip(f"real-ComfyUI test skipped: {reason}")


# A skip whose reason starts with this is bound to the platform (a POSIX-only check on Windows),
# not a missing prerequisite: the CI rule below lets it stand. On Linux none of them skips.
PLATFORM_SKIP = "not on this platform: "


def platform_skipif(condition: bool, why: str):
    """``pytest.mark.skipif`` for a check the platform cannot make (e.g. POSIX file modes on
    Windows); allowed under CI=true, unlike every other skip."""
    return pytest.mark.skipif(condition, reason=PLATFORM_SKIP + why)


def skip_or_fail(reason: str) -> None:
    """The CI rule for any other missing prerequisite: skip on a user's machine, fail under CI."""
    if in_ci():
        pytest.fail(f"CI=true and a prerequisite is missing: {reason}", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ComfyServer:
    """A client for one running ComfyUI: JSON over HTTP, queueing graphs, waiting for history."""

    def __init__(self, base_url: str, base_dir: Path, log_path: Path, process: subprocess.Popen | None = None):
        self.base_url, self.base_dir, self.log_path = base_url, base_dir, log_path
        self.process = process
        self.sandbox = None  # the sandbox it is pointed at, when started by comfyui_with_sandbox

    @property
    def port(self) -> int:
        return int(self.base_url.rsplit(":", 1)[1])

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def get(self, path: str):
        with urllib.request.urlopen(self.base_url + path, timeout=30) as answer:
            return json.loads(answer.read())

    def post(self, path: str, body: dict):
        request = urllib.request.Request(self.base_url + path, data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                raw = answer.read()
                return json.loads(raw) if raw else {}
        except urllib.error.HTTPError as error:
            return {"http_status": error.code, **json.loads(error.read() or b"{}")}

    def queue(self, graph: dict) -> str:
        answer = self.post("/prompt", {"prompt": graph, "client_id": uuid.uuid4().hex})
        assert "prompt_id" in answer, answer
        return answer["prompt_id"]

    def wait(self, prompt_id: str, timeout: float = 180) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            history = self.get(f"/history/{prompt_id}")
            if prompt_id in history and history[prompt_id].get("status", {}).get("completed") is not None \
                    and (history[prompt_id]["status"].get("status_str") in ("success", "error")):
                return history[prompt_id]
            time.sleep(0.3)
        raise AssertionError(f"prompt {prompt_id} did not finish; log: {self.log_tail()}")


def install_pack(base: Path) -> Path:
    """``base/custom_nodes/ComfyUI-RunComfy-Kling3`` as a symlink to this pack."""
    (base / "custom_nodes").mkdir(parents=True, exist_ok=True)
    link = base / "custom_nodes" / INSTALL_NAME
    if not link.exists():
        link.symlink_to(PACK_DIR, target_is_directory=True)
    return link


def pack_environment(api_base: str, token: str = TOKEN) -> dict[str, str]:
    """This process's environment with no RUNCOMFY_* settings but the sandbox's address and token."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNCOMFY")}
    env.update(RUNCOMFY_API_BASE=api_base, RUNCOMFY_API_TOKEN=token, PYTHONUNBUFFERED="1")
    return env


def start_comfy(api, base: Path, *, extra_args: tuple[str, ...] = (), wait_for_node: str = "RunComfyKling3TextToVideo",
                token: str = TOKEN) -> tuple[subprocess.Popen, ComfyServer]:
    """ComfyUI on a free port with ``base`` as its base directory, the pack in custom_nodes and
    pointed at ``api`` (a sandbox, or anything with ``api_base``). Returns once the pack's node is
    served; fails with the end of ComfyUI's log if it does not start or the pack did not load."""
    install_pack(base)
    port = free_port()
    log_path = base / f"comfyui-{port}.log"
    command = [comfyui_python(), "main.py", "--cpu", "--listen", "127.0.0.1", "--port", str(port),
               "--disable-api-nodes", "--base-directory", str(base), "--database-url", "sqlite:///:memory:",
               *extra_args]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=comfyui_dir(), env=pack_environment(api.api_base, token),
                                   stdout=log, stderr=subprocess.STDOUT)
    server = ComfyServer(f"http://127.0.0.1:{port}", base, log_path, process)
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        try:
            server.get(f"/object_info/{wait_for_node}" if wait_for_node else "/system_stats")
            break
        except (OSError, ValueError):
            if process.poll() is not None or time.monotonic() > deadline:
                stop(process)
                raise AssertionError("ComfyUI did not start: " + server.log_tail())
            time.sleep(0.5)
    log_text = log_path.read_text(errors="replace")
    assert "IMPORT FAILED" not in log_text or INSTALL_NAME not in _import_failures(log_text), server.log_tail()
    return process, server


def _import_failures(log_text: str) -> str:
    """The lines of ComfyUI's log that report a custom node folder failing to import."""
    return "\n".join(line for line in log_text.splitlines() if "IMPORT FAILED" in line)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def restart(server: ComfyServer, api, **options) -> ComfyServer:
    """Stop ``server`` and start ComfyUI again on the same base directory (``user/`` and the
    pack's state kept, as a user's restart keeps them); ``server`` then points at the new process
    (on a new port), so whoever holds it goes on working."""
    stop(server.process)
    process, fresh = start_comfy(api, server.base_dir, **options)
    server.base_url, server.log_path, server.process = fresh.base_url, fresh.log_path, process
    return server


@contextlib.contextmanager
def comfyui_server(api, base: Path, **options):
    """A running ComfyUI (see :func:`start_comfy`) for the ``with`` block, stopped afterwards."""
    process, server = start_comfy(api, base, **options)
    try:
        yield server
    finally:
        stop(server.process or process)


@contextlib.contextmanager
def comfyui_with_sandbox(base: Path, *, sandbox_options: dict | None = None, **options):
    """A fresh sandbox and a ComfyUI pointed at it; yields ``(server, sandbox)``."""
    from pack_loader import pack_module

    (base / "sandbox-state").mkdir(parents=True, exist_ok=True)
    options_ = {"queue_seconds": 0.5, "run_seconds": 1.0, "resolution_scale": 0.125,
                "state_dir": base / "sandbox-state", **(sandbox_options or {})}
    with pack_module("sandbox").Sandbox(**options_) as api, comfyui_server(api, base / "comfy", **options) as server:
        server.sandbox = api
        yield server, api
