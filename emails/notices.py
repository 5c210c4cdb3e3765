"""The customer's delay notice: "your license is on its way", sent once to a
customer still waiting some minutes after purchase.

Claim → send → record, where the claim is the record: inserting the order's
`DelayNotice` row (its key is the order's) succeeds for one worker only, so two
beat runs or two workers never both send. A send that raises deletes the row
again and the error is re-raised, so the task retries. A process that dies after
the email left has nothing to release: the email went out. One that dies between
the claim and the send loses that one notice (at most once): the customer still
gets the license email when it is ready.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from orders.aftersale import order_closed_q
from orders.models import FulfillmentStatus, Order

from .build import order_url
from .messages import message_build, message_id, message_send, send_each
from .models import DelayNotice, EmailStatus

# Orders waiting this much longer than the notice threshold get no delay notice:
# after downtime customers of long-past orders must not suddenly hear "your
# license is on its way".
DELAY_NOTICE_WINDOW = timedelta(days=1)
DELAY_NOTICE_BATCH = 200
# Orders whose customer is still waiting for the license email.
WAITING_STATUSES = (FulfillmentStatus.PENDING, FulfillmentStatus.FAILED)


def _waiting_orders(now: datetime):
    """Orders whose customer is still waiting for a license email, notice not
    sent. A cancelled, refunded or charged-back order waits for nothing."""
    threshold = now - timedelta(
        minutes=settings.FULFILLMENT["CUSTOMER_DELAY_NOTICE_MINUTES"]
    )
    return Order.objects.filter(
        fulfillment_status__in=WAITING_STATUSES,
        delay_notice__isnull=True,
        product__send_order_emails=True,
        completed_at__lt=threshold,
        completed_at__gte=threshold - DELAY_NOTICE_WINDOW,
    ).exclude(Q(email__status=EmailStatus.SENT) | order_closed_q())


def order_delay_notices_send(*, now: datetime | None = None) -> int:
    """Send one "your license is on its way" email to each customer still waiting
    longer than `CUSTOMER_DELAY_NOTICE_MINUTES` after purchase.

    Pending and failed orders both count: the customer cannot tell them apart.
    Test orders too (a buyer is a buyer); not products with order emails off. The
    license email still goes out as usual once the order is fulfilled. Returns
    the number of notices sent.
    """
    now = now or timezone.now()
    pks = list(
        _waiting_orders(now)
        .order_by("completed_at")
        .values_list("pk", flat=True)[:DELAY_NOTICE_BATCH]
    )

    def order_delay_notice_send(pk) -> int:
        return _order_delay_notice_send(order_id=pk, now=now)

    return send_each(pks, order_delay_notice_send)


def _order_delay_notice_send(*, order_id: int, now: datetime) -> int:
    if not _claim(order_id=order_id, now=now):
        return 0
    try:
        order = Order.objects.select_related("product__seller").get(pk=order_id)
        message_send(_order_delay_notice_build(order=order))
    except Exception:
        DelayNotice.objects.filter(order_id=order_id, sent_at=now).delete()
        raise
    return 1


def _claim(*, order_id: int, now: datetime) -> bool:
    """Insert the order's notice row if the order is still waiting and nobody
    has: False if another worker has, or the order is not waiting any more.

    Under the order's row lock, which the fulfilling UPDATE takes too: an order
    fulfilled at this moment is either seen fulfilled here, or waits for this
    claim to commit (and its customer gets the notice, then the license)."""
    try:
        with transaction.atomic():
            list(Order.objects.select_for_update().filter(pk=order_id).values("pk"))
            if not _waiting_orders(now).filter(pk=order_id).exists():
                return False
            DelayNotice.objects.create(order_id=order_id, sent_at=now)
    except IntegrityError:
        return False
    return True


def _order_delay_notice_build(*, order: Order) -> EmailMultiAlternatives:
    context = {
        "product": order.product,
        "customer_name": order.customer_name,
        "quantity": order.quantity,
        "order_url": order_url(order),
    }
    # Not the order email's Message-ID: an ESP that deduplicates on it would
    # otherwise drop the license email that follows.
    return message_build(
        template="order_delayed",
        context=context,
        to=order.customer_email,
        message_id=message_id("order-delayed", order.transaction_id),
    )
