"""The Celery app. Configured from Django settings (the CELERY_ namespace)."""

from __future__ import annotations

import os

from celery import Celery
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def _database_pool_fit(sender, **kwargs) -> None:
    """A worker's pool holds what its threads can use (config/db_pool.py)."""
    from config.db_pool import CELERY_EXTRA_CONNECTIONS, database_pool_fit

    if isinstance(sender.concurrency, int):
        database_pool_fit(
            threads=sender.concurrency,
            spare=CELERY_EXTRA_CONNECTIONS,
            process=f"celery worker {sender.hostname}",
        )
