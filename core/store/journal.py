"""The journal: what happened to every paid request, on disk, so no result is lost or paid twice.

One small JSON file per request fingerprint (``<dir>/<fingerprint>.json``); the fingerprint is a
hash of exactly what would be sent (model id, JSON body), where (API base) and the node's seed.
Each file moves through these states:

    submitting  written (and fsynced) before the submit is sent: if it is still there on the next
                run, the process died during the submit and a job may exist unknown to us
    submitted   the request id is known; written and fsynced before anyone starts waiting
    completed   the video was downloaded into the result cache
    failed      the job failed on RunComfy's side (nothing to recover, not billed)
    cancelled   the job was cancelled while queued (nothing to recover, not billed)

Every write is atomic and durable (``files.atomic_write``): a crash at any moment leaves the old
or the new version, never a mix. A record that still cannot be read (truncated or edited by
something else, wrong types, a folder in its place) is never taken as "no record": it may stand
for a paid job, so ``read`` raises ``StateFileError`` naming the file and the way out.

``lock(fingerprint)`` is a lock file per fingerprint shared by every process using the folder
(``files.FileLock``); the operating system releases it when its holder dies, so a killed ComfyUI
never leaves a stale lock behind.
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from ..errors import RECOVERY_NODE, StateFileError
from .files import FileLock, atomic_write, fsync_directory, remove_stale_temp_files

log = logging.getLogger("runcomfy_kling3")

JOURNAL_VERSION = 1
SUBMITTING, SUBMITTED, COMPLETED, FAILED, CANCELLED = (
    "submitting", "submitted", "completed", "failed", "cancelled")
STATES = (SUBMITTING, SUBMITTED, COMPLETED, FAILED, CANCELLED)
#: states that name a request that may hold (or become) a paid result
ATTACHABLE_STATES = (SUBMITTED, COMPLETED)
#: temporary files of writers that died are swept once they are this old
STALE_TEMP_S = 600.0
#: a record is a few hundred bytes; anything far larger is not one of ours
MAX_RECORD_BYTES = 1024 * 1024
_TEXT_FIELDS = ("model_id", "request_id", "api_base", "video_url", "error")


def fingerprint(model_id: str, body: dict, seed: object = None, api_base: str | None = None) -> str:
    """sha256 of the canonical JSON of what would be sent, where, and with which seed."""
    canonical = json.dumps({"model_id": model_id, "body": body, "seed": seed, "api_base": api_base},
                           sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class JournalEntry:
    fingerprint: str
    state: str
    model_id: str
    request_id: str | None = None
    seed: object = None
    api_base: str | None = None
    #: the JSON body as sent; kept so a person reading the folder can tell requests apart
    body: dict | None = None
    video_url: str | None = None
    cost_usd: float | None = None
    error: str | None = None
    created_at: float = 0.0     # time.time() of the first write
    updated_at: float = 0.0

    def to_json(self) -> dict:
        return {"version": JOURNAL_VERSION, **dataclasses.asdict(self)}

    @classmethod
    def from_json(cls, data: object, expected_fingerprint: str) -> "JournalEntry":
        """The entry, or ``ValueError`` saying what is wrong with ``data``."""
        if not isinstance(data, dict):
            raise ValueError(f"a JSON {type(data).__name__} instead of an object")
        if data.get("fingerprint") != expected_fingerprint:
            raise ValueError("its fingerprint does not match its file name")
        if data.get("state") not in STATES:
            raise ValueError(f"unknown state {str(data.get('state'))[:40]!r}")
        for name in _TEXT_FIELDS:
            if data.get(name) is not None and not isinstance(data[name], str):
                raise ValueError(f"{name} is a {type(data[name]).__name__}, not text")
        request_id = data.get("request_id")
        if data["state"] in ATTACHABLE_STATES and not request_id:
            raise ValueError(f"state {data['state']!r} without a request id")
        for name in ("created_at", "updated_at", "cost_usd"):
            value = data.get(name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                      or not math.isfinite(value) or abs(value) > 1e12):
                raise ValueError(f"{name} is not a plausible number")
        if data.get("body") is not None and not isinstance(data["body"], dict):
            raise ValueError("body is not an object")
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def moved_to(self, state: str, **changes) -> "JournalEntry":
        return dataclasses.replace(self, state=state, updated_at=time.time(), **changes)


class Journal:
    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        self._swept = False

    def __repr__(self) -> str:
        return f"Journal({str(self.directory)!r})"

    def path(self, key: str) -> Path:
        return self.directory / f"{key}.json"

    # --- reading ------------------------------------------------------------------------------
    def read(self, key: str) -> JournalEntry | None:
        """The entry for ``key``, None when there is none; ``StateFileError`` when a record is
        there but cannot be read (it may stand for a paid job, so it never counts as none)."""
        path = self.path(key)
        try:
            with open(path, "rb") as handle:
                raw = handle.read(MAX_RECORD_BYTES + 1)
        except FileNotFoundError:
            return None
        except OSError as exc:  # a folder in its place, no permission, an I/O error
            raise self.damaged(path, f"it cannot be read ({type(exc).__name__}: {exc.strerror or exc})") from None
        try:
            if len(raw) > MAX_RECORD_BYTES:
                raise ValueError(f"it is over {MAX_RECORD_BYTES // 1024} KiB")
            return JournalEntry.from_json(json.loads(raw.decode("utf-8")), key)
        except (ValueError, TypeError, UnicodeDecodeError, RecursionError) as exc:
            reason = "it is nested too deeply" if isinstance(exc, RecursionError) else str(exc)[:120]
            raise self.damaged(path, f"it is damaged ({reason})") from None

    def damaged(self, path: Path, why: str) -> StateFileError:
        return StateFileError(
            f"The journal record {path} of an earlier run with exactly these inputs cannot be used: "
            f"{why}. It may stand for a job that was submitted and charged, so nothing was submitted",
            hint=(f"Look for that job in your RunComfy request history: if it is there, give its request "
                  f"id to the '{RECOVERY_NODE}' node; either way, change the seed to generate anew, or "
                  f"remove {path.name} from that folder once you have checked"))

    def entries(self) -> Iterator[JournalEntry]:
        """Every readable entry (for tools and tests; unreadable records are logged and skipped)."""
        if not self.directory.is_dir():
            return
        for path in sorted(self.directory.glob("*.json")):
            try:
                entry = self.read(path.stem)
            except StateFileError as exc:
                log.warning("RunComfy journal: %s", exc.reason)
                continue
            if entry is not None:
                yield entry

    # --- writing ------------------------------------------------------------------------------
    def write(self, entry: JournalEntry) -> None:
        """Replace the entry atomically and durably (see the module docstring)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        data = json.dumps(entry.to_json(), ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8")
        atomic_write(self.path(entry.fingerprint), data)
        if not self._swept:
            self._swept = True
            # temporary files of writers killed mid-write: harmless, but they would pile up
            remove_stale_temp_files(self.directory, STALE_TEMP_S)

    def remove(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path(key))
            fsync_directory(self.directory)

    def settle(self, key: str, request_id: str, state: str, **changes) -> JournalEntry | None:
        """Record the outcome of ``request_id``, unless the entry has since moved on to another
        request (a slow waiter must not overwrite a newer submission's record)."""
        with self.lock(key):
            current = self.read(key)
            if current is not None and current.request_id != request_id:
                log.info("RunComfy journal: %s now belongs to request %s; not recording %s for %s",
                         key[:12], current.request_id, state, request_id)
                return None
            if current is None:
                now = time.time()
                current = JournalEntry(key, state, changes.pop("model_id", ""), request_id=request_id,
                                       created_at=now, updated_at=now)
            entry = current.moved_to(state, **changes)
            self.write(entry)
            return entry

    # --- locking ------------------------------------------------------------------------------
    @contextlib.contextmanager
    def lock(self, key: str) -> Iterator[None]:
        """Hold the cross-process lock of ``key``; ``StoppedError`` on a stop request while waiting."""
        self.directory.mkdir(parents=True, exist_ok=True)
        with FileLock(self.directory / f"{key}.lock").held():
            yield
