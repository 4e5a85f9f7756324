"""The whole path of both video nodes, on top of the stages:

    kling (inputs)  -> pre-submit checks        check_generation, before anything is sent
    api (request)   -> submit, or reuse         submit_once: never pays twice for one fingerprint
    api (job)       -> wait                     RequestHandle.wait
    media (file)    -> download into the cache  download_file, ResultCache
    media (frames)  -> decode frames and sound  decode_clip

Nothing here knows ComfyUI or torch. A node checks its inputs with ``check_generation`` on its
own thread (so a bad input fails before any worker starts), runs ``generate`` or ``fetch`` in a
worker thread with the job's stop callback, and turns the ``PipelineResult`` into its outputs.
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

from . import stopping
from .api.client import RunComfyClient
from .api.handle import DEFAULT_POLL_INTERVAL_S, DEFAULT_TIMEOUT_S, JobUpdate
from .api.settings import ApiSettings, load_settings
from .errors import InvalidInputError, NotEnoughMemoryError, RequestNotFoundError, ResultExpiredError, RunComfyError
from .kling.pricing import SHARED as SHARED_PRICES
from .kling.request import EXPECTED_FPS, MODEL_ID, OUTPUT_SIZES, TextToVideoRequest
from .media.decode import DecodedClip, StreamingDecode, decode_clip
from .media.download import download_file
from .media.memory import check_memory
from .media.probe import VideoInfo, verify_video
from .media.selection import FrameSelection, selected_count
from .media.shots import Shots, shots_of
from .spend_guard import SpendGuard, keep_days, read_budgets
from .status import Phase, Progress
from .store.folder import StateFolder
from .store.ledger import Ledger
from .store.result_cache import ResultCache
from .pacing import Pacer, streaming_decode
from .slots import SHARED as SLOTS, SlotHolder, read_limit
from .submit_once import finish_recorded, submit_or_attach

log = logging.getLogger("runcomfy_kling3")


@dataclass(frozen=True)
class GeneratedVideo:
    request_id: str
    video_url: str
    path: Path
    cost_usd: float | None = None
    #: seconds the job generated, when seen from its queue on (for the time-left estimate)
    generating_s: float | None = None
    #: served from the result cache without any request to the API
    reused: bool = False


@dataclass
class PipelineResult:
    video: GeneratedVideo
    clip: DecodedClip
    #: where each shot lies in the decoded frames (media/shots.py); set by generate and fetch
    shots: Shots | None = None

    def with_shots(self, body: dict | None, selection: FrameSelection) -> "PipelineResult":
        frames = self.clip.frames
        self.shots = shots_of(body, selection, source_fps=frames.source.fps or EXPECTED_FPS,
                              source_frames=frames.source.frame_count, output_frames=frames.frame_count)
        return self


#: a price lookup before a submit is one quick call: (connect, read) seconds
PRICE_LOOKUP_TIMEOUT = (5.0, 10.0)


class Pipeline:
    def __init__(self, state: StateFolder, *, environ: Mapping[str, str] | None = None,
                 poll_interval: float = DEFAULT_POLL_INTERVAL_S, timeout: float = DEFAULT_TIMEOUT_S,
                 max_download_bytes: int | None = None):
        self.state = state
        self.environ = os.environ if environ is None else environ
        self.poll_interval = poll_interval
        self.timeout = timeout
        self.max_download_bytes = max_download_bytes

    # --- before anything is sent ----------------------------------------------------------------
    def api_settings(self) -> ApiSettings:
        """The API base and token in use (``MissingTokenError`` before any request)."""
        return load_settings(self.state.tokens().load(), self.environ)

    def check_generation(self, request: TextToVideoRequest, selection: FrameSelection) -> ApiSettings:
        """Everything that can fail before paying: the selection against the expected clip, its
        memory once decoded, the budgets, and the token. ``request`` is validated when built.
        (The spend guard checks again, with the price in force, as it records the submission.)"""
        check_before_submit(request, selection)
        guard = SpendGuard(read_budgets(self.state.database(), self.environ))
        with self.state.database().read() as db:
            guard.check(db, request.estimated_cost_usd())
        return self.api_settings()

    def prices(self, settings: ApiSettings) -> dict:
        """The price table in use (the same one the node's estimate shows)."""
        def ask() -> object:
            with RunComfyClient(settings, attempts=0, read_timeout=PRICE_LOOKUP_TIMEOUT) as client:
                return client.model_info(MODEL_ID)
        return SHARED_PRICES.get(settings.base_url, ask)

    def generation_eta(self, duration_s: int) -> float | None:
        """Typical generating seconds of this user's past videos of that length."""
        return self.state.timings().estimate(duration_s)

    def cached(self, request_id: str) -> GeneratedVideo | None:
        """The video of ``request_id`` from the result cache (no request), or None."""
        hit = self.state.results().get(request_id, pin=True)
        if hit is None:
            return None
        return GeneratedVideo(request_id, hit.video_url or "", hit.path, hit.cost_usd, reused=True)

    # --- in the worker thread -------------------------------------------------------------------
    def generate(self, request: TextToVideoRequest, selection: FrameSelection, settings: ApiSettings, *,
                 seed: object, progress: Progress,
                 should_stop: Callable[[], bool] | None = None) -> PipelineResult:
        """Submit (at most once per request and seed), wait, download, decode. ``seed`` is never
        sent: it only tells generations with the same body apart."""
        # near the expected end: poll every second and get the frames' memory ready (pacing.py)
        pacer = Pacer(progress, self.poll_interval, eta_s=self.generation_eta(request.duration),
                      expected=expected_video(request), selection=selection)
        # at most max_parallel new jobs in flight in this process; the others wait (slots.py)
        slot = SlotHolder(SLOTS, lambda: read_limit(self.state.database(), self.environ)[0], progress)
        with stopping.scope(should_stop), RunComfyClient(settings) as client, pacer, slot:
            journal, cache = self.state.journal(), self.state.results()
            stream = streaming_decode(selection, progress)
            attachment = submit_or_attach(client, journal, MODEL_ID, request.to_body(), seed,
                                          progress=progress, is_cached=lambda rid: cache.get(rid) is not None,
                                          estimate=lambda: request.estimated_cost_usd(self.prices(settings)),
                                          spend_check=SpendGuard(read_budgets(self.state.database(), self.environ)).check,
                                          before_submit=slot.take)
            video = self.cached(attachment.request_id) if attachment.cached else None
            if video is None:
                video = finish_recorded(
                    journal, attachment,
                    lambda: self._wait_and_download(client, cache, attachment.request_id, progress,
                                                    known_completed=attachment.known_completed,
                                                    pacer=pacer, stream=stream),
                    lambda done: {"video_url": done.video_url or None, "cost_usd": done.cost_usd,
                                  "video_path": str(done.path)})
            slot.release()  # downloaded: the job is no longer in flight at the API
            if video.generating_s:
                self.state.timings().record(request.duration, video.generating_s)
            self._prune_ledger()
            return self._decode(video, selection, progress, stream if not video.reused else None,
                                pacer.reserve(prefault_now=False)).with_shots(request.to_body(), selection)

    def fetch(self, request_id: str, selection: FrameSelection, settings: ApiSettings | None, *,
              progress: Progress, should_stop: Callable[[], bool] | None = None) -> PipelineResult:
        """The video of an earlier request: from the cache, else wait for it (never cancelling
        it: it may belong to another graph or machine) and download it. Never submits."""
        progress.request_id = request_id
        with stopping.scope(should_stop):
            video = self.cached(request_id)
            if video is None:
                if settings is None:
                    settings = self.api_settings()
                stream = streaming_decode(selection, progress)
                with RunComfyClient(settings) as client:
                    video = self._wait_and_download(client, self.state.results(), request_id, progress,
                                                    cancel_on_stop=False, stream=stream)
                result = self._decode(video, selection, progress, stream)
            else:
                result = self._decode(video, selection, progress)
            # the shots when this folder submitted the request; otherwise one shot, the whole clip
            return result.with_shots(self.state.journal().body_of(request_id), selection)

    def _wait_and_download(self, client: RunComfyClient, cache: ResultCache, request_id: str,
                           progress: Progress, *, known_completed: bool = False,
                           cancel_on_stop: bool = True, pacer: Pacer | None = None,
                           stream: StreamingDecode | None = None) -> GeneratedVideo:
        """``known_completed``: the job is known to have finished, so the API not knowing it any
        more means its result expired. ``stream``: decodes the frames while the file lands."""
        progress.request_id = request_id
        progress.started_at = progress.started_at or time.monotonic()
        if progress.phase not in (Phase.QUEUED, Phase.GENERATING):
            progress.phase = Phase.QUEUED

        def on_update(update: JobUpdate) -> None:
            progress.on_status(update.status.phase, getattr(update.status, "position", None))

        try:
            result = client.handle(request_id).wait(on_update, poll_interval=self.poll_interval,
                                                    timeout=self.timeout, cancel_on_stop=cancel_on_stop,
                                                    next_interval=pacer.interval if pacer else None)
        except RequestNotFoundError:
            if not known_completed:
                raise
            raise ResultExpiredError(
                "The video has expired on RunComfy and its local copy is gone (removed from the result "
                "cache)", request_id=request_id,
                hint="A new video needs a new paid job: change the seed to generate it again") from None
        _stage(request_id, "result received")
        generating_s = progress.generating_seconds()
        progress.begin(Phase.DOWNLOADING)
        if pacer is not None and stream is not None:
            stream.reserved = pacer.reserve(prefault_now=False)  # faulted in once the header matches
        dest = cache.prepare(request_id, result.video_url, result.cost_usd)
        limit = {} if self.max_download_bytes is None else {"max_bytes": self.max_download_bytes}
        if stream is not None:
            limit["on_part"] = stream.on_part
        try:
            try:
                download_file(result.video_url, dest, progress=stream.hook(progress.on_fraction) if stream
                              else progress.on_fraction,
                              request_id=request_id, api_base=client.settings.base_url,
                              # checked before it is cached: a body cut short unannounced is fetched again
                              verify=lambda path: verify_video(path, name=dest.name), **limit)
            except RunComfyError as exc:
                raise exc.with_request_id(request_id)
            saved = cache.commit(request_id, pin=True)
        except BaseException as exc:
            if stream is not None:
                stream.abandon(exc)
            raise
        _stage(request_id, "downloaded")
        if stream is not None:
            stream.downloaded(saved.path)
        return GeneratedVideo(request_id, result.video_url, saved.path, result.cost_usd, generating_s)

    def _prune_ledger(self) -> None:
        """Old ledger records go on the user's schedule (best effort: never fails a generation)."""
        try:
            Ledger(self.state.database()).prune_if_due(keep_days(self.state.database(), self.environ))
        except RunComfyError as exc:
            log.warning("RunComfy: the ledger was not pruned (%s)", exc.reason)

    @staticmethod
    def _decode(video: GeneratedVideo, selection: FrameSelection, progress: Progress,
                stream: StreamingDecode | None = None, reserved=None) -> PipelineResult:
        # a result reused from the cache costs nothing now: no charge is reported for this run
        progress.request_id, progress.cost_usd = video.request_id, None if video.reused else video.cost_usd
        progress.begin(Phase.DECODING)
        if stream is not None:
            stream.progress = progress.on_fraction
            clip = stream.result(video.path)
        else:
            clip = decode_clip(video.path, selection, progress=progress.on_fraction,
                               request_id=video.request_id, reserved=reserved)
        _stage(video.request_id, f"decoded ({stream.mode if stream is not None else 'from the file'})")
        return PipelineResult(video, clip)


def _stage(request_id: str, what: str) -> None:
    """A debug line per stage, with the wall clock (benchmarks/e2e_benchmark.py reads them)."""
    log.debug("Request %s: stage %s at %.3f", request_id, what, time.time())


def expected_video(request: TextToVideoRequest) -> VideoInfo:
    """The clip a request will make, as Kling makes it (for checks and reservations)."""
    width, height = OUTPUT_SIZES[request.aspect_ratio]
    return VideoInfo(width=width, height=height, fps=float(EXPECTED_FPS),
                     frame_count=request.duration * EXPECTED_FPS, duration=float(request.duration),
                     has_audio=request.sound)


def check_before_submit(request: TextToVideoRequest, selection: FrameSelection) -> None:
    """Fail before paying for a clip whose selected frames would be none, or would not fit in
    this machine's memory once decoded."""
    expected = expected_video(request)
    width, height = expected.width, expected.height
    if selected_count(expected.frame_count, selection) == 0:
        raise InvalidInputError("skip_first_frames", f"must leave frames to load: the {request.duration} s clip has "
                                f"about {expected.frame_count} frames", selection.skip_first_frames)
    try:
        check_memory(expected, selection)
    except NotEnoughMemoryError as exc:
        raise NotEnoughMemoryError(f"Nothing was submitted: the {request.duration} s {width}x{height} clip "
                                   f"would not fit in memory once decoded. {exc.reason}") from None
