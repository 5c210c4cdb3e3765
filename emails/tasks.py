"""Thin Celery wrappers of the emails app (see fulfillment/tasks.py for the
license email's own task: when it is owed is the fulfillment's business)."""

from __future__ import annotations

from celery import shared_task

from .notices import order_delay_notices_send
from .purchases import purchases_link_email_send
from .refunds import order_refund_notice_send, order_refund_notices_send


# Runs from beat and claims every notice before sending, so a retry (or the next
# beat run overlapping it) never sends one twice. Few retries: beat runs it
# again minutes later anyway. The name predates this module: beat schedules and
# messages already in the broker find it by that name.
@shared_task(
    name="fulfillment.tasks.order_delay_notices_send_task",
    acks_late=True,
    autoretry_for=(Exception,),
    retry_backoff=5,
    retry_backoff_max=600,
    max_retries=3,
)
def order_delay_notices_send_task() -> int:
    return order_delay_notices_send()


# Enqueued when a refund commits; the claim makes it once per refund, so
# retries are safe. The beat sweep below takes over a lost message.
@shared_task(
    name="emails.tasks.order_refund_notice_send_task",
    acks_late=True,
    autoretry_for=(Exception,),
    retry_backoff=5,
    retry_backoff_max=600,
    max_retries=5,
)
def order_refund_notice_send_task(event_id: int) -> int:
    return order_refund_notice_send(event_id=event_id)


@shared_task(name="emails.tasks.order_refund_notices_send_task")
def order_refund_notices_send_task() -> int:
    return order_refund_notices_send()


# Enqueued by the "Find my purchase" form, which writes nothing to wait for.
# No retries: the link is worth minutes, and a send that failed costs the
# customer one more try of the form, which the page offers.
@shared_task(name="emails.tasks.purchases_link_email_send_task")
def purchases_link_email_send_task(email: str) -> int:
    return purchases_link_email_send(email=email)
