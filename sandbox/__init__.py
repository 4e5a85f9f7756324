"""A local stand-in for the RunComfy Model API serving kling/kling-3.0/pro/text-to-video.

Two origins, like the real service: the API (token required) and a storage host for the result
files (no token; tests check that clients never send one there). Jobs follow a wall-clock
timeline, results are real H.264/AAC mp4 files that show their shot, prompt and timecode, and
fault switches reproduce the failures a client must survive.

    with Sandbox(queue_seconds=0.3, run_seconds=0.3, resolution_scale=0.125) as sb:
        sb.api_base     # give this to the client as RUNCOMFY_API_BASE, token DEFAULT_TOKEN

Switches: ``sb.settings`` (sandbox/settings.py: job timeline, where a failure's reason goes,
hostile result URLs, redirects and request ids, crafted media, realistic footage, the moov
position, the file host's send rate) and ``sb.faults.add(route, kind, count, **params)``
(sandbox/faults.py: HTTP errors, hang-ups, token-echoing errors, short or empty bodies). The
``/_sandbox/...`` admin routes set the same from another process.

Run ``python -m sandbox`` for a server on fixed ports.
"""
from __future__ import annotations

import shutil
import tempfile
import threading
from pathlib import Path

from .api_server import ApiHandler
from .faults import FaultBoard
from .file_server import FileHandler
from .http_common import SandboxHTTPServer, base_url
from .request_log import RecordedRequest, Submission
from .media_names import CRAFTED_MEDIA, CRAFTED_MEDIA_DESCRIPTIONS
from .settings import DEFAULT_FAILURE_ERROR, SandboxSettings
from .state import NO_BALANCE_TOKENS, USERS, SandboxState
from .validation import MODEL_ID

DEFAULT_TOKEN = "sandbox-token"
OTHER_USER_TOKEN = "sandbox-token-2"
NO_BALANCE_TOKEN = "sandbox-no-balance"

__all__ = ["Sandbox", "SandboxSettings", "DEFAULT_TOKEN", "OTHER_USER_TOKEN", "NO_BALANCE_TOKEN",
           "MODEL_ID", "USERS", "NO_BALANCE_TOKENS", "CRAFTED_MEDIA", "CRAFTED_MEDIA_DESCRIPTIONS"]


class Sandbox:
    def __init__(self, host: str = "127.0.0.1", api_port: int = 0, files_port: int = 0,
                 queue_seconds: float = 1.0, run_seconds: float = 3.0,
                 resolution_scale: float = 1.0, state_dir=None, *,
                 queue_position_start: int = 3, job_outcome: str = "completed",
                 failure_error=DEFAULT_FAILURE_ERROR, result_ttl_seconds: float | None = None,
                 footage: str = "light", verbose: bool = False, **settings):
        """``footage``: "light" (flat colours, for tests and the demo) or "realistic" (texture,
        motion and grain at Kling's bitrate, for benchmarks). Any other setting of
        :class:`SandboxSettings` can be given by name too; ``reset()`` returns to these."""
        initial = SandboxSettings(queue_seconds=queue_seconds, run_seconds=run_seconds,
                                  queue_position_start=queue_position_start,
                                  job_outcome=job_outcome, failure_error=failure_error,
                                  resolution_scale=resolution_scale,
                                  result_ttl_seconds=result_ttl_seconds)
        initial.update({"footage": footage, **settings})
        self.host = host
        self._ports = (api_port, files_port)
        self._own_state_dir = state_dir is None
        self.state_dir = Path(tempfile.mkdtemp(prefix="runcomfy-sandbox-")
                              if state_dir is None else state_dir)
        self._state = SandboxState(initial, self.state_dir, verbose=verbose)
        self._servers: list[SandboxHTTPServer] = []
        self._threads: list[threading.Thread] = []

    # --- lifecycle ----------------------------------------------------------------------------
    def start(self) -> "Sandbox":
        if self._servers:
            return self
        api = SandboxHTTPServer(self.host, self._ports[0], ApiHandler, self._state, "api")
        try:
            files = SandboxHTTPServer(self.host, self._ports[1], FileHandler, self._state, "files")
        except BaseException:
            api.server_close()
            raise
        self._servers = [api, files]
        self._state.api_port = api.server_address[1]
        self._state.files_port = files.server_address[1]
        self._state.clips.start()
        for server in self._servers:
            thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                                      name=f"sandbox-{server.origin}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.close_connections()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._servers, self._threads = [], []
        self._state.clips.stop()
        if self._own_state_dir:
            shutil.rmtree(self.state_dir, ignore_errors=True)

    def __enter__(self) -> "Sandbox":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- where it is --------------------------------------------------------------------------
    def _base(self, port: int | None) -> str:
        if port is None:
            raise RuntimeError("sandbox: call start() first")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else "::1" if self.host == "::" \
            else self.host
        return base_url(host, port)

    @property
    def api_base(self) -> str:
        return self._base(self._state.api_port)

    @property
    def files_base(self) -> str:
        return self._base(self._state.files_port)

    # --- controls and records -----------------------------------------------------------------
    @property
    def settings(self) -> SandboxSettings:
        return self._state.settings

    @property
    def faults(self) -> FaultBoard:
        return self._state.faults

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request to either origin (admin routes excepted), oldest first."""
        return self._state.log.requests

    @property
    def submissions(self) -> list[Submission]:
        """Bodies of the submits that created a job (dicts; ``.request_id`` says which)."""
        return self._state.log.submissions

    @property
    def submissions_ids(self) -> list[str]:
        """Request ids of the jobs created so far, oldest first."""
        return [submission.request_id for submission in self._state.log.submissions]

    def expire(self, request_id: str) -> bool:
        """Make a job's result gone: status/result answer 404 404001, the file 404."""
        return self._state.expire(request_id)

    def reset(self) -> None:
        self._state.reset()

    def job(self, request_id: str) -> dict | None:
        """A snapshot of a job: status, queue_position, body, owner, times; None if unknown."""
        return self._state.job_view(request_id)

    def __repr__(self) -> str:
        where = f"{self.api_base}" if self._servers else "stopped"
        return f"Sandbox({where})"
