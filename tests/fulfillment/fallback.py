"""States of the Webhook method's key list fallback, reached through the
services: a product with the fallback on and keys in its list, and an order
whose server had not answered when the sweep served it."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from fulfillment.models import Delivery, DeliveryStatus
from fulfillment.services.keylist import deliveries_serve_from_lists
from keylists.services import key_list_fallback_save, license_keys_add
from tests.factories import place


def fallback_on(product, *keys: str, minutes: int = 10) -> None:
    """Switch the product's fallback on (as the Webhook Editor does) and put
    these keys in its list."""
    key_list_fallback_save(product_id=product.pk, enabled=True, minutes=minutes)
    if keys:
        license_keys_add(product_id=product.pk, text="\n".join(keys))


def overdue(product, *, minutes: float = 11, **place_kwargs) -> Delivery:
    """An order whose server has answered 503 for `minutes`: its delivery
    retries, as the engine leaves it."""
    order = place(product, **place_kwargs)
    Delivery.objects.filter(order=order).update(
        status=DeliveryStatus.RETRYING,
        attempt_count=3,
        last_error="Your server answered 503.",
        created_at=timezone.now() - timedelta(minutes=minutes),
    )
    return order.deliveries.get()


def served_by_fallback(product, **place_kwargs) -> Delivery:
    """An overdue order, served from the list by the sweep."""
    delivery = overdue(product, **place_kwargs)
    deliveries_serve_from_lists(product_id=product.pk)
    delivery.refresh_from_db()
    assert delivery.source == "fallback", "the list had no key for it"
    return delivery
