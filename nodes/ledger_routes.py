"""The routes behind the history panel and the budget settings (see nodes/server_routes.py for
the guards every route passes):

    GET  /runcomfy/kling3/history?limit=N&before=ID   ledger lines newest first, totals, budgets
    POST /runcomfy/kling3/history/resolve {id, request_id|null}   settle an unknown outcome
    GET  /runcomfy/kling3/budget                     budgets in force and where each comes from
    POST /runcomfy/kling3/budget {daily_usd, monthly_usd, keep_days, max_parallel}   save them
    GET  /runcomfy/kling3/video?request_id=ID        the cached mp4 of a request, to play it

The ledger's lines never carry a path of the machine: only whether the video is cached.
"""
from __future__ import annotations

import asyncio
from pathlib import Path

from ..core.api.handle import is_request_id
from ..core.errors import RunComfyError
from ..core.slots import parse_limit, read_limit, save_limit
from ..core.spend_guard import KEEP_DAYS_ENV, keep_days, parse_usd, read_budgets, save_budget, save_keep_days
from ..core.store.ledger import Ledger

MAX_LINES = 200


def history(context, limit: int, before: int | None) -> dict:
    state = context.state()
    ledger = Ledger(state.database())
    ledger.prune_if_due(keep_days(state.database(), context.environ))
    lines = ledger.lines(limit, before)
    for line in lines:
        path = line.pop("video_path", None)
        line["video_cached"] = bool(line["request_id"] and path and Path(path).is_file())
    return {"lines": lines, "totals": ledger.totals(), **budget_status(context)}


def budget_status(context) -> dict:
    state = context.state()
    budgets = read_budgets(state.database(), context.environ)
    limit, source = read_limit(state.database(), context.environ)
    return {"budgets": {b.period: {"usd": b.usd, "source": b.source} for b in budgets},
            "keep_days": keep_days(state.database(), context.environ),
            "keep_days_source": KEEP_DAYS_ENV if (context.environ.get(KEEP_DAYS_ENV) or "").strip() else None,
            "max_parallel": {"jobs": limit, "source": source}}


def save_budgets(context, body: dict) -> dict:
    database = context.state().database()
    for period in ("daily", "monthly"):
        name = f"{period}_usd"
        if name in body:
            save_budget(database, period, parse_usd(body[name], name))
    if "keep_days" in body:
        save_keep_days(database, parse_usd(body["keep_days"], "keep_days"))
    if "max_parallel" in body:  # jobs in flight at once (core/slots.py); null: the default
        save_limit(database, parse_limit(body["max_parallel"], "max_parallel"))
    return budget_status(context)


def add_ledger_routes(routes, context, guarded, prefix: str, read_body) -> None:
    from aiohttp import web

    def fail(exc: RunComfyError, status: int = 400):
        return web.json_response({"error": str(exc)}, status=status)

    @routes.get(prefix + "/history")
    @guarded()
    async def get_history(request):
        try:
            limit = max(1, min(MAX_LINES, int(request.query.get("limit", "50"))))
            before = int(request.query["before"]) if request.query.get("before") else None
        except ValueError:
            return web.json_response({"error": "limit and before must be whole numbers"}, status=400)
        try:
            return web.json_response(await asyncio.to_thread(history, context, limit, before))
        except RunComfyError as exc:
            return fail(exc, 500)

    @routes.post(prefix + "/history/resolve")
    @guarded(json_body=True)
    async def resolve(request):
        body = await read_body(request)
        line_id = body.get("id") if isinstance(body, dict) else None
        request_id = body.get("request_id") if isinstance(body, dict) else None
        if isinstance(line_id, bool) or not isinstance(line_id, int) or not (
                request_id is None or (isinstance(request_id, str) and is_request_id(request_id.strip()))):
            return web.json_response({"error": "The body must be {\"id\": <line>, \"request_id\": <RunComfy "
                                               "request id, or null for never created>}"}, status=400)
        ledger = Ledger(context.state().database())
        line = await asyncio.to_thread(ledger.resolve, line_id, request_id.strip() if request_id else None)
        if line is None:
            return web.json_response({"error": "No record of unknown outcome with that id"}, status=404)
        return web.json_response({"line": line})

    @routes.get(prefix + "/budget")
    @guarded()
    async def get_budget(request):
        try:
            return web.json_response(await asyncio.to_thread(budget_status, context))
        except RunComfyError as exc:
            return fail(exc)

    @routes.post(prefix + "/budget")
    @guarded(json_body=True)
    async def post_budget(request):
        body = await read_body(request)
        if not isinstance(body, dict):
            return web.json_response({"error": "The body must be a JSON object"}, status=400)
        try:
            return web.json_response(await asyncio.to_thread(save_budgets, context, body))
        except RunComfyError as exc:
            return fail(exc)

    @routes.get(prefix + "/video")
    @guarded()
    async def video(request):
        request_id = request.query.get("request_id", "")
        if not is_request_id(request_id):
            return web.json_response({"error": "request_id is not a RunComfy request id"}, status=400)
        hit = await asyncio.to_thread(context.state().results().get, request_id)
        if hit is None:
            return web.json_response({"error": "That video is not in the local cache"}, status=404)
        return web.FileResponse(hit.path, headers={"Content-Type": "video/mp4", "Cache-Control": "no-store"})
