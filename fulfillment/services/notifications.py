"""Emails about trouble: the seller's failure alert and the customer's delay notice.

Both are claim → send → record, where the claim is the record: a conditional
UPDATE stamps the rows (`Delivery.alerted_at`, `Order.delay_notice_sent_at`) only
where they are still NULL, so two beat runs or two workers never both send. A send
that raises releases the claim (the stamp goes back to NULL) and the error is
re-raised, so the task retries. A process that dies after the email left but
before the claim could be released has nothing to release: the email went out.
One that dies between the claim and the send loses that one email (at most once,
like the order email): the failures stay visible on the seller's dashboard, and
the customer still gets the license email when it is ready.

One bad address must not block everybody else: a run goes on past a send error,
stops after `MAX_SEND_ERRORS_PER_RUN` (the ESP is probably down) and then re-raises
the first error.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from anymail.message import AnymailMessage
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from orders.models import EmailStatus, FulfillmentStatus, Order

from ..emails import order_url
from ..models import Delivery, DeliveryStatus

logger = logging.getLogger(__name__)

# One alert lists at most this many deliveries; the rest go into the next alert,
# so an outage with thousands of failures does not produce an unreadable email.
ALERT_MAX_DELIVERIES = 100
# Orders waiting this much longer than the notice threshold get no delay notice:
# after downtime (or on the deploy that adds the column) customers of long-past
# orders must not suddenly hear "your license is on its way".
DELAY_NOTICE_WINDOW = timedelta(days=1)
DELAY_NOTICE_BATCH = 200
# Orders whose customer is still waiting for the license email.
WAITING_STATUSES = (FulfillmentStatus.PENDING, FulfillmentStatus.FAILED)
MAX_SEND_ERRORS_PER_RUN = 3


# --- Building and sending ---------------------------------------------------------


def _message_id(kind: str, key: str) -> str:
    """Deterministic, so a repeat of the same email is recognisable as one."""
    digest = hashlib.sha256(f"{kind}:{key}".encode()).hexdigest()[:24]
    return f"<{kind}-{digest}@{settings.EMAIL_MESSAGE_ID_DOMAIN}>"


def _message(
    *, template: str, context: dict, to: str, message_id: str
) -> EmailMultiAlternatives:
    """A text + HTML email from `emails/<template>{.txt,.html,_subject.txt}`."""
    subject = render_to_string(f"emails/{template}_subject.txt", context)
    text = render_to_string(f"emails/{template}.txt", context)
    message = AnymailMessage(
        subject=" ".join(subject.split()),
        # A plain str: the text part is unescaped, it must not pass as safe HTML.
        body=str.__str__(text),
        to=[to],
        headers={"Message-ID": message_id},
    )
    message.attach_alternative(
        render_to_string(f"emails/{template}.html", context), "text/html"
    )
    message.tags = [template.replace("_", "-")]
    return message


def _send(message: EmailMultiAlternatives) -> None:
    get_connection().send_messages([message])


def _send_each(keys: Iterable, send_one: Callable[[object], int]) -> int:
    """Call `send_one` per key; go on past errors, re-raise the first at the end."""
    sent, errors = 0, []
    for key in keys:
        try:
            sent += send_one(key)
        except Exception as exc:
            logger.exception("Sending %s for %s failed", send_one.__name__, key)
            errors.append(exc)
            if len(errors) >= MAX_SEND_ERRORS_PER_RUN:
                break
    if errors:
        raise errors[0]
    return sent


# --- Seller alerts ----------------------------------------------------------------


def _unalerted_failures():
    return Delivery.objects.filter(
        status=DeliveryStatus.FAILED,
        is_test=False,
        order__isnull=False,
        alerted_at__isnull=True,
    )


def seller_alerts_send(*, now: datetime | None = None) -> int:
    """Tell each seller, in one email, about deliveries that failed for good.

    Only real deliveries (not the seller's own "Send test request") that failed
    and were not in an earlier alert. Returns the number of emails sent.
    """
    now = now or timezone.now()
    seller_ids = (
        _unalerted_failures()
        .order_by()
        .values_list("product__seller_id", flat=True)
        .distinct()
    )
    sellers = get_user_model().objects.filter(pk__in=list(seller_ids)).order_by("pk")

    def seller_alert_send(seller) -> int:
        return _seller_alert_send(seller=seller, now=now)

    return _send_each(sellers, seller_alert_send)


def _seller_alert_send(*, seller, now: datetime) -> int:
    if not seller.email:
        # Left unclaimed: they are alerted once the seller adds an address.
        logger.warning("Seller %s has no email address; failure alert skipped", seller)
        return 0
    claimed = _seller_alert_claim(seller=seller, now=now)
    if not claimed:
        return 0
    try:
        _send(_seller_alert_build(seller=seller, delivery_pks=claimed))
    except Exception:
        Delivery.objects.filter(pk__in=claimed, alerted_at=now).update(alerted_at=None)
        raise
    return 1


def _seller_alert_claim(*, seller, now: datetime) -> list[int]:
    """Stamp the seller's unalerted failures; returns exactly the rows this call
    stamped. One conditional UPDATE per row, so a row another run took meanwhile
    (or that a retry moved out of `failed`) is simply not ours."""
    candidates = list(
        _unalerted_failures()
        .filter(product__seller=seller)
        .order_by("pk")
        .values_list("pk", flat=True)[:ALERT_MAX_DELIVERIES]
    )
    with transaction.atomic():
        return [
            pk
            for pk in candidates
            if _unalerted_failures().filter(pk=pk).update(alerted_at=now)
        ]


def _seller_alert_build(*, seller, delivery_pks: list[int]) -> EmailMultiAlternatives:
    deliveries = (
        Delivery.objects.filter(pk__in=delivery_pks)
        .select_related("order", "product")
        .order_by("product__name", "order__completed_at", "item_index")
    )
    items = [
        {
            "product": delivery.product.name,
            "transaction_id": delivery.real_order.transaction_id,
            "test_order": delivery.real_order.is_test,
            "item_index": delivery.item_index,
            "item_count": delivery.item_count,
            "last_error": delivery.last_error,
            "url": settings.SITE_URL
            + reverse("orders:seller-order", args=[delivery.order_id]),
        }
        for delivery in deliveries
    ]
    context = {
        "seller_name": seller.get_full_name() or seller.username,
        "deliveries": items,
        "count": len(items),
        "remaining": _unalerted_failures().filter(product__seller=seller).count(),
        "orders_url": settings.SITE_URL + reverse("orders:seller-orders"),
    }
    key = ",".join(str(pk) for pk in sorted(delivery_pks))
    return _message(
        template="seller_alert",
        context=context,
        to=seller.email,
        message_id=_message_id("seller-alert", key),
    )


# --- Customer delay notices -------------------------------------------------------


def _waiting_orders(now: datetime):
    """Orders whose customer is still waiting for a license email, notice not sent."""
    threshold = now - timedelta(
        minutes=settings.FULFILLMENT["CUSTOMER_DELAY_NOTICE_MINUTES"]
    )
    return Order.objects.filter(
        fulfillment_status__in=WAITING_STATUSES,
        email_status=EmailStatus.NOT_SENT,
        delay_notice_sent_at__isnull=True,
        product__send_order_emails=True,
        completed_at__lt=threshold,
        completed_at__gte=threshold - DELAY_NOTICE_WINDOW,
    )


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

    return _send_each(pks, order_delay_notice_send)


def _order_delay_notice_send(*, order_id: int, now: datetime) -> int:
    claimed = _waiting_orders(now).filter(pk=order_id).update(delay_notice_sent_at=now)
    if not claimed:
        return 0
    try:
        order = Order.objects.select_related("product__seller").get(pk=order_id)
        _send(_order_delay_notice_build(order=order))
    except Exception:
        Order.objects.filter(pk=order_id, delay_notice_sent_at=now).update(
            delay_notice_sent_at=None
        )
        raise
    return 1


def _order_delay_notice_build(*, order: Order) -> EmailMultiAlternatives:
    context = {
        "product": order.product,
        "customer_name": order.customer_name,
        "quantity": order.quantity,
        "order_url": order_url(order),
    }
    # Not the order email's Message-ID: an ESP that deduplicates on it would
    # otherwise drop the license email that follows.
    return _message(
        template="order_delayed",
        context=context,
        to=order.customer_email,
        message_id=_message_id("order-delayed", order.transaction_id),
    )
