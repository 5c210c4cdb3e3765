"""The conventional peer: a Django project and app in one package, the way a
competent developer would build license fulfillment in a week.

- models.py: Product, Order, Delivery, Attempt.
- services.py: place an order, send a delivery, send the order's email.
- tasks.py: one Celery task per delivery, one per email; ids in, one call each.
- emails.py: the email, its Markdown rendered and cleaned with nh3.

`celery -A bench.peers.conventional worker` runs it, with
DJANGO_SETTINGS_MODULE=bench.peers.conventional.settings.
"""

from .celery import app

__all__ = ["app"]
