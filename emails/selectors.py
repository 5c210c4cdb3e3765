from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q, QuerySet

from .models import EmailEvent, EmailStatus, OrderEmail

# The seller's order page shows the latest reports about the customer's email;
# the whole log is in admin.
EMAIL_EVENTS_SHOWN = 20


def email_of(order) -> OrderEmail | None:
    """The order's email row (select_related("email") reads it with the order),
    or None while nothing is owed yet."""
    try:
        return order.email
    except OrderEmail.DoesNotExist:
        return None


def order_email_claim_stale_before(now: datetime) -> datetime:
    """An email claimed before this belongs to a worker that is surely gone
    (EMAIL_CLAIM_TIMEOUT_SECONDS)."""
    return now - timedelta(seconds=settings.FULFILLMENT["EMAIL_CLAIM_TIMEOUT_SECONDS"])


def order_emails_owed(*, now: datetime) -> QuerySet[OrderEmail]:
    """Emails owed to a customer that nobody is sending: not sent, or claimed by
    a worker so long ago that it is surely gone; owed for more than
    EMAIL_DISPATCH_GRACE_SECONDS (the worker that fulfilled the order sends it
    before then), of a product that sends order emails. The email dispatcher
    enqueues them again; /metrics counts them."""
    cutoff = now - timedelta(
        seconds=settings.FULFILLMENT["EMAIL_DISPATCH_GRACE_SECONDS"]
    )
    claimable = Q(status=EmailStatus.NOT_SENT) | Q(
        status=EmailStatus.SENDING,
        claimed_at__lt=order_email_claim_stale_before(now),
    )
    return OrderEmail.objects.filter(
        claimable, owed_since__lte=cutoff, order__product__send_order_emails=True
    )


def order_email_events(*, order_id: int) -> list[EmailEvent]:
    """The order's email log for its page, newest first."""
    events = EmailEvent.objects.filter(order_id=order_id)
    return list(events.order_by("-timestamp", "-pk")[:EMAIL_EVENTS_SHOWN])
