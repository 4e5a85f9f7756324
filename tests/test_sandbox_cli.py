"""``python -m sandbox`` run by a person: stopped with Ctrl-C (SIGINT) or ``kill`` (SIGTERM), it
exits cleanly and leaves no temporary folder behind."""
from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
import requests

from comfyui_harness import platform_skipif
from pack_loader import PACK_DIR

MODEL = "kling/kling-3.0/pro/text-to-video"


@platform_skipif(os.name != "posix", "Windows has no catchable SIGTERM (it terminates at once)")
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_stopping_the_command_line_sandbox_removes_its_temporary_folder(tmp_path, signum):
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "TMPDIR": str(tmp_path)}
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--port", "0", "--files-port", "0", "--quiet",
         "--resolution-scale", "0.125", "--queue-seconds", "0", "--run-seconds", "0"],
        cwd=PACK_DIR, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        base = process.stdout.readline().strip().split("=", 1)[1]
        assert base.startswith("http://127.0.0.1:")
        token = process.stdout.readline().strip().split("=", 1)[1]
        # a job, so the folder holds a generated clip and not just itself
        headers = {"Authorization": f"Bearer {token}"}
        answer = requests.post(f"{base}/v1/models/{MODEL}", headers=headers, timeout=30,
                               json={"prompt": "a fox", "duration": 3})
        assert answer.status_code == 200, answer.text
        folders = list(tmp_path.glob("runcomfy-sandbox-*"))
        assert len(folders) == 1 and folders[0].is_dir()
        process.send_signal(signum)
        assert process.wait(timeout=20) == 0, process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert not folders[0].exists()
    assert not list(tmp_path.iterdir())
