"""A fixed-window request limit per API token, kept in Django's cache.

Each token gets a counter per window (`API_RATE_LIMIT = "<requests>/<seconds>"`,
120 a minute by default). The counter is created with `cache.add` and raised with
`cache.incr`, both atomic in every shared cache backend, so concurrent requests
never lose a count. The default local-memory cache is per process: production
needs a shared cache (Redis via CACHES) for the limit to hold across workers.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

DEFAULT_RATE = "120/60"


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    limit: int
    remaining: int
    # Whole seconds until the current window ends and the counter starts afresh.
    retry_after: int


def _now() -> float:
    # One seam for tests to move the clock.
    return time.time()


def rate_parse(rate: str) -> tuple[int, int]:
    """`"120/60"` -> (120 requests, 60 seconds); anything else fails loudly."""
    requests, _, seconds = str(rate).partition("/")
    try:
        limit, window = int(requests), int(seconds)
    except ValueError:
        limit = window = 0
    if limit < 1 or window < 1:
        raise ValueError(
            f"API_RATE_LIMIT must look like '120/60' (requests/seconds), not {rate!r}."
        )
    return limit, window


def _count(key: str, *, window: int) -> int:
    # Every request but a window's first finds the counter: incr first, which
    # saves the shared cache a round trip per request. The key outlives its
    # window by a little, so it cannot expire just after a late request found it.
    try:
        return cache.incr(key)
    except ValueError:
        pass  # the window's first request, or its counter was evicted
    if cache.add(key, 1, timeout=window + 5):
        return 1
    try:
        # Another request created it in between.
        return cache.incr(key)
    except ValueError:
        # ...and it was evicted again at once (a full cache): count this one.
        cache.set(key, 1, timeout=window + 5)
        return 1


def api_rate_limit_hit(*, token_pk: int) -> RateDecision:
    """Count one request by this token and say whether it may go on."""
    limit, window = rate_parse(getattr(settings, "API_RATE_LIMIT", DEFAULT_RATE))
    now = _now()
    window_start = int(now // window) * window
    count = _count(f"api-rate:{token_pk}:{window}:{window_start}", window=window)
    retry_after = max(1, math.ceil(window_start + window - now))
    return RateDecision(
        allowed=count <= limit,
        limit=limit,
        remaining=max(0, limit - count),
        retry_after=retry_after,
    )
