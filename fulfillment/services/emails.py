"""The customer's order email, sent exactly once per order.

Claim, send, record: the order's `email_status` goes not_sent → sending (a
compare-and-set, so only one worker sends) → sent. If sending raises, the claim
is released and the task retries. If the process dies after the email left but
before `sent` was recorded, the order stays `sending` and is NOT sent again
automatically: a customer receiving no second copy is better than two licenses
mails for one sale, and the seller or staff can resend by hand. The Message-ID is
deterministic, so an ESP or mail client that sees both can tell they are one.
"""

from __future__ import annotations

import logging

from django.core.mail import get_connection
from django.db import transaction
from django.utils import timezone

from orders.models import EmailStatus, Order

from ..emails import order_email_build

logger = logging.getLogger(__name__)


def _enqueue_email(order_pk: int) -> None:
    from ..tasks import order_email_send_task

    try:
        order_email_send_task.delay(order_pk)
    except Exception:
        logger.exception("Could not enqueue the email of order %s", order_pk)


def order_email_schedule(*, order: Order) -> None:
    """Call inside the transaction that fulfilled (or confirmed) the order."""
    if not order.product.send_order_emails:
        Order.objects.filter(pk=order.pk, email_status=EmailStatus.NOT_SENT).update(
            email_status=EmailStatus.DISABLED
        )
        return
    transaction.on_commit(lambda: _enqueue_email(order.pk))


def order_email_send(*, order_id: int) -> bool:
    """Send the order's email if nobody has. Returns whether this call sent it."""
    claimed = Order.objects.filter(
        pk=order_id, email_status=EmailStatus.NOT_SENT
    ).update(email_status=EmailStatus.SENDING)
    if not claimed:
        return False
    order = Order.objects.select_related(
        "product__webhook_config", "product__seller"
    ).get(pk=order_id)
    try:
        get_connection().send_messages([order_email_build(order=order)])
    except Exception:
        Order.objects.filter(pk=order_id, email_status=EmailStatus.SENDING).update(
            email_status=EmailStatus.NOT_SENT
        )
        raise
    Order.objects.filter(pk=order_id).update(
        email_status=EmailStatus.SENT, email_sent_at=timezone.now()
    )
    return True
