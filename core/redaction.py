"""Keeping secrets out of every text the pack produces: masks for display, and one redaction for
everything that came over the network before it reaches an exception, a log line or a status.

Network text (API error messages, failure reasons, bodies that are not JSON, result URLs) may
echo the ``Authorization`` header (a careless API or proxy), carry credentials in a URL's
userinfo, or a signed URL whose query is the credential. ``network_text`` removes all three and
bounds the length; ``scrub`` removes the token from a whole decoded JSON answer at the point it
is read, so nothing downstream ever sees it.
"""
from __future__ import annotations

import json
import logging
import re
from urllib.parse import quote, quote_plus, urlsplit

_MASK_PREFIX = "\u2022" * 4  # "••••"
REDACTED = "<redacted>"
#: longest piece of network text shown in a message or log line
MAX_NETWORK_CHARS = 300
MAX_URL_CHARS = 160
# "Bearer <anything>" (and a Basic credential) whatever the token: a proxy may echo one we do not know
_CREDENTIAL = re.compile(r"(?i)\b(?:(?P<bearer>bearer)(?:\s+|%20|\+)[^\s\"'<>,;&)]+"
                         r"|(?P<basic>basic)(?:\s+|%20|\+)[A-Za-z0-9+/=]{8,})")
# absolute URLs, and scheme-only ones such as data: and file:
_URL = re.compile(r"(?i)\b[a-z][a-z0-9+.-]{1,15}:(?://)?[^\s\"'<>]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def mask(token: str | None) -> str:
    """``"••••abcd"``: at most the last 4 characters, fewer for short tokens, "" for none."""
    if not token:
        return ""
    shown = min(4, len(token) // 4)
    return _MASK_PREFIX + (token[-shown:] if shown else "")


def secret_forms(secret: str) -> list[str]:
    """The ways a secret may be echoed: as is, URL-encoded, JSON-escaped; longest first."""
    forms = {secret, quote(secret, safe=""), quote_plus(secret, safe=""), quote(secret),
             json.dumps(secret)[1:-1], json.dumps(secret)[1:-1].replace("/", "\\/")}
    return sorted(forms, key=len, reverse=True)


def redact(text: str, *secrets: str | None) -> str:
    """``text`` with every secret (in every form it may be echoed in) replaced."""
    for secret in secrets:
        if secret:
            for form in secret_forms(secret):
                text = text.replace(form, REDACTED)
    return text


def scrub(value: object, *secrets: str | None) -> object:
    """A decoded JSON value with every secret removed from its strings (keys too)."""
    if not any(secrets):
        return value
    if isinstance(value, str):
        return redact(value, *secrets)
    if isinstance(value, dict):
        return {scrub(k, *secrets): scrub(v, *secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(item, *secrets) for item in value]
    return value


def shown_url(url: str, limit: int = MAX_URL_CHARS) -> str:
    """A URL fit to show: without userinfo, query and fragment (signed storage URLs carry
    credentials there), without control characters, and at most ``limit`` characters."""
    text = _CONTROL.sub("", str(url)).strip()
    try:
        parts = urlsplit(text)
    except ValueError:
        return "<unreadable URL>"
    host = parts.netloc.rpartition("@")[2]
    if parts.scheme and "://" in text[:len(parts.scheme) + 3]:
        shown = f"{parts.scheme}://{host}{parts.path}"
    elif parts.scheme:
        shown = f"{parts.scheme}:{parts.path}"
    else:
        shown = f"//{host}{parts.path}" if host else parts.path
    if parts.query or parts.fragment:
        shown += "?\u2026"
    return shorten(shown, limit)


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:max(limit - 1, 0)] + "\u2026"


def network_text(value: object, *secrets: str | None, limit: int = MAX_NETWORK_CHARS) -> str:
    """Text that came over the network, fit for a message or a log line: one line, the secrets
    and any bearer credential removed, URLs shown without userinfo or query, bounded."""
    text = value if isinstance(value, str) else str(value)
    text = redact(text, *secrets)
    text = _CREDENTIAL.sub(lambda m: f"{m.group('bearer') or m.group('basic')} {REDACTED}", text)
    text = _URL.sub(lambda m: shown_url(m.group(0)), text)
    text = " ".join(_CONTROL.sub(" ", text).split())
    return shorten(text, limit)


# a request target with a query, as urllib3 logs it ("/files/x.mp4?sig=...")
_TARGET_QUERY = re.compile(r"(?<![\w:/])(/[^\s?\"'<>]*)\?[^\s\"'<>]*")


class NetworkLogFilter(logging.Filter):
    """Rewrites a library's log records (urllib3 logs request targets, signed queries included)
    through the same redaction: credentials and URL queries removed, the length bounded."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            text = record.getMessage()
        except (TypeError, ValueError):
            return True
        text = network_text(_TARGET_QUERY.sub(lambda m: m.group(1) + "?\u2026", text), limit=1000)
        record.msg, record.args = text, ()
        return True


def install_log_filter(*logger_names: str) -> None:
    """Adds ``NetworkLogFilter`` to each logger once (a logger's filters see only its own
    records, not its children's)."""
    for name in logger_names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, NetworkLogFilter) for f in logger.filters):
            logger.addFilter(NetworkLogFilter())
