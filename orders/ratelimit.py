"""Fixed-window request limits kept in Django's cache: per API token, and any
other key a caller names (the "Find my purchase" form counts per address and
per IP with `rate_limit_hit`).

Each token gets a counter per window (`API_RATE_LIMIT = "<requests>/<seconds>"`,
120 a minute by default). On Redis, production's shared cache, counting is one
round trip: INCR and EXPIRE in one pipeline. INCR is atomic and creates the
counter, so concurrent requests never lose a count. (Django's `cache.incr` costs
two round trips, as it first checks that the key exists, and `cache.add` a third
for a window's first request.) Any other cache backend counts with `cache.add`
and `cache.incr`, atomic in each of them. The default local-memory cache is per
process: production needs a shared cache (Redis via CACHES) for the limit to
hold across workers.

A counter that cannot be kept for a moment (a connection dropped under load,
Redis restarting) must not turn an order into a 500: the count is tried once
more, on a fresh connection, and if that fails too the request is let through
and a warning logged. The limit protects the service; refusing or failing a
payment provider's order because of it would lose the order.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
import time
from dataclasses import dataclass
from functools import cache as memoized

import redis
from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache

logger = logging.getLogger(__name__)

DEFAULT_RATE = "120/60"
# What a broken connection raises: redis-py's own errors, the socket's, and the
# ValueError of a read on a socket closed under it ("I/O operation on closed
# file", seen in `make bench` at 100 orders/s).
COUNTER_FAILURES = (redis.RedisError, OSError, ValueError)


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


def rate_parse(rate: str, *, setting: str = "API_RATE_LIMIT") -> tuple[int, int]:
    """`"120/60"` -> (120 requests, 60 seconds); anything else fails loudly,
    naming the `setting` it came from."""
    requests, _, seconds = str(rate).partition("/")
    try:
        limit, window = int(requests), int(seconds)
    except ValueError:
        limit = window = 0
    if limit < 1 or window < 1:
        raise ValueError(
            f"{setting} must look like '120/60' (requests/seconds), not {rate!r}."
        )
    return limit, window


@memoized
def _redis(url: str) -> redis.Redis:
    """One client and connection pool per server for the process's life: Django's
    cache builds a new client object on every call (about 0.1 ms of CPU)."""
    return redis.Redis.from_url(url)


def _redis_url() -> str | None:
    """The server the default cache writes to when it is Redis, else None.

    Django's RedisCache writes to the first of its LOCATION's servers; so does
    this counter. (Its OPTIONS are not read: put what the client needs in the
    URL, as the README's configuration does.)"""
    if not isinstance(caches["default"], RedisCache):
        return None
    location = settings.CACHES["default"]["LOCATION"]
    servers = re.split("[;,]", location) if isinstance(location, str) else location
    return servers[0]


def _count_on_redis(url: str, key: str, *, ttl: int) -> int:
    pipe = _redis(url).pipeline(transaction=False)
    pipe.incr(key)
    # Every request sets the expiry again: the key names its window, so this
    # only keeps the counter until `ttl` after the window's last request.
    pipe.expire(key, ttl)
    count, _ = pipe.execute()
    return int(count)


def _count_in_cache(key: str, *, ttl: int) -> int:
    # Every request but a window's first finds the counter: incr first, which
    # saves a round trip per request.
    try:
        return cache.incr(key)
    except ValueError:
        pass  # the window's first request, or its counter was evicted
    if cache.add(key, 1, timeout=ttl):
        return 1
    try:
        # Another request created it in between.
        return cache.incr(key)
    except ValueError:
        # ...and it was evicted again at once (a full cache): count this one.
        cache.set(key, 1, timeout=ttl)
        return 1


def _count(key: str, *, window: int, fail_open: bool = True) -> int | None:
    """The key's count after this request, or None when it cannot be counted."""
    # The key outlives its window by a little, so it cannot expire just after a
    # late request found it.
    ttl = window + 5
    url = _redis_url()
    if url is None:
        return _count_in_cache(key, ttl=ttl)
    redis_key = caches["default"].make_key(key)
    try:
        return _count_on_redis(url, redis_key, ttl=ttl)
    except COUNTER_FAILURES:
        pass  # the pool drops the broken connection; the next call opens one
    try:
        return _count_on_redis(url, redis_key, ttl=ttl)
    except COUNTER_FAILURES as exc:
        if not fail_open:
            raise
        logger.warning(
            "%s rate limit not counted (%s: %s); the request goes through",
            key.partition(":")[0],
            type(exc).__name__,
            exc,
        )
        return None


def api_rate_limit_hit(*, token_pk: int) -> RateDecision:
    """Count one request by this token and say whether it may go on."""
    rate = getattr(settings, "API_RATE_LIMIT", DEFAULT_RATE)
    return rate_limit_hit(key=f"api-rate:{token_pk}", rate=rate)


def rate_limit_hit(
    *, key: str, rate: str, setting: str = "API_RATE_LIMIT", fail_open: bool = True
) -> RateDecision:
    """Count one request under `key` (`"<kind>:<who>"`, no secrets in it: it is
    logged) against `rate`, and say whether it may go on. When the count cannot
    be kept, `fail_open` lets the request through (and logs it); otherwise the
    counter's error is raised for the caller to refuse the request."""
    limit, window = rate_parse(rate, setting=setting)
    now = _now()
    window_start = int(now // window) * window
    count = _count(f"{key}:{window}:{window_start}", window=window, fail_open=fail_open)
    retry_after = max(1, math.ceil(window_start + window - now))
    if count is None:
        return RateDecision(
            allowed=True, limit=limit, remaining=limit, retry_after=retry_after
        )
    return RateDecision(
        allowed=count <= limit,
        limit=limit,
        remaining=max(0, limit - count),
        retry_after=retry_after,
    )


def client_and_address_allowed(
    *, kind: str, client_ip: str, address: str, ip_setting: str, address_setting: str
) -> bool:
    """Count one request of a form that mails `address` (Find my purchase,
    sign-up): against the client IP's rate (`ip_setting`) first, so a client
    over its limit cannot use up an address's, then against the address's
    (`address_setting`), hashed, so the cache holds no address. Closed: the
    counter's errors (COUNTER_FAILURES) reach the caller, which refuses."""
    by_ip = rate_limit_hit(
        key=f"{kind}-ip:{client_ip}",
        rate=getattr(settings, ip_setting),
        setting=ip_setting,
        fail_open=False,
    )
    if not by_ip.allowed:
        return False
    digest = hashlib.sha256(address.strip().lower().encode()).hexdigest()
    by_address = rate_limit_hit(
        key=f"{kind}-address:{digest}",
        rate=getattr(settings, address_setting),
        setting=address_setting,
        fail_open=False,
    )
    return by_address.allowed
