"""Read queries of the fulfillment app that views share."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.conf import settings
from django.db.models import Q, QuerySet

from orders.models import EmailStatus, FulfillmentStatus, Order

from .models import Delivery


def deliveries_for_product(
    *,
    product,
    status: str = "",
    created_from: date | None = None,
    created_to: date | None = None,
) -> QuerySet[Delivery]:
    """A product's real deliveries (test ones belong to the Webhook Editor),
    newest first, optionally by status and creation date (inclusive)."""
    deliveries = Delivery.objects.filter(product=product, is_test=False)
    if status:
        deliveries = deliveries.filter(status=status)
    if created_from:
        deliveries = deliveries.filter(created_at__date__gte=created_from)
    if created_to:
        deliveries = deliveries.filter(created_at__date__lte=created_to)
    return deliveries.select_related("order").order_by("-created_at", "-pk")


def order_email_claim_stale_before(now: datetime) -> datetime:
    """An email claimed before this belongs to a worker that is surely gone
    (EMAIL_CLAIM_TIMEOUT_SECONDS)."""
    return now - timedelta(seconds=settings.FULFILLMENT["EMAIL_CLAIM_TIMEOUT_SECONDS"])


def order_email_claimable(now: datetime) -> Q:
    """Orders whose email nobody is sending: not sent, or claimed by a worker so
    long ago that it is surely gone."""
    return Q(email_status=EmailStatus.NOT_SENT) | Q(
        email_status=EmailStatus.SENDING,
        email_claimed_at__lt=order_email_claim_stale_before(now),
    )


def order_emails_owed(*, now: datetime) -> QuerySet[Order]:
    """Orders whose customer is owed the email and nobody is sending it: fulfilled
    (or delivered by the seller) more than EMAIL_DISPATCH_GRACE_SECONDS ago, of a
    product that sends order emails. The email dispatcher enqueues them again;
    /metrics counts them."""
    cutoff = now - timedelta(
        seconds=settings.FULFILLMENT["EMAIL_DISPATCH_GRACE_SECONDS"]
    )
    owed = Q(fulfillment_status=FulfillmentStatus.FULFILLED, fulfilled_at__lte=cutoff)
    owed |= Q(fulfillment_status=FulfillmentStatus.MANUAL, completed_at__lte=cutoff)
    return (
        Order.objects.filter(owed)
        .filter(order_email_claimable(now))
        .filter(product__send_order_emails=True)
    )
