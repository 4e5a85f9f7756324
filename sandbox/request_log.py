"""What reached the sandbox, so tests can assert what a client sent (and did not send)."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any


class HeaderDict(dict):
    """Headers with their original names as keys; lookups ignore case, as HTTP does."""

    def _find(self, name: str) -> str | None:
        if dict.__contains__(self, name):
            return name
        lowered = name.lower() if isinstance(name, str) else name
        for key in self.keys():
            if key.lower() == lowered:
                return key
        return None

    def __getitem__(self, name):
        key = self._find(name)
        if key is None:
            raise KeyError(name)
        return dict.__getitem__(self, key)

    def __contains__(self, name) -> bool:
        return self._find(name) is not None

    def get(self, name, default=None):
        key = self._find(name)
        return default if key is None else dict.__getitem__(self, key)


@dataclass
class RecordedRequest:
    origin: str            # "api" or "files"
    method: str
    path: str              # without the query string
    query: str             # raw query string ("" if none)
    headers: HeaderDict
    json: Any              # parsed JSON body, or None
    body: bytes
    #: time.monotonic() when received: the clock of ``Sandbox.job()["..._monotonic"]`` times
    time: float
    wall_time: float = 0.0  # time.time() when received
    client: str = ""
    #: HTTP status answered; None while answering or when the connection was dropped
    status: int | None = None

    @property
    def target(self) -> str:
        return f"{self.path}?{self.query}" if self.query else self.path

    def as_dict(self) -> dict:
        return {"origin": self.origin, "method": self.method, "path": self.path,
                "query": self.query, "headers": dict(self.headers), "json": self.json,
                "time": self.time, "wall_time": self.wall_time, "status": self.status}


class Submission(dict):
    """The JSON body of a submit that created a job, with where it went."""

    def __init__(self, body: dict, *, request_id: str, owner: str, time: float):
        # time: time.monotonic(), like RecordedRequest.time
        super().__init__(body)
        self.request_id = request_id
        self.owner = owner
        self.time = time

    @property
    def json(self) -> dict:
        return dict(self)


class RequestLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._submissions: list[Submission] = []

    def add(self, record: RecordedRequest) -> RecordedRequest:
        with self._lock:
            self._requests.append(record)
        return record

    def add_submission(self, submission: Submission) -> None:
        with self._lock:
            self._submissions.append(submission)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def submissions(self) -> list[Submission]:
        with self._lock:
            return list(self._submissions)

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()
            self._submissions.clear()
