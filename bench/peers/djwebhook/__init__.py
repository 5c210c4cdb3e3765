"""The django-webhook peer: the library from PyPI, set up as its documentation
says (the app in INSTALLED_APPS, our model whitelisted in DJANGO_WEBHOOK, a
Webhook with its topics and a secret, its Celery task on a dedicated queue).

Every saved Order fires its `fire_webhook` task, which stores one WebhookEvent
per request and signs in its own way (HMAC-SHA256 hex of "{timestamp}:{body}"),
which bench/seller.py verifies on its /django-webhook path. It sends no email:
what it measures is one stored, signed request per order.
"""

from .celery import app

__all__ = ["app"]
