"""Small HTTP routes on ComfyUI's server for the pack's web extension.

    GET    /runcomfy/kling3/token          which token is in use: {configured, source, masked, ...}
    POST   /runcomfy/kling3/token {token}  save it (owner-only file), answer as GET
    DELETE /runcomfy/kling3/token          forget the saved token, answer as GET
    POST   /runcomfy/kling3/token/check    one authenticated read-only API call: valid/invalid/unreachable
    GET    /runcomfy/kling3/pricing        USD per second, with and without sound
    GET    /runcomfy/kling3/eta?duration=N typical generating seconds for N-second videos
    ... and the history panel's and budget routes (nodes/ledger_routes.py)

ComfyUI also serves every route under ``/api``. The token only ever travels browser -> server:
no answer holds more than ``mask(token)``. Every route refuses other host names while ComfyUI
listens on loopback only (DNS rebinding) and cross-origin requests, and the writing ones require
a JSON content type (``route_guards``). File work (the token's fsync) and API calls run off the
event loop, so a slow disk or API never stalls ComfyUI's other requests.

The handlers are thin; the logic is in plain functions that the tests call directly.
"""
from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path
from typing import Callable, Iterable, Mapping

from ..core.api.client import RunComfyClient
from ..core.api.session import transport_cause
from ..core.api.settings import TOKEN_ENVS, ApiSettings, load_settings, resolve_token
from ..core.errors import (ApiUnreachableError, AuthenticationError, ConfigurationError, InvalidInputError,
                           MissingTokenError, PermissionDeniedError, RateLimitedError, RunComfyError, StateFileError,
                           refused_token_advice)
from ..core.kling.pricing import SHARED, PricingCache
from ..core.kling.request import MAX_DURATION_S, MIN_DURATION_S, MODEL_ID
from ..core.redaction import mask, redact
from ..core.store.folder import StateFolder
from ..core.store.timings import GenerationTimes
from ..core.store.token_file import TokenStore
from .comfy_bridge import data_dir, listen_addresses, prompt_server, route_table
from .ledger_routes import add_ledger_routes
from .route_guards import listens_on_loopback_only, parse_json, read_limited, refusal

log = logging.getLogger("runcomfy_kling3")

PREFIX = "/runcomfy/kling3"
CHECK_TIMEOUT = (5.0, 10.0)  # (connect, read) seconds: a button press, not a job
MAX_BODY_BYTES = 16 * 1024
_REGISTERED_FLAG = "_runcomfy_kling3_routes"


# --- logic (no aiohttp) -----------------------------------------------------------------------

def token_status(store: TokenStore, environ: Mapping[str, str]) -> dict:
    """What the settings entry shows: whether a token is set, where from, and its mask."""
    try:
        saved = store.load()
    except StateFileError as exc:  # a damaged token file: say so, never fall back silently
        return {"configured": False, "source": "settings", "masked": "", "overridden": [], "error": str(exc)}
    token, source = resolve_token(saved, environ)
    sources = (["settings"] if saved else []) + [n for n in TOKEN_ENVS if (environ.get(n) or "").strip()]
    return {"configured": token is not None, "source": source, "masked": mask(token),
            # sources that hold a token too but are not used (the precedence explains why)
            "overridden": [s for s in sources if s != source]}


def model_info_once(settings: ApiSettings, timeout) -> dict:
    """``GET /v1/models/{MODEL_ID}``: read-only, free, authenticated; the client's typed errors.
    One attempt with a short timeout: someone is waiting on a button or a page."""
    with RunComfyClient(settings, attempts=0, read_timeout=timeout) as client:
        return client.model_info(MODEL_ID)


def check_token(saved_token: str | None, environ: Mapping[str, str], timeout=CHECK_TIMEOUT) -> dict:
    """``{"result": "valid"|"invalid"|"unreachable", "detail": str}`` after one API call with the
    token in use (the saved one, else the environment's)."""
    try:
        settings = load_settings(saved_token, environ)
    except MissingTokenError:
        return {"result": "invalid", "detail": "No API token is set: paste one above, or set "
                                               "RUNCOMFY_API_TOKEN before starting ComfyUI"}
    except ConfigurationError as exc:
        return {"result": "unreachable", "detail": str(exc)}
    base = settings.base_url
    try:
        model_info_once(settings, timeout)
    except (AuthenticationError, PermissionDeniedError) as exc:
        # the advice names the source in use: the saved token comes before the variables
        where = "saved in Settings" if settings.token_source == "settings" else f"from {settings.token_source}"
        return {"result": "invalid", "detail": redact(f"The API refused the token {where}: {exc.reason}. "
                                                      f"{refused_token_advice(settings.token_source)}", settings.token)}
    except RateLimitedError:
        return {"result": "unreachable", "detail": "The API is rate limiting this account; try again in a minute"}
    except ApiUnreachableError as exc:
        return {"result": "unreachable", "detail": f"No answer from {base}: {_short_cause(exc)}"}
    except RunComfyError as exc:
        # 5xx, an unreadable answer or 404 (a wrong RUNCOMFY_API_BASE): the token was not judged.
        return {"result": "unreachable",
                "detail": redact(f"The API at {base} could not check the token: {exc.reason}", settings.token)}
    return {"result": "valid", "detail": f"Accepted by {base}"}


def parse_duration(text: str | None) -> int | None:
    try:
        value = int(str(text).strip())
    except (TypeError, ValueError):
        return None
    return value if MIN_DURATION_S <= value <= MAX_DURATION_S else None


# --- aiohttp ----------------------------------------------------------------------------------

class RouteContext:
    """Where the routes keep their state; the tests give it a temporary folder and environment."""

    def __init__(self, state_dir: Callable[[], Path] = data_dir, environ: Mapping[str, str] | None = None,
                 pricing: PricingCache | None = None, check_timeout=CHECK_TIMEOUT,
                 listen: Iterable[str] | None = None):
        self._state_dir = state_dir
        self._environ = environ
        #: the addresses ComfyUI listens on; None: its ``--listen`` (``comfy_bridge.listen_addresses``)
        self.listen = None if listen is None else tuple(listen)
        #: the process's one price table (the pipeline reads the same), unless a test gives its own
        self.pricing = SHARED if pricing is None else pricing
        self.check_timeout = check_timeout

    @property
    def environ(self) -> Mapping[str, str]:
        return os.environ if self._environ is None else self._environ

    def state(self) -> StateFolder:
        return StateFolder(self._state_dir())

    def token_store(self) -> TokenStore:
        return self.state().tokens()

    def times(self) -> GenerationTimes:
        return StateFolder(self._state_dir()).timings()

    def loopback_only(self) -> bool:
        """True while ComfyUI listens on loopback addresses only (then other Host names are refused)."""
        return listens_on_loopback_only(listen_addresses() if self.listen is None else self.listen)

    def status(self) -> dict:
        return token_status(self.token_store(), self.environ)

    def check(self) -> dict:
        try:
            saved = self.token_store().load()
        except StateFileError as exc:
            return {"result": "invalid", "detail": str(exc)}
        return check_token(saved, self.environ, self.check_timeout)

    def prices(self) -> dict:
        settings = self.api_settings()
        if settings is None:
            return self.pricing.get(None)
        return self.pricing.get(settings.base_url, lambda: model_info_once(settings, CHECK_TIMEOUT))

    def api_settings(self) -> ApiSettings | None:
        """Base URL and the token in use; None without a token or with a bad base URL."""
        try:
            return load_settings(self.token_store().load(), self.environ)
        except ConfigurationError:
            return None


def make_routes(context: RouteContext):
    """An ``aiohttp.web.RouteTableDef`` with the pack's routes bound to ``context``."""
    from aiohttp import web

    routes = web.RouteTableDef()

    def guarded(json_body: bool = False):
        def wrap(handler):
            async def guarded_handler(request: "web.Request"):
                refused = refusal(request.headers, request.content_type, context.loopback_only(), json_body)
                if refused is not None:
                    return web.json_response({"error": refused[1]}, status=refused[0])
                return await handler(request)
            guarded_handler.__name__ = handler.__name__
            return guarded_handler
        return wrap

    @routes.get(PREFIX + "/token")
    @guarded()
    async def get_token(request):
        return web.json_response(await asyncio.to_thread(context.status))

    @routes.post(PREFIX + "/token")
    @guarded(json_body=True)
    async def save_token(request):
        raw = await read_limited(request, MAX_BODY_BYTES)
        if raw is None:
            return web.json_response({"error": "Request body too large"}, status=413)
        try:
            body = parse_json(raw)
        except ValueError:
            body = None
        if not isinstance(body, dict) or "token" not in body:
            return web.json_response({"error": "The body must be JSON: {\"token\": \"...\"}"}, status=400)
        store = context.token_store()
        try:
            await asyncio.to_thread(store.save, body["token"])  # its fsync can take seconds
        except InvalidInputError as exc:  # its message shows the mask, never the token
            return web.json_response({"error": str(exc)}, status=400)
        except OSError as exc:
            log.warning("RunComfy: could not save the API token to %s: %s", store.path, type(exc).__name__)
            return web.json_response({"error": f"Could not save the token ({type(exc).__name__}); "
                                               "check the permissions of ComfyUI's user directory"}, status=500)
        log.info("RunComfy: API token saved in ComfyUI's settings (%s)", mask(body["token"].strip()))
        return web.json_response(await asyncio.to_thread(context.status))

    @routes.delete(PREFIX + "/token")
    @guarded(json_body=True)
    async def delete_token(request):
        store = context.token_store()
        try:
            await asyncio.to_thread(store.clear)
        except OSError as exc:
            log.warning("RunComfy: could not delete the saved API token %s: %s", store.path, type(exc).__name__)
            return web.json_response({"error": f"Could not delete the saved token ({type(exc).__name__}); "
                                               "check the permissions of ComfyUI's user directory"}, status=500)
        return web.json_response(await asyncio.to_thread(context.status))

    @routes.post(PREFIX + "/token/check")
    @guarded(json_body=True)
    async def check_token_route(request):
        return web.json_response(await asyncio.to_thread(context.check))

    @routes.get(PREFIX + "/pricing")
    @guarded()
    async def pricing(request):
        return web.json_response(await asyncio.to_thread(context.prices))

    @routes.get(PREFIX + "/eta")
    @guarded()
    async def eta(request):
        duration = parse_duration(request.query.get("duration"))
        if duration is None:
            return web.json_response({"error": f"duration must be an integer from {MIN_DURATION_S} "
                                               f"to {MAX_DURATION_S}"}, status=400)
        estimate = await asyncio.to_thread(lambda: context.times().estimate(duration))
        return web.json_response({"eta_s": None if estimate is None else round(estimate, 1)})

    async def read_body(request):
        raw = await read_limited(request, MAX_BODY_BYTES)
        try:
            return None if raw is None else parse_json(raw)
        except ValueError:
            return None

    add_ledger_routes(routes, context, guarded, PREFIX, read_body)
    return routes


def register_routes() -> None:
    """Add the routes to ComfyUI's server; a no-op outside ComfyUI and on a second call."""
    instance, table = prompt_server(), route_table()
    if instance is None or table is None:  # not inside ComfyUI (or no server yet)
        return
    if getattr(instance, _REGISTERED_FLAG, False):
        return
    for route in make_routes(RouteContext()):
        table.route(route.method, route.path)(route.handler)
    setattr(instance, _REGISTERED_FLAG, True)


# --- helpers ----------------------------------------------------------------------------------

def _short_cause(exc: ApiUnreachableError) -> str:
    """The client's short description of the transport error that the ``ApiUnreachableError``
    replaced ("timed out", "connection refused", ...), without the exception type in front."""
    transport = exc.__context__
    return transport_cause(transport).rpartition(": ")[2] if transport is not None else exc.reason
