"""Fault switches: make the next N requests to a route misbehave in a chosen way.

Each matching request consumes one count; faults for a route are used in the order added.

Kinds and their parameters (all optional):

- ``http_429`` (retry_after), ``http_500``, ``http_502`` (an HTML gateway page), ``http_503``
  (retry_after), ``drop``, ``drop_after_accept`` (submit), ``slow`` (delay),
  ``malformed_json``, ``error_code_200``: transport and server trouble.
- ``echo_token`` (status=401, body="json"|"html"|"text"): an error answer whose body repeats
  the request's Authorization header, as a careless proxy or API might; with body="json" the
  ``error_message`` (and for 422 the ``detail``) carries it.
- file only: ``truncate`` (fraction=0.5, framing="content_length"|"chunked"|"chunked_cut"|
  "close"): only ``fraction`` of the body is sent; "content_length" promises all of it and
  hangs up, "chunked" ends the short chunked body cleanly, "chunked_cut" hangs up without the
  last chunk, "close" sends no length and closes after the short body (it looks complete);
  ``empty_body`` (content_length=True): 200 with no body at all, with ``Content-Length: 0`` or
  with no length and the connection closed; ``wrong_content_type``: an HTML sign-in page.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

ROUTES = ("submit", "status", "result", "cancel", "model", "file")

#: kind -> routes it applies to (None = every route)
KINDS: dict[str, tuple[str, ...] | None] = {
    "http_429": None,
    "http_500": None,
    "http_502": None,
    "http_503": None,
    "drop": None,
    "drop_after_accept": ("submit",),
    "slow": None,
    "malformed_json": None,
    "error_code_200": None,
    "echo_token": None,
    "truncate": ("file",),
    "empty_body": ("file",),
    "wrong_content_type": ("file",),
}

#: kinds that only make sense when a body is sent; a HEAD request leaves them for the next GET
BODY_KINDS = ("truncate", "empty_body")
TRUNCATE_FRAMINGS = ("content_length", "chunked", "chunked_cut", "close")
ECHO_BODIES = ("json", "html", "text")


@dataclass
class Fault:
    route: str
    kind: str
    #: requests still to affect; None = every request until cleared
    remaining: int | None = 1
    params: dict = field(default_factory=dict)

    def param(self, name: str, default: Any) -> Any:
        return self.params.get(name, default)

    def as_dict(self) -> dict:
        return {"route": self.route, "kind": self.kind, "count": self.remaining, **self.params}


class FaultBoard:
    """Thread-safe list of pending faults."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, route: str, kind: str, count: int | None = 1, **params: Any) -> Fault:
        if route not in ROUTES:
            raise ValueError(f"fault route: must be one of {ROUTES} (got {route!r})")
        if kind not in KINDS:
            raise ValueError(f"fault kind: must be one of {tuple(KINDS)} (got {kind!r})")
        allowed = KINDS[kind]
        if allowed is not None and route not in allowed:
            raise ValueError(f"fault kind {kind!r} only applies to route(s) {allowed} (got {route!r})")
        if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
            raise ValueError(f"fault count: must be an integer >= 1 or None for always (got {count!r})")
        for name in ("retry_after", "delay", "fraction"):
            if name in params and (isinstance(params[name], bool)
                                   or not isinstance(params[name], (int, float))
                                   or params[name] < 0):
                raise ValueError(f"fault {name}: must be a number >= 0 (got {params[name]!r})")
        if "fraction" in params and params["fraction"] > 1:
            raise ValueError(f"fault fraction: must be between 0 and 1 (got {params['fraction']!r})")
        _check_choice(params, "framing", TRUNCATE_FRAMINGS)
        _check_choice(params, "body", ECHO_BODIES)
        if "status" in params and (isinstance(params["status"], bool)
                                   or not isinstance(params["status"], int)
                                   or not 400 <= params["status"] <= 599):
            raise ValueError(f"fault status: must be an HTTP error status 400..599 "
                             f"(got {params['status']!r})")
        if "content_length" in params and not isinstance(params["content_length"], bool):
            raise ValueError(f"fault content_length: must be true or false "
                             f"(got {params['content_length']!r})")
        fault = Fault(route, kind, count, dict(params))
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, route: str, *, skip_kinds: tuple[str, ...] = ()) -> Fault | None:
        """The fault that applies to this request (consuming one count), or None."""
        with self._lock:
            for fault in self._faults:
                if fault.route != route or fault.kind in skip_kinds:
                    continue
                if fault.remaining is not None:
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                return fault
        return None

    def pending(self) -> list[dict]:
        with self._lock:
            return [fault.as_dict() for fault in self._faults]

    def __len__(self) -> int:
        with self._lock:
            return len(self._faults)


def _check_choice(params: dict, name: str, choices: tuple[str, ...]) -> None:
    if name in params and params[name] not in choices:
        raise ValueError(f"fault {name}: must be one of {choices} (got {params[name]!r})")
