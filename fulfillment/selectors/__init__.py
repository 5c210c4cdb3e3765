"""Read queries of the fulfillment app that views share."""

from __future__ import annotations

from datetime import date

from django.db.models import QuerySet

from ..models import Delivery


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
