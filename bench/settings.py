"""Django settings of every benchmark process: the project's, on the bench services.

The project's own settings module runs unchanged, switched by environment variables
exactly as in production (PostgreSQL, Redis, CONN_MAX_AGE, Celery options); only
what a benchmark needs differs, below.
"""

from __future__ import annotations

import os

from bench.env import broker_url, database_url, process_database_url

# Set before config.settings reads them, so that its production code path builds
# the database and broker configuration.
os.environ["DATABASE_URL"] = process_database_url(database_url())
os.environ["CELERY_BROKER_URL"] = broker_url()
# Thousands of webhooks a second must not be measured through the log handler.
os.environ["LOG_LEVEL"] = "WARNING"

from config.settings import *  # noqa: E402, F403
from config.settings import BASE_DIR, FULFILLMENT  # noqa: E402

DEBUG = False
# The project's URLs plus one trivial view, the yardstick of the API scenario.
ROOT_URLCONF = "bench.urls"
# Counts messages in Redis, so that the driver sees every process's emails.
EMAIL_BACKEND = "bench.email_backend.CountingBackend"
# The seller servers listen on 127.0.0.1; production allows no private network.
FULFILLMENT = {**FULFILLMENT, "ALLOWED_PRIVATE_NETWORKS": ["127.0.0.0/8"]}
# 32 clients on one token must measure the API, not its rate limit. The limiter
# still counts every request, in a cache shared by all gunicorn workers as in
# production.
API_RATE_LIMIT = "100000000/60"
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": broker_url(),
    }
}
# Beside the run's logs (the driver creates the folder; var/ may not exist).
CELERY_BEAT_SCHEDULE_FILENAME = str(BASE_DIR / "bench" / "results" / "celerybeat")
