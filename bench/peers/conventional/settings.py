"""Settings of the conventional peer (its own database; see base_settings)."""

from __future__ import annotations

from bench.peers.base_settings import *  # noqa: F403

INSTALLED_APPS = ["bench.peers.conventional"]
TEMPLATES = [
    {"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}
]

QUEUE = "conventional"
EMAIL_QUEUE = "conventional-email"
CELERY_TASK_DEFAULT_QUEUE = QUEUE
CELERY_TASK_ROUTES = {"conventional.order_email_send": {"queue": EMAIL_QUEUE}}
# A task that dies with its worker runs again; the email task checks whether its
# email went out before sending it.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 60
CELERY_TASK_SOFT_TIME_LIMIT = 45
