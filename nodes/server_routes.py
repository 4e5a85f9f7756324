"""Small HTTP routes on ComfyUI's server for the pack's web extension.

    GET    /runcomfy/kling3/token          which token is in use: {configured, source, masked, ...}
    POST   /runcomfy/kling3/token {token}  save it (owner-only file), answer as GET
    DELETE /runcomfy/kling3/token          forget the saved token, answer as GET
    POST   /runcomfy/kling3/token/check    one authenticated read-only API call: valid/invalid/unreachable
    GET    /runcomfy/kling3/pricing        USD per second, with and without sound
    GET    /runcomfy/kling3/eta?duration=N typical generating seconds for N-second videos

ComfyUI also serves every route under ``/api``. The token only ever travels browser -> server:
no answer holds more than ``mask(token)``. Every route refuses cross-origin requests, and the
writing ones require a JSON content type (which a plain cross-site form cannot send), because
ComfyUI's own origin check only covers loopback hosts.

The handlers are thin; the logic is in plain functions that the tests call directly.
"""
from __future__ import annotations

import asyncio
import importlib
import json
import logging
import math
import os
import re
import threading
import time
from pathlib import Path
from typing import Callable, Mapping
from urllib.parse import urlsplit

import requests

from ..core.config import BASE_URL_ENV, DEFAULT_BASE_URL, ApiSettings, check_base_url, redact
from ..core.errors import ConfigurationError, InvalidInputError
from ..core.generation_times import GenerationTimes
from ..core.http_session import USER_AGENT, BearerAuth
from ..core.kling_request import (MAX_DURATION_S, MIN_DURATION_S, MODEL_ID, PRICE_PER_SECOND_USD,
                                  PRICE_PER_SECOND_WITH_SOUND_USD)
from ..core.token_store import TOKEN_ENVS, TokenStore, mask, resolve_token
from .comfy_bridge import TIMES_FILE, TOKEN_FILE, data_dir

log = logging.getLogger("runcomfy_kling3")

PREFIX = "/runcomfy/kling3"
CHECK_TIMEOUT = (5.0, 10.0)  # (connect, read) seconds: a button press, not a job
PRICING_TTL_S = 3600.0
PRICING_RETRY_S = 300.0      # after a failed price lookup, the defaults stand this long
MAX_BODY_BYTES = 16 * 1024
AUTH_ERROR_CODES = {400004, 401001}
_REGISTERED_FLAG = "_runcomfy_kling3_routes"


def user_dir() -> Path:
    """Where the pack keeps its state (token, generation times, job journal): ComfyUI's
    system-user folder ``user/__runcomfy``, which its ``/userdata`` routes never serve (unlike
    ``user/default``). One definition for the routes and the nodes: ``comfy_bridge.data_dir``.
    """
    return data_dir()


# --- logic (no aiohttp) -----------------------------------------------------------------------

def token_status(store: TokenStore, environ: Mapping[str, str]) -> dict:
    """What the settings entry shows: whether a token is set, where from, and its mask."""
    saved = store.load()
    token, source = resolve_token(saved, environ)
    sources = (["settings"] if saved else []) + [n for n in TOKEN_ENVS if (environ.get(n) or "").strip()]
    return {"configured": token is not None, "source": source, "masked": mask(token),
            # sources that hold a token too but are not used (the precedence explains why)
            "overridden": [s for s in sources if s != source]}


def api_base(environ: Mapping[str, str]) -> str:
    """The API base URL (``RUNCOMFY_API_BASE`` or the default); raises ``ConfigurationError``."""
    return check_base_url(environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL)


def _model_info_call(token: str, base: str, timeout) -> requests.Response:
    """``GET {base}/v1/models/{MODEL_ID}``: read-only, free, authenticated. One attempt, never
    redirected; the pack's ``BearerAuth`` adds the token for the API's origin only."""
    auth = BearerAuth(ApiSettings(base_url=base, token=token, token_source="settings route"))
    with requests.Session() as session:
        return session.get(f"{base}/v1/models/{MODEL_ID}", auth=auth, timeout=timeout, allow_redirects=False,
                           headers={"Accept": "application/json", "User-Agent": USER_AGENT})


def check_token(token: str | None, environ: Mapping[str, str], timeout=CHECK_TIMEOUT) -> dict:
    """``{"result": "valid"|"invalid"|"unreachable", "detail": str}`` after one API call."""
    if not token:
        return {"result": "invalid", "detail": "No API token is set: paste one above, or set "
                                               "RUNCOMFY_API_TOKEN before starting ComfyUI"}
    try:
        base = api_base(environ)
    except ConfigurationError as exc:
        return {"result": "unreachable", "detail": str(exc)}
    try:
        response = _model_info_call(token, base, timeout)
    except requests.RequestException as exc:
        return {"result": "unreachable", "detail": f"No answer from {base}: {_transport_reason(exc)}"}
    status, code = response.status_code, _error_code(response)
    if status in (401, 403) or code in AUTH_ERROR_CODES:
        return {"result": "invalid", "detail": f"The API refused this token (HTTP {status}"
                                               + (f", error_code {code})" if code else ")")}
    if 200 <= status < 300 and not code:
        return {"result": "valid", "detail": f"Accepted by {base}"}
    if status == 429:
        return {"result": "unreachable", "detail": "The API is rate limiting this account; try again in a minute"}
    # 5xx, an unexpected redirect or 404 (a wrong RUNCOMFY_API_BASE): the token was not judged.
    return {"result": "unreachable",
            "detail": redact(f"The API at {base} answered HTTP {status}"
                             + (f", error_code {code}" if code else "") + "; the token could not be checked", token)}


def default_pricing() -> dict:
    return {"per_second_usd": PRICE_PER_SECOND_USD,
            "per_second_with_sound_usd": PRICE_PER_SECOND_WITH_SOUND_USD, "source": "default"}


def parse_pricing(info: object) -> tuple[float, float] | None:
    """(without sound, with sound) USD per second from the model endpoint's answer, or None.

    Observed fields: ``base_price_usd`` (per ``price_unit``) and a free-text ``pricing_note``
    that may name the price with sound; without one, the published ratio (1.5x) applies.
    """
    if not isinstance(info, dict):
        return None
    for key in ("data", "model", "pricing"):  # tolerate one level of wrapping
        if "base_price_usd" not in info and isinstance(info.get(key), dict):
            info = info[key]
    base = _money(info.get("base_price_usd"))
    unit = str(info.get("price_unit") or "second").lower()
    if base is None or not re.search(r"sec(ond)?s?\b|^s$|/s\b", unit):
        return None
    with_sound = _sound_price(str(info.get("pricing_note") or ""))
    if with_sound is None or not base <= with_sound <= 10 * base:
        with_sound = base * PRICE_PER_SECOND_WITH_SOUND_USD / PRICE_PER_SECOND_USD
    return base, round(with_sound, 6)


_NUMBER = r"\$?\s*(\d+(?:\.\d+)?)\s*(?:usd|\$)?"
_SOUND_PATTERNS = (
    re.compile(_NUMBER + r"\s*(?:/|per)\s*(?:s|sec|second)\b[^.;]{0,30}?\b(?:with|incl\w*)\s+(?:sound|audio)", re.I),
    re.compile(r"\b(?:with|incl\w*)\s+(?:sound|audio)\b[^.;\d$]{0,30}" + _NUMBER, re.I),
)


def _sound_price(note: str) -> float | None:
    for pattern in _SOUND_PATTERNS:
        match = pattern.search(note)
        if match:
            return _money(match.group(1))
    return None


class PricingCache:
    """Prices from the API, looked up at most once an hour (and not again for five minutes
    after a failure), so opening a workflow never waits on the network twice."""

    def __init__(self, ttl_s: float = PRICING_TTL_S, retry_s: float = PRICING_RETRY_S,
                 timeout=CHECK_TIMEOUT, clock: Callable[[], float] = time.monotonic):
        self.ttl_s, self.retry_s, self.timeout, self._clock = ttl_s, retry_s, timeout, clock
        self._entries: dict[str, tuple[float, dict]] = {}
        self._lock = threading.Lock()

    def get(self, token: str | None, environ: Mapping[str, str]) -> dict:
        if not token:
            return default_pricing()
        try:
            base = api_base(environ)
        except ConfigurationError:
            return default_pricing()
        with self._lock:
            entry = self._entries.get(base)
        if entry is not None and entry[0] > self._clock():
            return dict(entry[1])
        prices = self._lookup(token, base)
        value = default_pricing() if prices is None else {
            "per_second_usd": prices[0], "per_second_with_sound_usd": prices[1], "source": "api"}
        with self._lock:
            self._entries[base] = (self._clock() + (self.retry_s if prices is None else self.ttl_s), value)
        return dict(value)

    def _lookup(self, token: str, base: str) -> tuple[float, float] | None:
        try:
            response = _model_info_call(token, base, self.timeout)
            if response.status_code != 200 or _error_code(response):
                return None
            return parse_pricing(response.json())
        except (requests.RequestException, ValueError) as exc:
            log.info("RunComfy: current prices unavailable (%s); using the published ones", type(exc).__name__)
            return None


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


def parse_duration(text: str | None) -> int | None:
    try:
        value = int(str(text).strip())
    except (TypeError, ValueError):
        return None
    return value if MIN_DURATION_S <= value <= MAX_DURATION_S else None


# --- aiohttp ----------------------------------------------------------------------------------

class RouteContext:
    """Where the routes keep their state; the tests give it a temporary folder and environment."""

    def __init__(self, state_dir: Callable[[], Path] = user_dir, environ: Mapping[str, str] | None = None,
                 pricing: PricingCache | None = None, check_timeout=CHECK_TIMEOUT):
        self._state_dir = state_dir
        self._environ = environ
        self.pricing = pricing or PricingCache()
        self.check_timeout = check_timeout

    @property
    def environ(self) -> Mapping[str, str]:
        return os.environ if self._environ is None else self._environ

    def token_store(self) -> TokenStore:
        return TokenStore(self._state_dir() / TOKEN_FILE)

    def times(self) -> GenerationTimes:
        return GenerationTimes(self._state_dir() / TIMES_FILE)

    def token(self) -> str | None:
        return resolve_token(self.token_store().load(), self.environ)[0]


def make_routes(context: RouteContext):
    """An ``aiohttp.web.RouteTableDef`` with the pack's routes bound to ``context``."""
    from aiohttp import web

    routes = web.RouteTableDef()

    def guarded(json_body: bool = False):
        def wrap(handler):
            async def guarded_handler(request: "web.Request"):
                if is_cross_origin(request.headers):
                    return web.json_response({"error": "Cross-origin request refused"}, status=403)
                if json_body and request.content_type != "application/json":
                    return web.json_response({"error": "Content-Type must be application/json"}, status=415)
                return await handler(request)
            guarded_handler.__name__ = handler.__name__
            return guarded_handler
        return wrap

    @routes.get(PREFIX + "/token")
    @guarded()
    async def get_token(request):
        return web.json_response(token_status(context.token_store(), context.environ))

    @routes.post(PREFIX + "/token")
    @guarded(json_body=True)
    async def save_token(request):
        raw = await _read_limited(request, MAX_BODY_BYTES)
        if raw is None:
            return web.json_response({"error": "Request body too large"}, status=413)
        try:
            body = json.loads(raw)
        except ValueError:
            return web.json_response({"error": "The body must be JSON: {\"token\": \"...\"}"}, status=400)
        if not isinstance(body, dict) or "token" not in body:
            return web.json_response({"error": "The body must be JSON: {\"token\": \"...\"}"}, status=400)
        store = context.token_store()
        try:
            store.save(body["token"])
        except InvalidInputError as exc:  # its message shows the mask, never the token
            return web.json_response({"error": str(exc)}, status=400)
        except OSError as exc:
            log.warning("RunComfy: could not save the API token to %s: %s", store.path, type(exc).__name__)
            return web.json_response({"error": f"Could not save the token ({type(exc).__name__}); "
                                               "check the permissions of ComfyUI's user directory"}, status=500)
        log.info("RunComfy: API token saved in ComfyUI's settings (%s)", mask(body["token"].strip()))
        return web.json_response(token_status(store, context.environ))

    @routes.delete(PREFIX + "/token")
    @guarded(json_body=True)
    async def delete_token(request):
        store = context.token_store()
        store.clear()
        return web.json_response(token_status(store, context.environ))

    @routes.post(PREFIX + "/token/check")
    @guarded(json_body=True)
    async def check_token_route(request):
        token = context.token()
        result = await asyncio.to_thread(check_token, token, context.environ, context.check_timeout)
        return web.json_response(result)

    @routes.get(PREFIX + "/pricing")
    @guarded()
    async def pricing(request):
        token = context.token()
        return web.json_response(await asyncio.to_thread(context.pricing.get, token, context.environ))

    @routes.get(PREFIX + "/eta")
    @guarded()
    async def eta(request):
        duration = parse_duration(request.query.get("duration"))
        if duration is None:
            return web.json_response({"error": f"duration must be an integer from {MIN_DURATION_S} "
                                               f"to {MAX_DURATION_S}"}, status=400)
        estimate = context.times().estimate(duration)
        return web.json_response({"eta_s": None if estimate is None else round(estimate, 1)})

    return routes


def register_routes() -> None:
    """Add the routes to ComfyUI's server; a no-op outside ComfyUI and on a second call."""
    try:
        server = importlib.import_module("server")
        instance = server.PromptServer.instance
        table = instance.routes
    except Exception:  # not inside ComfyUI (or no server yet)
        return
    if getattr(instance, _REGISTERED_FLAG, False):
        return
    for route in make_routes(RouteContext()):
        table.route(route.method, route.path)(route.handler)
    setattr(instance, _REGISTERED_FLAG, True)


# --- helpers ----------------------------------------------------------------------------------

async def _read_limited(request, limit: int) -> bytes | None:
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


def _error_code(response: requests.Response) -> int | None:
    """Some RunComfy endpoints answer HTTP 200 with an ``error_code`` in the body."""
    try:
        body = response.json()
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    try:
        code = int(body.get("error_code") or 0)
    except (TypeError, ValueError):
        return None
    return code or None


def _transport_reason(exc: requests.RequestException) -> str:
    if isinstance(exc, requests.Timeout):
        return "timed out"
    if isinstance(exc, requests.ConnectionError):
        return "connection failed"
    return type(exc).__name__


def _money(value: object) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and 0 < number < 100 else None
