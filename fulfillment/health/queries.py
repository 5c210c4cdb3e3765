"""The health's database reads, each one query for all the products asked about."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, cast

from django.db.models import Count, F, Q, QuerySet, Window
from django.db.models.functions import RowNumber

from ..models import (
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    EndpointHealth,
    ErrorKind,
    WebhookConfig,
)
from ..services.endpoints import endpoint_key_for
from .figures import LastFailure

if TYPE_CHECKING:
    from products.models import Product


def delivery_counts(pks: list[int], since: datetime) -> dict[int, dict[str, int]]:
    rows = (
        Delivery.objects.filter(product__in=pks, is_test=False, created_at__gte=since)
        .order_by()
        .values("product")
        .annotate(
            deliveries=Count("pk"),
            # Fulfilled by hand means the webhook did not deliver: it counts as
            # finished, not as a success of the seller's server.
            succeeded=Count(
                "pk",
                filter=Q(status=DeliveryStatus.SUCCEEDED, handled_by__isnull=True),
            ),
            failed=Count(
                "pk",
                filter=Q(status=DeliveryStatus.FAILED)
                | Q(status=DeliveryStatus.SUCCEEDED, handled_by__isnull=False),
            ),
        )
    )
    return {
        row["product"]: {
            "deliveries": row["deliveries"],
            "succeeded": row["succeeded"],
            "failed": row["failed"],
        }
        for row in rows
    }


def _real_attempts(pks: list[int], since: datetime) -> QuerySet[DeliveryAttempt]:
    return DeliveryAttempt.objects.filter(
        delivery__product__in=pks,
        delivery__is_test=False,
        started_at__gte=since,
    ).order_by()


def percentile(pks: list[int], since: datetime, percent: int) -> dict[int, int]:
    """Nearest rank: the value at rank ceil(percent / 100 * n) of the n answered
    attempts sorted by duration, per product. Integer arithmetic (n * p + 99) /
    100 is that ceiling on SQLite and PostgreSQL alike, without floats."""
    per_product = [F("delivery__product")]
    ranked = (
        _real_attempts(pks, since)
        .filter(response_status__isnull=False)
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=per_product,
                order_by=[F("duration_ms"), F("pk")],
            ),
            answered=Window(Count("pk"), partition_by=per_product),
        )
        .filter(rank=(F("answered") * percent + 99) / 100)
    )
    return dict(ranked.values_list("delivery__product", "duration_ms"))


def last_failures(pks: list[int], since: datetime) -> dict[int, LastFailure]:
    newest_first = (
        _real_attempts(pks, since)
        .filter(succeeded=False)
        # A try lost with our own stopped worker says nothing about the server.
        .exclude(error_kind=ErrorKind.INTERRUPTED)
        .annotate(
            recency=Window(
                RowNumber(),
                partition_by=[F("delivery__product")],
                order_by=[F("started_at").desc(), F("pk").desc()],
            )
        )
        .filter(recency=1)
        .values_list(
            "delivery__product", "started_at", "delivery__delivery_id", "message"
        )
    )
    return {
        pk: LastFailure(at=at, delivery_id=delivery_id, message=message)
        for pk, at, delivery_id, message in newest_first
    }


def open_circuits(
    products: list[Product], now: datetime
) -> dict[int, tuple[datetime, str]]:
    """Until when, and why, each webhook product's endpoint circuit is open now."""
    webhook_pks = [product.pk for product in products if product.uses_webhook]
    urls = WebhookConfig.objects.filter(product__in=webhook_pks).exclude(url="")
    keys = {pk: endpoint_key_for(url) for pk, url in urls.values_list("product", "url")}
    circuits = {
        key: (cast(datetime, open_until), reason)  # open_until > now below
        for key, open_until, reason in EndpointHealth.objects.filter(
            key__in=set(keys.values()) - {""}, open_until__gt=now
        ).values_list("key", "open_until", "last_error")
    }
    return {pk: circuits[key] for pk, key in keys.items() if key in circuits}
