"""Each process's share of PostgreSQL connections (docs/deploy.md, "Connection
budget").

A thread holds at most one connection at a time, so a process needs as many as
it runs threads that use the database: a gunicorn worker its `threads`, a Celery
worker its concurrency plus CELERY_EXTRA_CONNECTIONS for whatever runs beside
the tasks. Each of them sizes its pool to that when it starts (the hooks in
config/gunicorn.conf.py and config/celery.py), under the ceiling of
`DB_POOL_MAX_SIZE`. A single-threaded process (beat, a management command)
keeps the ceiling but never holds more than the pool's `min_size`.
"""

from __future__ import annotations

import logging
from typing import Any, cast

from django.conf import settings
from django.db import connections

logger = logging.getLogger(__name__)

# Room beside a Celery worker's task threads, for whatever runs in its main
# thread (the Django fix-up, signal handlers). `python -m bench.connections`
# saw none used there; a pool only opens connections on demand, so the room
# costs PostgreSQL nothing until something needs it.
CELERY_EXTRA_CONNECTIONS = 2


def pool_bounds(*, threads: int, ceiling: int, min_size: int) -> tuple[int, int]:
    """(min_size, max_size) of the pool of a process with `threads` threads:
    what they can use at once, at most the ceiling."""
    size = min(threads, ceiling)
    return min(min_size, size), size


def database_pool_fit(*, threads: int, spare: int = 0, process: str) -> None:
    """Shrink this process's pool to what its `threads` (and `spare` room beside
    them) can use, before any of them asks for a connection; warn when the
    ceiling leaves threads waiting for one."""
    options = settings.DATABASES["default"].get("OPTIONS", {}).get("pool")
    if not options:
        return  # SQLite, or DB_POOL=false (PgBouncer)
    min_size, size = pool_bounds(
        threads=threads + spare,
        ceiling=options["max_size"],
        min_size=options["min_size"],
    )
    # Django's PostgreSQL backend holds its psycopg_pool.ConnectionPool here.
    pool = cast(Any, connections["default"]).pool
    pool.resize(min_size=min_size, max_size=size)
    if size < threads:
        logger.warning(
            "%s: %s threads share at most %s database connections "
            "(DB_POOL_MAX_SIZE): threads will wait up to DB_POOL_TIMEOUT for one. "
            "Raise DB_POOL_MAX_SIZE to %s, within the connection budget of "
            "docs/deploy.md.",
            process, threads, size, threads + spare,
        )  # fmt: skip
    else:
        logger.info("%s: at most %s database connections", process, size)
