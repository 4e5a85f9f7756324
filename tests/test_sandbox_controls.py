"""Controlling the sandbox: admin routes, reset, settings, the command line."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

import pytest
import requests

from pack_loader import PACK_DIR
from sandbox_http import MODEL, TOKEN, get, submit


# --- controls ----------------------------------------------------------------------------------

def test_admin_routes_control_the_sandbox_and_are_not_logged(sandbox):
    admin = f"{sandbox.api_base}/_sandbox"
    patched = requests.post(f"{admin}/settings", json={"queue_seconds": 60}).json()
    assert patched["queue_seconds"] == 60 == sandbox.settings.queue_seconds
    assert requests.post(f"{admin}/settings", json={"queue_secs": 1}).status_code == 400
    request_id = submit(sandbox).json()["request_id"]
    requests.post(f"{admin}/faults", json={"route": "status", "kind": "http_500"})
    assert get(sandbox, request_id, "status").status_code == 500
    requests.post(f"{admin}/faults", json={"route": "status", "kind": "http_500"})
    requests.post(f"{admin}/faults", json={"clear": True})
    assert get(sandbox, request_id, "status").status_code == 200
    log = requests.get(f"{admin}/requests").json()["requests"]
    assert [r["method"] for r in log] == ["POST", "GET", "GET"]
    assert log[0]["headers"]["Authorization"] == "Bearer sandbox-token"
    assert requests.post(f"{admin}/expire/{request_id}").status_code == 200
    assert get(sandbox, request_id, "status").status_code == 404
    requests.post(f"{admin}/reset")
    assert sandbox.requests == [] and sandbox.settings.queue_seconds == 0.3
    assert sandbox.job(request_id) is None


def test_reset_forgets_jobs_faults_log_and_settings(sandbox):
    sandbox.settings.run_seconds = 99
    sandbox.faults.add("submit", "http_500")
    submit(sandbox)
    request_id = submit(sandbox).json()["request_id"]
    sandbox.reset()
    assert sandbox.requests == [] and sandbox.submissions == []
    assert sandbox.settings.run_seconds == 0.3
    assert get(sandbox, request_id, "status").status_code == 404
    assert submit(sandbox).status_code == 200


def test_unknown_setting_is_refused(sandbox):
    with pytest.raises(AttributeError):
        sandbox.settings.run_second = 1
    with pytest.raises(ValueError):
        sandbox.settings.job_outcome = "exploded"


def test_command_line_prints_the_two_exports_and_stops_on_ctrl_c():
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--port", "0", "--files-port", "0", "--quiet"],
        cwd=PACK_DIR, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        lines = [process.stdout.readline().strip() for _ in range(2)]
        assert lines[0].startswith("export RUNCOMFY_API_BASE=http://127.0.0.1:")
        assert lines[1] == "export RUNCOMFY_API_TOKEN=sandbox-token"
        base = lines[0].split("=", 1)[1]
        info = requests.get(f"{base}/v1/models/{MODEL}", headers=TOKEN, timeout=10)
        assert info.json()["model_id"] == MODEL
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_command_line_refuses_a_public_address():
    process = subprocess.run([sys.executable, "-m", "sandbox", "--host", "0.0.0.0"], cwd=PACK_DIR,
                             capture_output=True, text=True, timeout=30)
    assert process.returncode == 2 and "--allow-remote" in process.stderr


def test_constructor_takes_any_setting_and_reset_returns_to_it(sandbox_factory):
    sb = sandbox_factory(footage="realistic", failure_error_in="both", media="duration_zero")
    assert (sb.settings.footage, sb.settings.failure_error_in) == ("realistic", "both")
    sb.settings.footage = "light"
    sb.reset()
    assert sb.settings.footage == "realistic" and sb.settings.media == "duration_zero"
    with pytest.raises(AttributeError):
        sandbox_factory(footgae="light")
    with pytest.raises(ValueError):
        sandbox_factory(footage="cinematic")


def test_capabilities_list_faults_settings_and_media(sandbox):
    listed = requests.get(f"{sandbox.api_base}/_sandbox/capabilities").json()
    assert listed["fault_kinds"]["echo_token"] == ["submit", "status", "result", "cancel",
                                                   "model", "file"]
    assert listed["fault_kinds"]["empty_body"] == ["file"]
    assert listed["settings"]["failure_error_in"] == "result"
    assert listed["settings"]["footage"] == "light"


def test_the_sandbox_answers_without_nagle_delay(sandbox):
    """Like a production server: answers are not held back for the client's delayed ACK (it
    added 40 ms to every answer about a finished job, and to the benchmarks' figures)."""
    with requests.Session() as session:
        session.get(f"{sandbox.api_base}/v1/models/{MODEL}", headers={"Authorization": f"Bearer {TOKEN}"})
        server = next(s for s in sandbox._servers if s.origin == "api")
        with server._connections_lock:
            connections = list(server._connections)
        options = []
        for connection in connections:
            try:
                options.append(connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            except OSError:
                pass  # an earlier test's connection, closed meanwhile; this session's stays open
        assert options, "the keep-alive connection is tracked"
        assert all(options)
