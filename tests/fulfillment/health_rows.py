"""Real deliveries and attempt rows for the health tests, as the engine leaves them."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from fulfillment.models import Delivery, DeliveryAttempt, DeliveryStatus
from web.orders.services import order_place


def make_delivery(product, status: str = DeliveryStatus.PENDING, **fields) -> Delivery:
    """A real order's delivery, moved to `status` as the retry engine would."""
    order = order_place(product=product, quantity=1, customer_email="b@example.com")
    delivery = order.deliveries.get()
    Delivery.objects.filter(pk=delivery.pk).update(status=status, **fields)
    delivery.refresh_from_db()
    return delivery


def make_attempt(
    delivery: Delivery,
    *,
    duration_ms: int,
    status: int | None = 200,
    succeeded: bool = True,
    message: str = "",
):
    """The row the engine records for one try."""
    return DeliveryAttempt.objects.create(
        delivery=delivery,
        number=delivery.attempts.count() + 1,
        duration_ms=duration_ms,
        request_method="POST",
        request_url="https://licenses.example.com/issue",
        response_status=status,
        succeeded=succeeded,
        error_kind="" if succeeded else ("status" if status else "timeout"),
        message=message,
    )


def make_succeeded(product, duration_ms: int = 100) -> Delivery:
    delivery = make_delivery(
        product, DeliveryStatus.SUCCEEDED, attempt_count=1, succeeded_at=timezone.now()
    )
    make_attempt(delivery, duration_ms=duration_ms)
    return delivery


def make_failed(product, message: str = "Your server answered 500.") -> Delivery:
    delivery = make_delivery(
        product,
        DeliveryStatus.FAILED,
        attempt_count=1,
        next_attempt_at=None,
        last_error=message,
    )
    make_attempt(delivery, duration_ms=50, status=500, succeeded=False, message=message)
    return delivery


def at(delivery: Delivery, when: datetime) -> Delivery:
    """The delivery was created, and its attempts started, at `when`."""
    Delivery.objects.filter(pk=delivery.pk).update(created_at=when)
    DeliveryAttempt.objects.filter(delivery=delivery).update(started_at=when)
    return delivery


def age(delivery: Delivery, days: float) -> None:
    """The delivery and its attempts happened `days` ago."""
    at(delivery, timezone.now() - timedelta(days=days))
