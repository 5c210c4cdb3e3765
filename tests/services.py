"""Which stack the tests run on, and whether PostgreSQL and Redis are required.

`.ci/run` sets REQUIRE_SERVICES=1 with DATABASE_URL and CELERY_BROKER_URL: then a
missing or unreachable service fails the run instead of skipping tests.
"""

from __future__ import annotations

import os

from django.conf import settings

SERVICES_HINT = (
    "set DATABASE_URL=postgres://postgres@127.0.0.1:5432/fulfillment and "
    "CELERY_BROKER_URL=redis://127.0.0.1:6379/0 (as .ci/run does) to run it"
)


def services_required() -> bool:
    return os.environ.get("REQUIRE_SERVICES", "") == "1"


def on_postgres() -> bool:
    return settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


def on_redis() -> bool:
    return settings.CELERY_BROKER_URL.startswith(("redis://", "rediss://"))


def stack_name() -> str:
    if on_postgres() and on_redis():
        return "production"
    if not on_postgres() and not on_redis():
        return "embedded"
    return "mixed"


def check_services() -> list[str]:
    """Problems that make the configured services unusable (empty when fine)."""
    problems = []
    if not on_postgres():
        problems.append("DATABASE_URL does not point at PostgreSQL")
    if not on_redis():
        problems.append("CELERY_BROKER_URL does not point at Redis")
    if on_redis():
        import redis

        try:
            redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=3).ping()
        except Exception as exc:
            problems.append(
                f"Redis at {settings.CELERY_BROKER_URL} is unreachable: {exc}"
            )
    if on_postgres():
        import psycopg

        db = settings.DATABASES["default"]
        try:
            psycopg.connect(
                host=db["HOST"] or None,
                port=db["PORT"] or None,
                user=db["USER"] or None,
                password=db["PASSWORD"] or None,
                dbname="postgres",
                connect_timeout=3,
            ).close()
        except Exception as exc:
            problems.append(f"PostgreSQL is unreachable: {exc}")
    return problems
