"""Product health for the seller dashboard: how a product's webhook did lately.

Pure reads, no writes. Every figure covers real deliveries only: test deliveries
belong to the Webhook Editor and say nothing about what customers received.

- Counts are of deliveries *created* in the window. The success rate is
  succeeded / (succeeded + failed) among them: deliveries still pending or
  retrying have not finished, and a cancelled one was a seller's decision, so
  neither counts for or against the server. A delivery fulfilled by hand
  finished, but not through the server: it counts as failed.
- Response times are of attempts *started* in the window that got an HTTP
  response (any status): a timeout or a refused connection has no response time.
  Percentiles use the nearest-rank method, computed in the database with
  window functions (ROW_NUMBER and COUNT over each product's attempts; SQLite
  3.25+ and PostgreSQL both have them, and Django wraps the query to filter on
  them). That is one query per percentile for every product of the list, where
  ORDER BY ... OFFSET would take one per product, and only one row per product
  comes back to Python.
- The last failure is the newest failed attempt started in the window.
- The circuit is that of the endpoint of the product's current Webhook URL.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, cast

from django.conf import settings
from django.db.models import Count, F, Q, QuerySet, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from ..models import (
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    EndpointHealth,
    ErrorKind,
    WebhookConfig,
)
from ..services.endpoints import endpoint_key_for

if TYPE_CHECKING:
    from products.models import Product

WINDOW = timedelta(days=7)
PERCENTILES = (50, 95)


@dataclass(frozen=True)
class LastFailure:
    at: datetime
    delivery_id: str
    message: str


@dataclass(frozen=True)
class ProductHealth:
    deliveries: int = 0
    succeeded: int = 0
    failed: int = 0
    p50_ms: int | None = None
    p95_ms: int | None = None
    last_failure: LastFailure | None = None
    # Set while the endpoint's circuit is open: requests wait until then (the
    # next probe), and why it opened (the last failure that counted).
    circuit_open_until: datetime | None = None
    circuit_reason: str = ""

    @property
    def probe_seconds(self) -> int:
        """The longest wait between two tries while the server does not answer."""
        conf = settings.FULFILLMENT
        return max(conf["CIRCUIT_MAX_OPEN_SECONDS"], conf["CIRCUIT_OPEN_SECONDS"])

    @property
    def finished(self) -> int:
        return self.succeeded + self.failed

    @property
    def success_percent(self) -> int | None:
        """Whole percent of finished deliveries that succeeded, rounded down so
        that a single failure never reads as 100 %; None when none finished."""
        if not self.finished:
            return None
        return 100 * self.succeeded // self.finished

    @property
    def circuit_open(self) -> bool:
        return self.circuit_open_until is not None


def product_health(product: Product, *, now: datetime | None = None) -> ProductHealth:
    """One product's health over the last WINDOW (see the module docstring)."""
    return products_health([product], now=now)[product.pk]


def products_health(
    products: Iterable[Product], *, now: datetime | None = None
) -> dict[int, ProductHealth]:
    """Health of many products by pk, for the product list without N+1.

    Six queries however many products there are, none when there are none: the
    delivery counts (one grouped query), each of the two percentiles and the last
    failures (one window-function query each, over all the products' attempts),
    and the open circuits (the Webhook URLs, then EndpointHealth).
    """
    products = list(products)
    pks = [product.pk for product in products]
    if not pks:
        return {}
    now = now or timezone.now()
    since = now - WINDOW
    counts = _delivery_counts(pks, since)
    percentiles = {p: _percentile(pks, since, p) for p in PERCENTILES}
    failures = _last_failures(pks, since)
    circuits = _open_circuits(products, now)
    return {
        pk: ProductHealth(
            **counts.get(pk, {}),
            p50_ms=percentiles[50].get(pk),
            p95_ms=percentiles[95].get(pk),
            last_failure=failures.get(pk),
            circuit_open_until=circuits[pk][0] if pk in circuits else None,
            circuit_reason=circuits[pk][1] if pk in circuits else "",
        )
        for pk in pks
    }


def _delivery_counts(pks: list[int], since: datetime) -> dict[int, dict[str, int]]:
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


def _percentile(pks: list[int], since: datetime, percent: int) -> dict[int, int]:
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


def _last_failures(pks: list[int], since: datetime) -> dict[int, LastFailure]:
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


def _open_circuits(
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
