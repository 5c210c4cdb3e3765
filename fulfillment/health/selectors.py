"""The health pages' entry points: products in, figures out, in a fixed number
of queries (see the package docstring for what each figure counts)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.utils import timezone

from .figures import ProductHealth
from .queries import delivery_counts, last_failures, open_circuits, percentile

if TYPE_CHECKING:
    from products.models import Product

WINDOW = timedelta(days=7)
PERCENTILES = (50, 95)


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
    counts = delivery_counts(pks, since)
    percentiles = {p: percentile(pks, since, p) for p in PERCENTILES}
    failures = last_failures(pks, since)
    circuits = open_circuits(products, now)
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
