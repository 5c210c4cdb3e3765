"""Where the benchmark's services are. No Django here: the driver reads it before
Django is set up, and bench/settings.py reads it inside every process it starts."""

from __future__ import annotations

import os

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/fulfillment_bench"
DEFAULT_BROKER_URL = "redis://127.0.0.1:6379/14"
# The Redis key the counting email backend increments (in the broker's database,
# which the benchmark owns and flushes).
EMAIL_COUNTER_KEY = "bench:emails-sent"


def database_url() -> str:
    return os.environ.get("BENCH_DATABASE_URL") or DEFAULT_DATABASE_URL


def broker_url() -> str:
    return os.environ.get("BENCH_BROKER_URL") or DEFAULT_BROKER_URL
