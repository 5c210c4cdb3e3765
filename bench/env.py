"""Where the benchmark's services are. No Django here: the driver reads it before
Django is set up, and the settings of every process it starts read it too."""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/fulfillment_bench"
DEFAULT_BROKER_URL = "redis://127.0.0.1:6379/14"
# The Redis key the counting email backend increments (in the broker's database,
# which the benchmark owns and flushes).
EMAIL_COUNTER_KEY = "bench:emails-sent"
# PostgreSQL roles the benchmark's workers log in as, so that pg_stat_statements
# (which counts per role) can say which process kind sent which statement. The
# driver and the processes placing orders keep the URL's own user.
ROLE_ENV = "BENCH_DATABASE_ROLE"
WORKER_ROLE = "bench_worker"
EMAIL_ROLE = "bench_email"


def database_url() -> str:
    return os.environ.get("BENCH_DATABASE_URL") or DEFAULT_DATABASE_URL


def broker_url() -> str:
    return os.environ.get("BENCH_BROKER_URL") or DEFAULT_BROKER_URL


def peer_database_url(peer: str) -> str:
    """The peer's own database, beside ours: fulfillment_bench_conventional."""
    parts = urlsplit(database_url())
    return urlunsplit(parts._replace(path=f"{parts.path}_{peer}"))


def with_role(url: str, role: str | None) -> str:
    """`url` logging in as `role` (no password: the roles are the benchmark's)."""
    if not role:
        return url
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{role}@{host}"))


def process_database_url(url: str) -> str:
    """`url` as this process logs in: with the role its starter gave it."""
    return with_role(url, os.environ.get(ROLE_ENV))
