"""Kling 3.0 Pro prices in USD per second, with and without sound: the one price table behind the
estimate on the node, the spend guard and the estimate recorded in the ledger.

The model endpoint states the current price; when it cannot be asked (no token, an error), the
published prices (``PUBLISHED``, with their source and date) stand. ``SHARED`` asks at most once
an hour per API base, for the settings routes and the pipeline alike, so the node and the ledger
show the same numbers; how it asks is given to it (one quick, unretried call).
"""
from __future__ import annotations

import logging
import math
import re
import threading
import time
from typing import Callable

from ..errors import RunComfyError

log = logging.getLogger("runcomfy_kling3")

PRICING_TTL_S = 3600.0
PRICING_RETRY_S = 300.0      # after a failed price lookup, the defaults stand this long
PRICE_PER_SECOND_USD = 0.112
PRICE_PER_SECOND_WITH_SOUND_USD = 0.168
#: the published prices, where they come from and when they were read
PUBLISHED = {"per_second_usd": PRICE_PER_SECOND_USD, "per_second_with_sound_usd": PRICE_PER_SECOND_WITH_SOUND_USD,
             "source": "default", "as_of": "2026-11-23",
             "reference": "RunComfy's public price for kling/kling-3.0/pro/text-to-video"}


def default_pricing() -> dict:
    return dict(PUBLISHED)


def estimate_usd(duration_s: int, sound: bool, prices: dict | None = None) -> float:
    """The price of one video by the table (``prices`` from ``PricingCache.get``, else published)."""
    prices = prices or PUBLISHED
    rate = prices["per_second_with_sound_usd"] if sound else prices["per_second_usd"]
    return round(duration_s * rate, 3)


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


def _money(value: object) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and 0 < number < 100 else None


class PricingCache:
    """Prices per API base URL, looked up at most once per ``ttl_s`` (and not again for
    ``retry_s`` after a failure). ``fetch()`` returns the model endpoint's answer or raises a
    ``RunComfyError``."""

    def __init__(self, ttl_s: float = PRICING_TTL_S, retry_s: float = PRICING_RETRY_S,
                 clock: Callable[[], float] = time.monotonic):
        self.ttl_s, self.retry_s, self._clock = ttl_s, retry_s, clock
        self._entries: dict[str, tuple[float, dict]] = {}
        self._lock = threading.Lock()

    def get(self, base_url: str | None, fetch: Callable[[], object] | None = None) -> dict:
        """The prices at ``base_url`` (the published ones without one: no token)."""
        if base_url is None or fetch is None:
            return default_pricing()
        with self._lock:
            entry = self._entries.get(base_url)
        if entry is not None and entry[0] > self._clock():
            return dict(entry[1])
        prices = self._lookup(fetch)
        value = default_pricing() if prices is None else {
            "per_second_usd": prices[0], "per_second_with_sound_usd": prices[1], "source": "api",
            "as_of": time.strftime("%Y-%m-%d"), "reference": f"GET /v1/models at {base_url}"}
        with self._lock:
            self._entries[base_url] = (self._clock() + (self.retry_s if prices is None else self.ttl_s), value)
        return dict(value)

    @staticmethod
    def _lookup(fetch: Callable[[], object]) -> tuple[float, float] | None:
        try:
            return parse_pricing(fetch())
        except (RunComfyError, ValueError) as exc:
            log.info("RunComfy: current prices unavailable (%s); using the published ones", type(exc).__name__)
            return None


#: the process's one cache: the settings routes and the pipeline read the same prices
SHARED = PricingCache()
