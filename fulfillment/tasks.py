"""Thin Celery wrappers: ids in, one service call.

Each task says its name: the routes, the beat schedule and messages already in
the broker find it by that name, wherever the function moves.
"""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from .services.alert_engine import alert_attempt, alerts_dispatch_due
from .services.deliveries import delivery_attempt
from .services.emails import order_email_send, order_emails_dispatch_due
from .services.housekeeping import attempts_purge
from .services.keylist import deliveries_serve_from_lists
from .services.notifications import seller_alerts_send
from .services.wakeups import deliveries_dispatch_due


@shared_task(
    name="fulfillment.tasks.delivery_attempt_task",
    acks_late=True,
    # Killed before its lease ends, so no second worker sends while it runs.
    time_limit=settings.FULFILLMENT["ATTEMPT_TIME_LIMIT"],
    soft_time_limit=settings.FULFILLMENT["ATTEMPT_TIME_LIMIT"] - 2,
)
def delivery_attempt_task(delivery_pk: int) -> None:
    delivery_attempt(delivery_pk=delivery_pk)


@shared_task(name="fulfillment.tasks.deliveries_dispatch_due_task")
def deliveries_dispatch_due_task() -> int:
    return deliveries_dispatch_due()


@shared_task(name="fulfillment.tasks.deliveries_serve_from_lists_task")
def deliveries_serve_from_lists_task(product_id: int | None = None) -> int:
    return deliveries_serve_from_lists(product_id=product_id)


# Alerts go through the same workers, with the same time limit and lease.
@shared_task(
    name="fulfillment.tasks.alert_attempt_task",
    acks_late=True,
    time_limit=settings.FULFILLMENT["ATTEMPT_TIME_LIMIT"],
    soft_time_limit=settings.FULFILLMENT["ATTEMPT_TIME_LIMIT"] - 2,
)
def alert_attempt_task(alert_id: str) -> None:
    alert_attempt(alert_id=alert_id)


@shared_task(name="fulfillment.tasks.alerts_dispatch_due_task")
def alerts_dispatch_due_task() -> int:
    return alerts_dispatch_due()


# Emails: survive a worker crash (acks_late) and retry an ESP failure with backoff.
RETRYING = {
    "acks_late": True,
    "autoretry_for": (Exception,),
    "retry_backoff": 5,
    "retry_backoff_max": 600,
}


@shared_task(
    name="fulfillment.tasks.order_email_send_task",
    **RETRYING,
    max_retries=8,
    # Ends before its claim may be taken over (checked at startup).
    time_limit=settings.FULFILLMENT["EMAIL_TASK_TIME_LIMIT"],
    soft_time_limit=settings.FULFILLMENT["EMAIL_TASK_TIME_LIMIT"] - 5,
)
def order_email_send_task(order_pk: int) -> None:
    order_email_send(order_id=order_pk)


@shared_task(name="fulfillment.tasks.order_emails_dispatch_due_task")
def order_emails_dispatch_due_task() -> int:
    return order_emails_dispatch_due()


# Runs from beat and claims every alert before sending, so a retry (or the next
# beat run overlapping it) never sends one twice. Few retries: beat runs it
# again minutes later anyway.
@shared_task(
    name="fulfillment.tasks.seller_alerts_send_task", **RETRYING, max_retries=3
)
def seller_alerts_send_task() -> int:
    return seller_alerts_send()


# Batched and idempotent: a purge cut short by the time limit resumes next run.
@shared_task(
    name="fulfillment.tasks.attempts_purge_task", time_limit=900, soft_time_limit=840
)
def attempts_purge_task() -> int:
    return attempts_purge()
