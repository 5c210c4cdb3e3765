"""Read queries of the Alerts page: a seller's alerts, one alert, recent counts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Count, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from ..models import DUE_STATUSES, AlertDelivery, DeliveryStatus

# The Alerts page's counts cover this many days, as product health does.
ALERT_COUNT_DAYS = 7


def alerts_for_seller(*, seller_id: int) -> QuerySet[AlertDelivery]:
    """The seller's alerts, tests included (they are the seller's own), newest
    first."""
    return AlertDelivery.objects.filter(seller_id=seller_id).order_by(
        "-created_at", "-pk"
    )


def alert_of_seller(*, seller_id: int, alert_id: str) -> AlertDelivery:
    """The seller's alert; Http404 for any other, whoever's it is."""
    return get_object_or_404(AlertDelivery, seller_id=seller_id, alert_id=alert_id)


@dataclass(frozen=True)
class AlertCounts:
    succeeded: int
    failed: int
    waiting: int

    @property
    def total(self) -> int:
        return self.succeeded + self.failed + self.waiting


def alert_counts(*, seller_id: int, now=None) -> AlertCounts:
    """The seller's real alerts of the last ALERT_COUNT_DAYS days by outcome:
    accepted, failed for good, and still waiting (due, retrying or on the
    wire). Kept apart from product health: an alert is no delivery."""
    since = (now or timezone.now()) - timedelta(days=ALERT_COUNT_DAYS)
    counts = AlertDelivery.objects.filter(
        seller_id=seller_id, is_test=False, created_at__gte=since
    ).aggregate(
        succeeded=Count("pk", filter=Q(status=DeliveryStatus.SUCCEEDED)),
        failed=Count("pk", filter=Q(status=DeliveryStatus.FAILED)),
        waiting=Count(
            "pk", filter=Q(status__in=[*DUE_STATUSES, DeliveryStatus.IN_FLIGHT])
        ),
    )
    return AlertCounts(**counts)
