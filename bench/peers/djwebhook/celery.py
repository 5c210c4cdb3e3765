"""The django-webhook peer's Celery app, with the library's task routed to its
own queue as its documentation shows ("Using a dedicated worker")."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.peers.djwebhook.settings")

QUEUE = "djwebhook"

app = Celery("djwebhook")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_routes = [[("django_webhook.tasks.fire_webhook", {"queue": QUEUE})]]
app.autodiscover_tasks()
