"""Everything the two sandbox origins share while running."""
from __future__ import annotations

from pathlib import Path

from .clip_store import ClipSpec, ClipStore
from .crafted_media import CraftedMedia
from .faults import FaultBoard
from .jobs import Job, JobStore
from .request_log import RequestLog
from .settings import SandboxSettings

#: token -> user; a request made by one user is 403 for the other
USERS = {"sandbox-token": "user-1", "sandbox-token-2": "user-2",
         "sandbox-no-balance": "user-no-balance"}
NO_BALANCE_TOKENS = {"sandbox-no-balance"}


class SandboxState:
    def __init__(self, settings: SandboxSettings, state_dir: Path, verbose: bool = False):
        self.initial_settings = settings.snapshot()
        self.settings = settings
        self.faults = FaultBoard()
        self.log = RequestLog()
        self.jobs = JobStore()
        self.clips = ClipStore(Path(state_dir) / "clips")
        self.crafted = CraftedMedia(Path(state_dir) / "crafted")
        self.verbose = verbose
        self.api_port: int | None = None
        self.files_port: int | None = None

    @staticmethod
    def file_name(job: Job) -> str:
        # unique per job, so a client that saves under the URL's name never overwrites
        return f"kling-{job.request_id}.mp4"

    @staticmethod
    def clip_spec(job: Job) -> ClipSpec:
        settings = job.settings
        return ClipSpec.for_job(job.body, settings.resolution_scale, settings.footage,
                                settings.moov_position == "first")

    def result_file(self, job: Job, timeout: float | None = None) -> Path:
        """The file a finished job's URL serves: its clip, or the crafted file of ``media``."""
        if job.settings.media != "clip":
            return self.crafted.path(job.settings.media)
        return self.clips.get(self.clip_spec(job), timeout=timeout)

    def reset(self) -> None:
        """Back to a fresh sandbox: no jobs, faults or log; constructor settings. Clips made so
        far stay cached (they depend only on their input)."""
        self.jobs.clear()
        self.faults.clear()
        self.log.clear()
        self.clips.drop_queued()
        # in place: callers hold on to ``sandbox.settings``
        self.settings.update(self.initial_settings.as_dict())

    def expire(self, request_id: str) -> bool:
        return self.jobs.expire(request_id)

    def job_view(self, request_id: str) -> dict | None:
        job = self.jobs.get(request_id)
        return None if job is None else job.view()
