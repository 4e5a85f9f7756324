"""Reading the API's answers: JSON bodies, error codes, and the error type each one means.

Some RunComfy endpoints answer HTTP 200 with an ``error_code`` in the body, so every answer is
checked for one, whatever its HTTP status.

This is where API text enters the pack: the token in use is scrubbed from the whole decoded
answer here, and every piece of it quoted in an error passes ``redaction.network_text``.
"""
from __future__ import annotations

import json

import requests

from ..errors import (AuthenticationError, InputRejectedError, InsufficientBalanceError,
                     PermissionDeniedError, ProtocolError, RateLimitedError, RequestNotFoundError,
                     RunComfyError, ServerError, UnknownModelError)
from ..redaction import network_text, scrub

_BY_CODE = {
    400001: UnknownModelError,
    400002: InsufficientBalanceError,
    400004: AuthenticationError,
    401001: AuthenticationError,
    403001: PermissionDeniedError,
    404001: RequestNotFoundError,
    500001: ServerError,
}
_BY_HTTP = {401: AuthenticationError, 402: InsufficientBalanceError, 403: PermissionDeniedError,
            404: RequestNotFoundError}


def read_json(response: requests.Response, request_id: str | None = None, token: str | None = None) -> dict:
    """The answer's JSON object with ``token`` removed from every string, or the error it
    stands for (whose text never shows the token, URL credentials or signed queries)."""
    try:
        body = scrub(response.json(), token)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        if response.status_code >= 400:
            raise error_for(response.status_code, {}, request_id, response)
        snippet = network_text(response.text, token, limit=120)
        raise ProtocolError(f"The API answered HTTP {response.status_code} with a body that is not a "
                            f"JSON object: {snippet!r}", request_id=request_id)
    if body.get("error_code") not in (None, 0, "") or response.status_code >= 400:
        raise error_for(response.status_code, body, request_id, response, token)
    return body


def error_for(http_status: int, body: dict, request_id: str | None,
              response: requests.Response | None = None, token: str | None = None) -> RunComfyError:
    body = scrub(body, token)  # type: ignore[assignment]
    code = _as_int(body.get("error_code"))
    message = network_text(body.get("error_message") or body.get("message") or "", token)
    where = f"HTTP {http_status}" + (f", error_code {code}" if code else "")
    text = f"RunComfy API error ({where})" + (f": {message}" if message else "")
    if code == 422001 or http_status == 422:
        detail = _detail(body)
        return InputRejectedError(f"The API rejected the input ({where})", request_id=request_id,
                                  detail=network_text(detail, token, limit=1000) if detail else None)
    if code == 429 or http_status == 429:
        retry_after = response.headers.get("Retry-After") if response is not None else None
        return RateLimitedError(text, retry_after=_as_float(retry_after), request_id=request_id)
    cls = _BY_CODE.get(code) or _BY_HTTP.get(http_status)
    if cls is None:
        cls = ServerError if http_status >= 500 or http_status < 400 else RunComfyError
    return cls(text, request_id=request_id)


def _detail(body: dict) -> object:
    detail = body.get("detail")
    if isinstance(detail, list):
        parts = []
        for item in detail:
            if isinstance(item, dict):
                field = item.get("field") or ".".join(str(x) for x in item.get("loc", []) if x != "body")
                parts.append(f"{field}: {item.get('message') or item.get('msg') or item}")
            else:
                parts.append(str(item))
        return "; ".join(parts)
    if isinstance(detail, dict):
        return json.dumps(detail, ensure_ascii=False)
    return detail or body.get("error_message")


def _as_int(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _as_float(value: object) -> float | None:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
