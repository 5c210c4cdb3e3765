"""The health pages' entry points: products in, figures out, in a fixed number
of queries (see the package docstring for what each figure counts)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from .figures import DayHealth, DayTally, ProductHealth, SellerHealth, summed
from .queries import (
    ProductDay,
    delivery_counts,
    last_failures,
    open_circuits,
    percentile,
)

if TYPE_CHECKING:
    from products.models import Product

DAYS = 7
PERCENTILES = (50, 95)
PER_PRODUCT = ("product",)
PER_PRODUCT_DAY = ("product", "day")


def window_days(now: datetime) -> tuple[date, ...]:
    """Today and the DAYS - 1 days before it, oldest first, in the current
    time zone."""
    today = timezone.localdate(now)
    return tuple(today - timedelta(days=back) for back in range(DAYS - 1, -1, -1))


def window_start(days: tuple[date, ...]) -> datetime:
    return timezone.make_aware(datetime.combine(days[0], time.min))


def product_health(product: Product, *, now: datetime | None = None) -> ProductHealth:
    """One product's health over the window (see the package docstring)."""
    return products_health([product], now=now)[product.pk]


def products_health(
    products: Iterable[Product], *, now: datetime | None = None
) -> dict[int, ProductHealth]:
    """Health of many products by pk, for the product list without N+1.

    Seven queries however many products there are, none when there are none:
    the delivery counts per product and day (one grouped query), the p50 and
    p95 per product, the p95 per product and day and the last failures (one
    window-function query each, over all the products' attempts), and the open
    circuits (the Webhook URLs, then EndpointHealth).
    """
    products = list(products)
    pks = [product.pk for product in products]
    if not pks:
        return {}
    now = now or timezone.now()
    days = window_days(now)
    since = window_start(days)
    counts = delivery_counts(pks, since)
    weekly = {p: percentile(pks, since, p, by=PER_PRODUCT) for p in PERCENTILES}
    daily_p95 = percentile(pks, since, 95, by=PER_PRODUCT_DAY)
    failures = last_failures(pks, since)
    circuits = open_circuits(products, now)
    health = {}
    for pk in pks:
        per_day = _product_days(pk, days, counts, daily_p95)
        health[pk] = ProductHealth(
            **summed(per_day),
            days=per_day,
            p50_ms=weekly[50].get((pk,)),
            p95_ms=weekly[95].get((pk,)),
            last_failure=failures.get(pk),
            circuit_open_until=circuits[pk][0] if pk in circuits else None,
            circuit_reason=circuits[pk][1] if pk in circuits else "",
        )
    return health


def _product_days(
    pk: int,
    days: tuple[date, ...],
    counts: dict[ProductDay, dict[str, int]],
    daily_p95: dict[tuple[Any, ...], int],
) -> tuple[DayHealth, ...]:
    """Every day of the window, those without deliveries as zeros."""
    return tuple(
        DayHealth(day=day, p95_ms=daily_p95.get((pk, day)), **counts.get((pk, day), {}))
        for day in days
    )


def seller_health(
    products: Iterable[Product], *, now: datetime | None = None
) -> SellerHealth:
    """Each product's health and all of them together: products_health's seven
    queries and one more for the p95 of all their answered attempts."""
    products = list(products)
    now = now or timezone.now()
    health = products_health(products, now=now)
    days = window_days(now)
    by_day = [
        DayTally(day=day, **summed(h.days[i] for h in health.values()))
        for i, day in enumerate(days)
    ]
    p95 = percentile(list(health), window_start(days), 95, by=()) if health else {}
    return SellerHealth(
        **summed(by_day),
        days=tuple(by_day),
        p95_ms=p95.get(()),
        webhook_products=sum(1 for product in products if product.uses_webhook),
        products=health,
    )
