"""Thin Celery wrappers: ids in, one service call."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from .services.deliveries import deliveries_dispatch_due, delivery_attempt
from .services.emails import order_email_send, order_emails_dispatch_due


@shared_task(
    acks_late=True,
    # Killed before its lease ends, so no second worker sends while it runs.
    time_limit=settings.FULFILLMENT["ATTEMPT_TIME_LIMIT"],
    soft_time_limit=settings.FULFILLMENT["ATTEMPT_TIME_LIMIT"] - 10,
)
def delivery_attempt_task(delivery_pk: int) -> None:
    delivery_attempt(delivery_pk=delivery_pk)


@shared_task
def deliveries_dispatch_due_task() -> int:
    return deliveries_dispatch_due()


@shared_task(
    acks_late=True,
    autoretry_for=(Exception,),
    retry_backoff=5,
    retry_backoff_max=600,
    max_retries=8,
)
def order_email_send_task(order_pk: int) -> None:
    order_email_send(order_id=order_pk)


@shared_task
def order_emails_dispatch_due_task() -> int:
    return order_emails_dispatch_due()
