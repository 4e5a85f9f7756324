"""Keeping secrets out of every text the pack produces: masks for display, redaction for text
that may echo them."""
from __future__ import annotations

_MASK_PREFIX = "\u2022" * 4  # "••••"


def mask(token: str | None) -> str:
    """``"••••abcd"``: at most the last 4 characters, fewer for short tokens, "" for none."""
    if not token:
        return ""
    shown = min(4, len(token) // 4)
    return _MASK_PREFIX + (token[-shown:] if shown else "")


def redact(text: str, *secrets: str | None) -> str:
    """``text`` with every secret replaced; used on anything that might echo a header."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "<redacted>")
    return text
