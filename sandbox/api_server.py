"""The API origin: submit, status, result, cancel and model info, as documented, plus the
unauthenticated ``/_sandbox/...`` admin routes used by tests and local tools."""
from __future__ import annotations

import json
import re
import time
from urllib.parse import parse_qs, unquote

from . import admin_routes
from .http_common import SandboxHandler, base_url
from .jobs import CANCELLED, COMPLETED, EXPIRED, FAILED, IN_QUEUE, Job
from .jobs import PRICE_PER_SECOND, iso_time
from .request_log import Submission
from .state import NO_BALANCE_TOKENS, USERS
from .validation import MODEL_ID, validate_input

_REQUEST_ROUTE = re.compile(r"^/v1/requests/([^/]+)/(status|result|cancel)$")
NO_BALANCE_USERS = {USERS[token] for token in NO_BALANCE_TOKENS}
_ROUTE_METHODS = {"status": "GET", "result": "GET", "cancel": "POST"}


class ApiHandler(SandboxHandler):
    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    # --- routing ------------------------------------------------------------------------------
    def _dispatch(self) -> None:
        try:
            body = self.read_body()
        except ValueError as exc:
            self.close_connection = True
            self.send_api_error(413, 413, f"Request body rejected: {exc}")
            return
        path = unquote(self.url_path)
        if path.startswith("/_sandbox/"):
            admin_routes.handle(self, path, body)
            return
        self.start_record(body)
        route, arg = self._route(path)
        if route is None:
            self.send_api_error(404, 404, f"No such route: {self.command} {path}")
            return
        if route == "method":
            self.send_api_error(405, 405, f"Method {self.command} not allowed on {path}")
            return

        fault = self.server.state.faults.take(route)
        if fault is not None and self.answer_fault(fault):
            return
        delay = float(fault.param("delay", 1.0)) if fault and fault.kind == "slow" else 0.0
        if delay and route != "submit":
            time.sleep(delay)      # the answer reflects the state after the delay
        user = self._authenticate()
        if user is None:
            return
        if route == "submit":
            self._submit(arg, user, body, fault, delay)
        elif route == "model":
            self._model(arg)
        else:
            job = self._own_job(arg, user)
            if job is not None:
                getattr(self, f"_{route}")(job)

    def _route(self, path: str) -> tuple[str | None, str | None]:
        if path.startswith("/v1/models/"):
            model_id = path[len("/v1/models/"):]
            if self.command == "POST":
                return "submit", model_id
            return ("model", model_id) if self.command == "GET" else ("method", None)
        match = _REQUEST_ROUTE.match(path)
        if match:
            request_id, action = match.groups()
            if self.command != _ROUTE_METHODS[action]:
                return "method", None
            return action, request_id
        return None, None

    def _authenticate(self) -> str | None:
        header = self.headers.get("Authorization")
        scheme, _, token = (header or "").strip().partition(" ")
        token = token.strip()
        if not header or scheme.lower() != "bearer" or not token or " " in token:
            self.send_api_error(401, 401001, "Unauthorized: send 'Authorization: Bearer <token>'")
            return None
        user = USERS.get(token)
        if user is None:
            self.send_api_error(401, 400004, "Invalid or expired API token")
        return user

    def _own_job(self, request_id: str, user: str) -> Job | None:
        job = self.server.state.jobs.get(request_id)
        if job is None or job.status()[0] == EXPIRED:
            self.send_api_error(404, 404001, f"Request {request_id} not found: unknown, "
                                             "deleted or expired")
            return None
        if job.owner != user:
            self.send_api_error(403, 403001, f"Request {request_id} belongs to another user")
            return None
        return job

    # --- routes -------------------------------------------------------------------------------
    def _submit(self, model_id: str, user: str, raw: bytes, fault, delay: float) -> None:
        state = self.server.state
        if model_id != MODEL_ID:
            self.send_api_error(400, 400001, f"Unknown model id {model_id!r}")
            return
        try:
            body = json.loads(raw) if raw else None
        except ValueError as exc:
            self.send_api_error(422, 422001, "Input failed validation",
                                [{"field": "body", "message": f"is not valid JSON: {exc}"}])
            return
        problems = validate_input(body)
        if problems:
            self.send_api_error(422, 422001, "Input failed validation", problems)
            return
        if user in NO_BALANCE_USERS:
            self.send_api_error(402, 400002, "Insufficient balance: add credits to run this model")
            return

        job = state.jobs.create(user, body, state.settings)
        state.log.add_submission(Submission(body, request_id=job.request_id, owner=user,
                                            time=time.monotonic()))
        if job.settings.job_outcome == COMPLETED and job.settings.media == "clip":
            state.clips.prepare(state.clip_spec(job))
        if fault is not None and fault.kind == "drop_after_accept":
            self.drop()
            return
        if delay:
            time.sleep(delay)
        # settings.submit_request_id: a hostile id, with the URLs a hostile API would build
        answered = job.settings.submit_request_id
        answered = job.request_id if answered is None else answered
        self.send_json(200, {"request_id": answered, **self._urls(answered)})

    def _model(self, model_id: str) -> None:
        if model_id != MODEL_ID:
            self.send_api_error(400, 400001, f"Unknown model id {model_id!r}")
            return
        self.send_json(200, {"model_id": MODEL_ID, "base_price_usd": PRICE_PER_SECOND,
                             "price_unit": "second",
                             "pricing_note": "0.168 per second with sound"})

    def _status(self, job: Job) -> None:
        self.send_json(200, self._status_body(job))

    def _result(self, job: Job) -> None:
        status, _ = job.status()
        if status in (FAILED, CANCELLED):
            self.send_json(200, self._finished_body(job, status))
            return
        if status != COMPLETED:
            self.send_json(200, self._status_body(job))
            return
        payload = self._finished_body(job, status)
        payload["output"] = {"video": self._video_url(job)}
        include_cost = parse_qs(self.url_query).get("include_cost", [""])[-1]
        if include_cost.lower() in ("true", "1", "yes"):
            payload["cost"] = job.cost
        self.send_json(200, payload)

    def _cancel(self, job: Job) -> None:
        outcome = self.server.state.jobs.cancel(job)
        self.send_json(200, {"request_id": job.request_id, "outcome": outcome})

    # --- shapes -------------------------------------------------------------------------------
    def _urls(self, request_id: str) -> dict:
        root = f"{base_url(self.public_host(), self.server.server_address[1])}" \
               f"/v1/requests/{request_id}"
        return {"status_url": f"{root}/status", "result_url": f"{root}/result",
                "cancel_url": f"{root}/cancel"}

    def _status_body(self, job: Job) -> dict:
        status, position = job.status()
        urls = self._urls(job.request_id)
        payload = {"request_id": job.request_id, "status": _spelled(job, status),
                   "status_url": urls["status_url"], "result_url": urls["result_url"]}
        if status == IN_QUEUE:
            payload["queue_position"] = position
        _add_reason(payload, job, status, "status")
        return payload

    def _finished_body(self, job: Job, status: str) -> dict:
        """The result answer of a finished job, without its output."""
        answered = job.settings.result_request_id
        payload = {"request_id": job.request_id if answered is None else answered,
                   "status": _spelled(job, status),
                   "created_at": iso_time(job.submitted_wall),
                   "finished_at": iso_time(job.finished_wall if status != CANCELLED
                                           else job.cancelled_wall)}
        _add_reason(payload, job, status, "result")
        return payload

    def _video_url(self, job: Job) -> str:
        state = self.server.state
        files_base = base_url(self.public_host(), state.files_port)
        file_url = f"{files_base}/files/{job.request_id}/{state.file_name(job)}"
        chosen = job.settings.video_url
        if chosen is None:
            return file_url
        return (chosen.replace("{file_url}", file_url).replace("{files_base}", files_base)
                .replace("{request_id}", job.request_id))


_ALTERNATE_SPELLING = {COMPLETED: "succeeded", CANCELLED: "canceled"}


def _spelled(job: Job, status: str) -> str:
    if job.settings.status_spelling == "alternate":
        return _ALTERNATE_SPELLING.get(status, status)
    return status


def _add_reason(payload: dict, job: Job, status: str, answer: str) -> None:
    """Put the job's failure/cancel reason in ``payload`` if settings say this answer has it."""
    settings = job.settings
    reason = (settings.failure_error if status == FAILED
              else settings.cancel_error if status == CANCELLED else None)
    if reason is not None and settings.failure_error_in in (answer, "both"):
        payload["error"] = reason
