"""Where the API is and which token to use; keeping the token out of every text we produce."""
from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from typing import Mapping
from urllib.parse import urlsplit

from ..errors import ConfigurationError, MissingTokenError
from ..redaction import mask, shown_url

DEFAULT_BASE_URL = "https://model-api.runcomfy.net"
BASE_URL_ENV = "RUNCOMFY_API_BASE"
SOURCE_SETTINGS = "settings"
TOKEN_ENVS = ("RUNCOMFY_API_TOKEN", "RUNCOMFY_TOKEN")


def is_loopback_host(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_base_url(url: str) -> str:
    """The API base URL, normalised; plain http is allowed only for loopback (the sandbox)."""
    url = url.strip().rstrip("/")
    shown = shown_url(url)  # never the password or query it may carry
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError for a port that is not a number in range
    except ValueError:
        raise ConfigurationError(f"{BASE_URL_ENV}: is not a valid URL (got {shown!r})") from None
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise ConfigurationError(f"{BASE_URL_ENV}: must not carry a user name or password (got {shown!r}); "
                                 f"the API token is the only credential")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(f"{BASE_URL_ENV}: must be an http(s) URL (got {shown!r})")
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise ConfigurationError(
            f"{BASE_URL_ENV}: plain http is only allowed for a local sandbox on a loopback host "
            f"(got {shown!r}); use https so the API token is never sent in clear text")
    if parts.query or parts.fragment:
        raise ConfigurationError(f"{BASE_URL_ENV}: must not carry a query or a fragment (got {shown!r})")
    return url


def origin_of(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.scheme, (parts.hostname or "").lower(), port


@dataclass(frozen=True)
class ApiSettings:
    """Base URL and token for one client. ``repr`` never shows the token."""

    base_url: str
    token: str = field(repr=False)
    token_source: str = "argument"

    def __post_init__(self) -> None:
        check_token_is_sendable(self.token, self.token_source)

    def __repr__(self) -> str:
        return f"ApiSettings(base_url={self.base_url!r}, token=<from {self.token_source}>)"


def load_settings(saved_token: str | None = None, environ: Mapping[str, str] | None = None,
                  base_url: str | None = None) -> ApiSettings:
    """Settings from (in order) a token saved in ComfyUI's settings, then the environment.

    Raises MissingTokenError before any request is made when no token is found.
    """
    environ = os.environ if environ is None else environ
    token, source = resolve_token(saved_token, environ)
    if not token:
        raise MissingTokenError("No RunComfy API token found")
    url = check_base_url(base_url or environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL)
    return ApiSettings(base_url=url, token=token, token_source=source or "argument")


def check_token_is_sendable(token: str, source: str) -> None:
    """A token must fit in an HTTP header: printable ASCII, one line, no spaces.

    Checked before any request because ``http.client`` would otherwise raise an error whose
    text contains the whole header, token included (a pasted mask like "••••abcd" is caught
    here too).
    """
    if not token.isascii() or any(ch.isspace() or not ch.isprintable() for ch in token):
        raise ConfigurationError(
            f"The RunComfy API token from {source} ({mask(token)}) contains spaces, line breaks or "
            f"characters that are not plain ASCII, so it cannot be sent",
            hint="Copy the key again from your RunComfy profile (API keys) and paste it whole; nothing was sent")


def resolve_token(saved: str | None, environ: Mapping[str, str] | None = None) -> tuple[str | None, str | None]:
    """``(token, source)``: the saved token, else the first non-blank environment variable.

    One order everywhere (the nodes and the settings routes): the token saved in ComfyUI's
    settings, then ``RUNCOMFY_API_TOKEN``, then ``RUNCOMFY_TOKEN``. ``source`` is ``"settings"``,
    the variable's name, or ``None``.
    """
    environ = os.environ if environ is None else environ
    if saved and saved.strip():
        return saved.strip(), SOURCE_SETTINGS
    for name in TOKEN_ENVS:
        value = (environ.get(name) or "").strip()
        if value:
            return value, name
    return None, None
