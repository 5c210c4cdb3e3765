"""The health's database reads, each one query for all the products asked about."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any, cast

from django.db.models import Count, F, Q, QuerySet, Window
from django.db.models.functions import RowNumber, TruncDate

from ...models import (
    Delivery,
    DeliveryAttempt,
    DeliverySource,
    DeliveryStatus,
    EndpointHealth,
    ErrorKind,
    WebhookConfig,
)
from ...services.endpoints import endpoint_key_for
from .figures import TALLY_FIELDS, LastFailure

if TYPE_CHECKING:
    from products.models import Product


# Keys of the per-day figures: a product's pk and a date in the current time zone.
ProductDay = tuple[int, date]
# What percentile() can group attempts by.
GROUPS = {"product": F("delivery__product"), "day": TruncDate("started_at")}
IN_PROGRESS = (
    DeliveryStatus.PENDING,
    DeliveryStatus.IN_FLIGHT,
    DeliveryStatus.RETRYING,
)


_SERVER_SUCCEEDED = Q(status=DeliveryStatus.SUCCEEDED, handled_by__isnull=True) & ~Q(
    source=DeliverySource.FALLBACK
)


def delivery_counts(
    pks: list[int], since: datetime
) -> dict[ProductDay, dict[str, int]]:
    """The Tally counts of each product's deliveries per day of creation; days
    without deliveries are missing."""
    rows = (
        Delivery.objects.filter(product__in=pks, is_test=False, created_at__gte=since)
        .order_by()
        .annotate(day=TruncDate("created_at"))
        .values("product", "day")
        .annotate(
            deliveries=Count("pk"),
            # Fulfilled by hand, or served from the key list as the fallback,
            # means the webhook did not deliver: it counts as finished, not as
            # a success of the seller's server.
            succeeded=Count("pk", filter=_SERVER_SUCCEEDED),
            failed=Count(
                "pk",
                filter=Q(status=DeliveryStatus.FAILED)
                | Q(status=DeliveryStatus.SUCCEEDED) & ~_SERVER_SUCCEEDED,
            ),
            in_progress=Count("pk", filter=Q(status__in=IN_PROGRESS)),
            needs_attention=Count("pk", filter=Q(status=DeliveryStatus.FAILED)),
        )
    )
    return {
        (pk, day): dict(zip(TALLY_FIELDS, tally, strict=True))
        for pk, day, *tally in rows.values_list("product", "day", *TALLY_FIELDS)
    }


def _real_attempts(pks: list[int], since: datetime) -> QuerySet[DeliveryAttempt]:
    return DeliveryAttempt.objects.filter(
        delivery__product__in=pks,
        delivery__is_test=False,
        started_at__gte=since,
    ).order_by()


def percentile(
    pks: list[int], since: datetime, percent: int, *, by: tuple[str, ...]
) -> dict[tuple[Any, ...], int]:
    """Nearest rank: the value at rank ceil(percent / 100 * n) of the n answered
    attempts sorted by duration, per group. Integer arithmetic (n * p + 99) /
    100 is that ceiling on SQLite and PostgreSQL alike, without floats.

    `by` names the groups: ("product",), ("product", "day") (the date the
    attempt started), or () for all the products' attempts together. The
    result is keyed by those values, as a tuple.
    """
    groups = [F(name) for name in by] or None
    ranked = (
        _real_attempts(pks, since)
        .filter(response_status__isnull=False)
        .annotate(**{name: GROUPS[name] for name in by})
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=groups,
                order_by=[F("duration_ms"), F("pk")],
            ),
            answered=Window(Count("pk"), partition_by=groups),
        )
        .filter(rank=(F("answered") * percent + 99) / 100)
    )
    return {tuple(row[:-1]): row[-1] for row in ranked.values_list(*by, "duration_ms")}


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
