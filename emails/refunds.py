"""The customer's refund notice: one short email per refund, whoever made it
(the payment provider through the API, the seller, staff).

Claim → send → record, where the claim is the record, as for the delay notice
(`notices`): inserting the refund's `RefundNotice` row (its key is the refund
event's) succeeds for one worker only, so a replayed API request (which makes
no new event), a retried task and the sweep racing the task never send twice.
A send that raises deletes the row again and the error is re-raised, so the
task retries. The task is enqueued when the refund commits; the sweep
(`order_refund_notices_send`, run by beat) sends those whose message was lost.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.utils import timezone

from orders.models import OrderEvent, OrderEventKind

from .build import order_url
from .messages import message_build, message_id, message_send, send_each
from .models import RefundNotice

# Refunds older than this get no notice from the sweep: after downtime, a
# customer must not hear about a refund from days ago as if it were news.
REFUND_NOTICE_WINDOW = timedelta(days=1)
# The task enqueued with the refund normally sends it within seconds; the sweep
# takes only those it has not, after this long.
REFUND_NOTICE_GRACE = timedelta(seconds=60)
REFUND_NOTICE_BATCH = 200


def _refunds_unnoticed(now: datetime):
    """Refunds of the last day whose customer has not been told, for products
    that send order emails (a seller who turned them off emails customers
    themselves)."""
    return OrderEvent.objects.filter(
        kind=OrderEventKind.REFUND,
        refund_notice__isnull=True,
        order__product__send_order_emails=True,
        created_at__gte=now - REFUND_NOTICE_WINDOW,
    )


def order_refund_notice_send(*, event_id: int, now: datetime | None = None) -> int:
    """Tell the customer about this refund, unless somebody has. Returns 1 if
    this call sent the notice, else 0."""
    now = now or timezone.now()
    if not _claim(event_id=event_id, now=now):
        return 0
    try:
        event = OrderEvent.objects.select_related("order__product").get(pk=event_id)
        message_send(_order_refund_notice_build(event=event))
    except Exception:
        RefundNotice.objects.filter(event_id=event_id, sent_at=now).delete()
        raise
    return 1


def order_refund_notices_send(*, now: datetime | None = None) -> int:
    """Send the refund notices whose task never ran (a lost broker message, a
    task out of retries). Returns the number sent."""
    now = now or timezone.now()
    pks = list(
        _refunds_unnoticed(now)
        .filter(created_at__lt=now - REFUND_NOTICE_GRACE)
        .order_by("created_at")
        .values_list("pk", flat=True)[:REFUND_NOTICE_BATCH]
    )

    def order_refund_notice(pk) -> int:
        return order_refund_notice_send(event_id=pk, now=now)

    return send_each(pks, order_refund_notice)


def _claim(*, event_id: int, now: datetime) -> bool:
    """Insert the refund's notice row if nobody has: False if another worker
    has, or the refund is not one to tell the customer about."""
    try:
        with transaction.atomic():
            if not _refunds_unnoticed(now).filter(pk=event_id).exists():
                return False
            RefundNotice.objects.create(event_id=event_id, sent_at=now)
    except IntegrityError:
        return False
    return True


def _order_refund_notice_build(*, event: OrderEvent) -> EmailMultiAlternatives:
    order = event.order
    context = {
        "product": order.product,
        "customer_name": order.customer_name,
        "amount": event.amount,
        "currency": order.currency,
        "total": order.total,
        "refunded_on": event.created_at,
        "order_url": order_url(order),
    }
    # One Message-ID per refund: a second refund is news, not a repeat.
    return message_build(
        template="order_refunded",
        context=context,
        to=order.customer_email,
        message_id=message_id("order-refunded", f"{order.transaction_id}:{event.pk}"),
    )
