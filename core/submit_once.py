"""Submit at most once per request and seed: the journal's state machine.

The fingerprint of what would be sent (model id, body, seed, API base) decides, under the
fingerprint's cross-process lock (see ``store/journal.py`` for the states):

    submitted or completed, video in the result cache  -> reused, no request at all
    submitted or completed, video not cached           -> re-attach to the request id
    submitting  -> refused: an earlier run died during its submit, a job may exist unrecorded
    none, failed or cancelled  -> write "submitting", submit, write "submitted" (fsynced)

Another process with the same inputs waits for the lock, then re-attaches instead of submitting
again. The lock is not held while the job runs; ``finish_recorded`` writes the job's outcome.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Callable, TypeVar

from . import stopping
from .api.client import RunComfyClient
from .errors import (JobCancelledError, JobFailedError, RECOVERY_NODE,
                     RunComfyError, StateFileError, StoppedError, SubmissionOutcomeUnknownError)
from .status import Phase, Progress
from .store.journal import (ATTACHABLE_STATES, CANCELLED, COMPLETED, FAILED, SUBMITTED, SUBMITTING,
                            Journal, JournalEntry, fingerprint)

log = logging.getLogger("runcomfy_kling3")
V = TypeVar("V")


@dataclass(frozen=True)
class Attachment:
    """The request a run is tied to, and how it came to be."""

    key: str
    request_id: str
    #: its video is in the result cache: nothing needs to be asked of the API
    cached: bool = False
    #: the journal saw it complete, so "not found" now means its result expired
    known_completed: bool = False
    #: submitted (and paid for) by this run
    submitted: bool = False


def submit_or_attach(client: RunComfyClient, journal: Journal, model_id: str, body: dict, seed: object, *,
                     progress: Progress, is_cached: Callable[[str], bool],
                     estimate: Callable[[], float] | None = None, spend_check: Callable | None = None,
                     before_submit: Callable[[], None] | None = None) -> Attachment:
    """The request to wait for: an earlier one with the same fingerprint, or a new submission.

    Only for a new submission: ``estimate()`` gives its price by the price table, recorded with
    it; ``spend_check(connection, estimate_usd)`` runs in the same database transaction that
    records it (the spend guard: check and reservation under one lock across processes).
    ``before_submit()`` runs first, outside the fingerprint's lock (a wait for a slot, which
    a cached or re-attached result never does)."""
    api_base = client.settings.base_url
    key = fingerprint(model_id, body, seed, api_base)
    entry = journal.read(key)
    known = _known(key, entry, is_cached)
    if known is not None and known.cached:
        progress.request_id = known.request_id
        return known
    if known is None and before_submit is not None and (entry is None or entry.state != SUBMITTING):
        before_submit()
    with journal.lock(key):
        entry = journal.read(key)
        if entry is not None and entry.state == SUBMITTING:
            raise unknown_outcome(entry, journal)
        known = _known(key, entry, is_cached)
        if known is not None:
            if not known.cached:
                log.info("RunComfy: same inputs as request %s (%s); waiting for it instead of submitting",
                         known.request_id, entry.state)
            progress.request_id = known.request_id
            return known
        estimate_usd = None if estimate is None else estimate()
        now = time.time()
        new = JournalEntry(key, SUBMITTING, model_id, seed=seed, api_base=api_base, body=body,
                           estimate_usd=estimate_usd, created_at=now, updated_at=now)
        check = None if spend_check is None else (lambda db: spend_check(db, estimate_usd))
        request_id = _submit_recorded(client, journal, new, check, progress)
    return Attachment(key, request_id, submitted=True)


def finish_recorded(journal: Journal, attachment: Attachment, finish: Callable[[], V],
                    completed: Callable[[V], dict]) -> V:
    """Run ``finish()`` (wait and download) and write its outcome to the journal;
    ``completed(value)`` gives the fields to record with a success (video URL, cost)."""
    key, request_id = attachment.key, attachment.request_id
    try:
        value = finish()
    except JobFailedError as exc:
        _settle(journal, key, request_id, FAILED, error=exc.reason)
        raise
    except JobCancelledError as exc:
        _settle(journal, key, request_id, CANCELLED, error=exc.reason)
        raise
    except StoppedError as exc:
        if exc.remote_cancelled:
            _settle(journal, key, request_id, CANCELLED, error=exc.reason)
        raise  # otherwise the job runs on and the next run re-attaches to it
    _settle(journal, key, request_id, COMPLETED, **completed(value))
    return value


def _known(key: str, entry: JournalEntry | None, is_cached: Callable[[str], bool]) -> Attachment | None:
    if entry is None or entry.state not in ATTACHABLE_STATES:
        return None
    return Attachment(key, entry.request_id, cached=is_cached(entry.request_id),
                      known_completed=entry.state == COMPLETED)


def _submit_recorded(client: RunComfyClient, journal: Journal, new: JournalEntry,
                     check: Callable | None, progress: Progress) -> str:
    """Submit with the journal written before and after; return the request id."""
    # a Cancel that came while this job waited for its slot or the lock: nothing is sent
    stopping.check("Stopped before submitting; nothing was sent")
    journal.begin(new, check)  # StateFileError (names the file) when it cannot be written
    progress.phase = Phase.SUBMITTING
    try:
        request_id = client.submit(new.model_id, new.body).request_id
    except SubmissionOutcomeUnknownError:
        raise  # "submitting" stays: a job may exist, the next run must not submit blindly
    except RunComfyError:
        # The API answered with an error, or was never reached: no job was created.
        journal.abandon(new.fingerprint)
        raise
    progress.request_id = request_id  # so even a failing journal write reports the id
    try:
        journal.settle(new.fingerprint, request_id, SUBMITTED)
    except StateFileError as exc:  # a full disk: the job exists and is paid, the record says "submitting"
        raise StateFileError(
            f"The job was submitted, but the journal could not record its request id: {exc.reason}",
            request_id=request_id,
            hint="Free disk space there; the next run with these inputs will then refuse to submit again "
                 "until you recover the job") from None
    progress.submitted(request_id)
    return request_id


def _settle(journal: Journal, key: str, request_id: str, state: str, **changes) -> None:
    try:
        journal.settle(key, request_id, state, **changes)
    except (OSError, StateFileError) as exc:  # the outcome is not at risk: the next run asks the API again
        log.warning("RunComfy: could not record request %s as %s in the journal: %s", request_id, state, exc)


def unknown_outcome(entry: JournalEntry, journal: Journal) -> SubmissionOutcomeUnknownError:
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(entry.updated_at or entry.created_at))
    return SubmissionOutcomeUnknownError(
        f"An earlier run with exactly these inputs (seed {entry.seed}) stopped while submitting, on "
        f"{when}, before RunComfy's answer was saved, so a job may have been created and charged",
        hint=(f"Nothing was submitted now. Look for that job in your RunComfy request history: if it is "
              f"there, give its request id to the '{RECOVERY_NODE}' node; if it is not, change the seed "
              f"to submit again (the record is {journal.where(entry.fingerprint)})"))
