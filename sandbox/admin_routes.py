"""``/_sandbox/...``: control the sandbox over HTTP (from another process, a demo, curl).

GET/POST ``settings`` (POST a JSON object of settings to change), GET/POST ``faults`` (POST
``{"route", "kind", "count", ...params}`` or ``{"clear": true}``), POST ``expire/<id>``,
GET ``jobs/<id>``, POST ``reset``, GET ``requests``, GET ``capabilities`` (fault kinds and their
routes, the default settings, the crafted media names).

No token, and not recorded in the request log; only answered to loopback clients, because
anyone who can reach them can reshape the sandbox.
"""
from __future__ import annotations

import json

from .faults import KINDS, ROUTES
from .http_common import is_loopback
from .media_names import CRAFTED_MEDIA_DESCRIPTIONS


def handle(handler, path: str, raw: bytes) -> None:
    state = handler.server.state
    if not is_loopback(handler.client_address[0]):
        handler.send_api_error(403, 403, "Sandbox admin routes answer loopback clients only")
        return
    try:
        body = json.loads(raw) if raw else {}
    except ValueError as exc:
        handler.send_api_error(400, 400, f"Admin body is not JSON: {exc}")
        return
    method, action = handler.command, path[len("/_sandbox/"):].strip("/")
    try:
        if action == "faults" and method == "GET":
            handler.send_json(200, {"faults": state.faults.pending()})
        elif action == "faults" and method == "POST":
            if not isinstance(body, dict):
                raise ValueError("faults: body must be a JSON object")
            if body.get("clear"):
                state.faults.clear()
            else:
                body = dict(body)
                state.faults.add(body.pop("route", None), body.pop("kind", None),
                                 body.pop("count", 1), **body)
            handler.send_json(200, {"faults": state.faults.pending()})
        elif action == "settings" and method == "GET":
            handler.send_json(200, state.settings.as_dict())
        elif action == "settings" and method == "POST":
            state.settings.update(body)
            handler.send_json(200, state.settings.as_dict())
        elif action.startswith("expire/") and method == "POST":
            request_id = action[len("expire/"):]
            if state.expire(request_id):
                handler.send_json(200, {"request_id": request_id, "expired": True})
            else:
                handler.send_api_error(404, 404001, f"Request {request_id} not found")
        elif action.startswith("jobs/") and method == "GET":
            view = state.job_view(action[len("jobs/"):])
            if view is None:
                handler.send_api_error(404, 404001, f"Request {action[5:]} not found")
            else:
                handler.send_json(200, view)
        elif action == "reset" and method == "POST":
            state.reset()
            handler.send_json(200, {"reset": True})
        elif action == "capabilities" and method == "GET":
            handler.send_json(200, {"fault_kinds": {kind: list(routes or ROUTES)
                                                    for kind, routes in KINDS.items()},
                                    "settings": state.initial_settings.as_dict(),
                                    "media": CRAFTED_MEDIA_DESCRIPTIONS})
        elif action == "requests" and method == "GET":
            handler.send_json(200, {"requests": [r.as_dict() for r in state.log.requests]})
        else:
            handler.send_api_error(404, 404, f"No admin route {method} {path}")
    except (ValueError, TypeError, AttributeError) as exc:
        handler.send_api_error(400, 400, str(exc))
