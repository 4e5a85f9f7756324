"""Which requests the pack's routes answer, and how they read a body (no aiohttp here).

Three checks, in this order:

- **Host** (DNS rebinding): while ComfyUI listens on loopback addresses only (its default), a
  browser can reach it only as ``localhost``, ``127.x.x.x`` or ``[::1]``. A page on
  ``rebind.example`` whose name was made to resolve to 127.0.0.1 is same-origin with itself, so
  its ``Origin`` matches its ``Host``; only the ``Host`` name gives it away. With ``--listen`` on
  another address (remote and hosted machines) any name may be right, and the origin check alone
  applies.
- **Origin**: refuse cross-origin browser requests (ComfyUI's own check covers loopback hosts only).
- **Content type**: writes need ``application/json``, which a plain cross-site form cannot send.
"""
from __future__ import annotations

import json
import re
from typing import Iterable, Mapping
from urllib.parse import urlsplit

from ..core.api.settings import is_loopback_host

#: a Host header: a name or IPv4 address, or a bracketed IPv6 address, and an optional port
_HOST_HEADER = re.compile(r"(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<name>[A-Za-z0-9.-]+))(?::(?P<port>[0-9]{1,5}))?")

HOST_REFUSED = ("Refused: this ComfyUI listens on a loopback address only, so it must be opened as "
                "localhost, 127.0.0.1 or [::1] (a page on another name may be a DNS rebinding attack)")
CROSS_ORIGIN_REFUSED = "Cross-origin request refused"
NOT_JSON = "Content-Type must be application/json"


def listens_on_loopback_only(addresses: Iterable[str]) -> bool:
    """True when every address ComfyUI listens on is a loopback one ("127.0.0.1" by default);
    "0.0.0.0", "::", "" (all interfaces) or a LAN address make it reachable under other names."""
    addresses = [a.strip() for a in addresses]
    return bool(addresses) and all(is_loopback_host(a) for a in addresses)


def is_loopback_host_header(host: str | None) -> bool:
    """True for ``localhost``, an address in 127.0.0.0/8 or ``[::1]``, with or without a port."""
    match = _HOST_HEADER.fullmatch((host or "").strip())
    if match is None:
        return False
    return is_loopback_host(match.group("v6") or match.group("name"))


def is_cross_origin(headers: Mapping[str, str]) -> bool:
    """True when a browser sent this request from another origin than ComfyUI's own page."""
    if (headers.get("Sec-Fetch-Site") or "").lower() == "cross-site":
        return True
    origin = headers.get("Origin")
    if origin is None:
        return False  # not a cross-origin browser request (browsers always send Origin then)
    host = (headers.get("Host") or "").strip()
    parsed = urlsplit(origin.strip())
    if parsed.scheme not in ("http", "https") or not parsed.hostname or not host:
        return True  # "Origin: null" (sandboxed frames, file://) or no Host to compare with
    default_port = 443 if parsed.scheme == "https" else 80
    target = urlsplit("//" + host)
    try:
        origin_key = (parsed.hostname.lower(), parsed.port or default_port)
        host_key = ((target.hostname or "").lower(), target.port or default_port)
    except ValueError:  # a malformed port
        return True
    return origin_key != host_key


def refusal(headers: Mapping[str, str], content_type: str, loopback_only: bool,
            json_body: bool = False) -> tuple[int, str] | None:
    """``(status, message)`` when the request must be refused, else None."""
    if loopback_only and not is_loopback_host_header(headers.get("Host")):
        return 403, HOST_REFUSED
    if is_cross_origin(headers):
        return 403, CROSS_ORIGIN_REFUSED
    if json_body and content_type != "application/json":
        return 415, NOT_JSON
    return None


def parse_json(raw: bytes) -> object:
    """The decoded body; ``ValueError`` for anything that is not JSON, a nesting bomb included
    (``json`` raises ``RecursionError`` for deeply nested arrays, which would otherwise end as a
    500 with a traceback)."""
    try:
        return json.loads(raw)
    except (ValueError, TypeError, RecursionError):
        raise ValueError("not JSON") from None


async def read_limited(request, limit: int) -> bytes | None:
    """The body, or None past ``limit`` bytes (ComfyUI allows uploads of many megabytes)."""
    if (request.content_length or 0) > limit:
        return None
    data = b""
    while True:
        chunk = await request.content.read(limit + 1 - len(data))
        if not chunk:
            return data
        data += chunk
        if len(data) > limit:
            return None
