"""The seller's failure alert: one email listing the deliveries that failed for good.

Claim → send → record, where the claim is the record: a conditional UPDATE
stamps `Delivery.alerted_at` only where it is still NULL, so two beat runs or two
workers never both alert about a delivery. A send that raises releases the claim
(the stamp goes back to NULL) and the error is re-raised, so the task retries. A
process that dies after the email left but before the claim could be released
has nothing to release: the email went out. One that dies between the claim and
the send loses that one alert (at most once): the failures stay visible on the
seller's dashboard.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from emails.messages import message_build, message_id, message_send, send_each

from ..models import Delivery, DeliveryStatus

logger = logging.getLogger(__name__)

# One alert lists at most this many deliveries; the rest go into the next alert,
# so an outage with thousands of failures does not produce an unreadable email.
ALERT_MAX_DELIVERIES = 100


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

    return send_each(sellers, seller_alert_send)


def _seller_alert_send(*, seller, now: datetime) -> int:
    if not seller.email:
        # Left unclaimed: they are alerted once the seller adds an address.
        logger.warning("Seller %s has no email address; failure alert skipped", seller)
        return 0
    claimed = _seller_alert_claim(seller=seller, now=now)
    if not claimed:
        return 0
    try:
        message_send(_seller_alert_build(seller=seller, delivery_pks=claimed))
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
    return message_build(
        template="seller_alert",
        context=context,
        to=seller.email,
        message_id=message_id("seller-alert", key),
    )
