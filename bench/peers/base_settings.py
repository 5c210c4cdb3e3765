"""What the peers' Django settings share: their database (with a psycopg pool, as
Django 5.1+ offers it), the benchmark's broker and counting email backend.

The driver names the database in BENCH_PEER_DATABASE_URL; the process's role
(bench/env.py) is applied to it, so that statements are counted per process kind.
"""

from __future__ import annotations

import os

import environ

from bench.env import broker_url, process_database_url

SECRET_KEY = "bench-peer-not-secret"  # noqa: S105 - a local benchmark database
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

DATABASES = {
    "default": {
        **environ.Env.db_url_config(
            process_database_url(os.environ["BENCH_PEER_DATABASE_URL"])
        ),
        "CONN_MAX_AGE": 0,
        "OPTIONS": {
            # As many connections as a worker has threads: no thread waits.
            "pool": {
                "min_size": 2,
                "max_size": int(os.environ.get("BENCH_POOL_MAX_SIZE", "32")),
                "timeout": 10,
            }
        },
    }
}

EMAIL_BACKEND = "bench.email_backend.CountingBackend"
DEFAULT_FROM_EMAIL = "shop@bench.example"

CELERY_BROKER_URL = broker_url()
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
