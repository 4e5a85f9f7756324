"""Live status of a generation, sent to the browser while the node waits.

Two channels, because not every frontend runs this pack's extension:

* ``send_progress_text``: ComfyUI's own status text under the node (any frontend shows it);
* a websocket event ``EVENT`` with the raw values, from which the pack's extension draws its
  status line with a clock that keeps ticking between events.

``status_text`` builds the human text; ``web/js/kling3_status.js`` (``statusText``) implements
the same rules so both channels read alike. Outside ComfyUI sending is a no-op.
"""
from __future__ import annotations

import logging
import math
import time

from ..core.status import Phase
from .comfy_bridge import prompt_server

log = logging.getLogger("runcomfy_kling3")

EVENT = "runcomfy.kling3.status"
PHASES = tuple(phase.value for phase in Phase)
TERMINAL_PHASES = frozenset({Phase.DONE.value, Phase.FAILED.value, Phase.CANCELLED.value, Phase.INTERRUPTED.value})
SHORT_ID_CHARS = 8
#: the whole message with its advice (the node wraps it); only a runaway text is cut
MAX_MESSAGE_CHARS = 1200


def send_status(node_id: str | None, phase: str, *, request_id=None, queue_position=None,
                elapsed_s=None, eta_s=None, percent=None, message=None, cost_usd=None,
                progress=None, overdue=False) -> None:
    """Show ``phase`` on node ``node_id`` (ComfyUI's ``UNIQUE_ID``). Never raises."""
    server = prompt_server()
    if server is None:
        return
    payload = status_payload(node_id, phase, request_id=request_id, queue_position=queue_position,
                             elapsed_s=elapsed_s, eta_s=eta_s, percent=percent, message=message,
                             cost_usd=cost_usd, progress=progress, overdue=overdue)
    # The client that queued the prompt, as ComfyUI does for "executed"; None means everyone.
    sid = getattr(server, "client_id", None)
    try:
        server.send_sync(EVENT, payload, sid)
        if node_id is not None:
            server.send_progress_text(payload["text"], str(node_id), sid)
    except Exception as exc:  # a status display must never break the generation itself
        log.debug("RunComfy: could not send the status event: %s", exc)


def status_payload(node_id: str | None, phase: str, *, request_id=None, queue_position=None,
                   elapsed_s=None, eta_s=None, percent=None, message=None, cost_usd=None,
                   progress=None, overdue=False) -> dict:
    """The event's JSON data (also what the tests check). ``cost_usd``: what the API charged,
    when it said (shown next to the estimate after a run); ``progress``: where the whole job is,
    0..1, the same figure ComfyUI's progress bar shows; ``overdue``: generating for longer than
    the normal spread of this user's times (only then the text says so)."""
    # Rounded for the wire; the text is made from the rounded values, as the extension does.
    values = dict(request_id=_text(request_id), queue_position=_int(queue_position),
                  elapsed_s=_seconds(elapsed_s, 1), eta_s=_seconds(eta_s, 1), percent=_percent(percent),
                  message=_message(message), overdue=bool(overdue))
    cost, fraction = _number(cost_usd), _number(progress)
    return {"node": None if node_id is None else str(node_id), "phase": str(phase), **values,
            "text": status_text(phase, **values), "sent_at": round(time.time(), 3),
            "cost_usd": None if cost is None or cost < 0 else round(cost, 4),
            "progress": None if fraction is None else round(min(1.0, max(0.0, fraction)), 3)}


def status_text(phase, *, request_id=None, queue_position=None, elapsed_s=None, eta_s=None,
                percent=None, message=None, overdue=False) -> str:
    """One line for the node, e.g. ``"Generating · 0:42 elapsed · ~1:10 left"``. Past the
    typical time it says "almost done", and "taking longer than usual" only when ``overdue``."""
    request_id, message = _text(request_id), _message(message)
    position, percent = _int(queue_position), _percent(percent)
    elapsed_s, eta_s = _seconds(elapsed_s), _seconds(eta_s)
    parts: list[str]
    if phase == "validating":
        parts = ["Checking inputs"]
    elif phase == "waiting":
        parts = ["Waiting for a slot" + (f" ({position} ahead)" if position else "")]
    elif phase == "submitting":
        parts = ["Submitting"]
    elif phase == "queued":
        parts = ["Queued" + (f" (position {position})" if position is not None else "")]
        if elapsed_s is not None:
            parts.append(f"{clock(elapsed_s)} elapsed")
        if request_id:
            parts.append(f"req {short_id(request_id)}")
    elif phase == "generating":
        parts = ["Generating"]
        if elapsed_s is not None:
            parts.append(f"{clock(elapsed_s)} elapsed")
        if eta_s is not None:
            parts.append(f"~{clock(eta_s)} left" if eta_s >= 1
                         else "taking longer than usual" if overdue else "almost done")
    elif phase in ("downloading", "decoding"):
        parts = [phase.capitalize() + (f" {percent}%" if percent is not None else "")]
    elif phase == "done":
        parts = ["Done" + (f" in {clock(elapsed_s)}" if elapsed_s is not None else "")]
    elif phase == "failed":
        parts = ["Failed" + (f": {message}" if message else "")]
        if request_id and request_id not in (message or ""):
            parts.append(f"request id {request_id}")
    elif phase in ("cancelled", "interrupted"):
        parts = [message or phase.capitalize()]
        if request_id and request_id not in (message or ""):
            parts.append(f"request id {request_id}")
    else:
        parts = [message or str(phase)]
    return " \u00b7 ".join(parts)


def clock(seconds: float) -> str:
    """``m:ss``, or ``h:mm:ss`` from one hour on (whole seconds, rounded down)."""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def short_id(request_id: str) -> str:
    return request_id if len(request_id) <= SHORT_ID_CHARS else request_id[:SHORT_ID_CHARS] + "\u2026"


def _text(value) -> str | None:
    return str(value) if value not in (None, "") else None


def _message(value) -> str | None:
    text = _text(value)
    if text is None:
        return None
    text = " ".join(text.split())
    return text if len(text) <= MAX_MESSAGE_CHARS else text[:MAX_MESSAGE_CHARS - 1] + "\u2026"


def _int(value) -> int | None:
    try:
        return None if value is None or isinstance(value, bool) else int(value)
    except (TypeError, ValueError):
        return None


def _number(value) -> float | None:
    """A finite float, or None for anything else (None, "", booleans, NaN, text)."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _seconds(value, digits: int | None = None) -> float | None:
    number = _number(value)
    if number is None:
        return None
    number = max(0.0, number)
    return number if digits is None else round(number, digits)


def _percent(value) -> int | None:
    number = _number(value)
    return None if number is None else int(max(0.0, min(100.0, number)))
