"""The django-webhook peer as bench/peers/place.py drives it."""

from __future__ import annotations

from decimal import Decimal

from django.core.management import call_command
from django_webhook.models import (
    Webhook,
    WebhookSecret,
    WebhookTopic,
    populate_topics_from_settings,
)

from .models import Order


def setup(args, catalog: list[dict]) -> None:
    """Migrate, then one webhook on the creation of orders, with its secret, as
    the library's quickstart configures one."""
    call_command("migrate", verbosity=0)
    # The app creates its topics when it starts; the tables did not exist then.
    populate_topics_from_settings()
    webhook = Webhook.objects.create(url=args.webhook_url)
    webhook.topics.set([WebhookTopic.objects.get(name="djwebhook.Order/create")])
    WebhookSecret.objects.create(webhook=webhook, token=args.webhook_secret)


def products(catalog: list[dict]) -> list[dict]:
    """Ours, for names and prices: the model stores them on each order."""
    return catalog


def place(*, product: dict, customer_email: str) -> None:
    Order.objects.create(
        product_id=product["id"],
        product_name=product["name"],
        price=Decimal(product["price"]),
        currency=product["currency"],
        customer_email=customer_email,
    )
