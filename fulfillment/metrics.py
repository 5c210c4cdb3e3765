"""The figures to watch (fulfillment/ops.py) as Prometheus metrics, for /metrics.

Every scrape builds a fresh registry whose one collector reads the database at
that moment. Nothing is counted in memory: each gunicorn worker would hold its
own counts and a scrape would see whichever worker answered. From the database
every worker answers the same, so a scrape through the load balancer is as good
as one of each machine.

Labels carry no customer data and stay few: `window` has two values, `status`
four, and `endpoint` (scheme://host:port of a seller's server, never a path or
a query string) names at most CIRCUITS_LABELLED open circuits.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime

from django.utils import timezone
from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from .ops import OpsStatus, deliveries_by_status, ops_status, orders_awaiting_email

# Open circuits with their own series, the most deliveries held first; the
# total counts them all. A bad night with hundreds of open circuits must not
# become hundreds of series.
CIRCUITS_LABELLED = 10


def metrics_exposition(
    *, accept: str = "", now: datetime | None = None
) -> tuple[bytes, str]:
    """The exposition as of `now` (the time of the call by default) and its
    content type, in the format `accept` asks for: Prometheus text unless it
    asks for OpenMetrics."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(FulfillmentCollector(now=now))
    encoder, content_type = choose_encoder(accept)
    return encoder(registry), content_type


class FulfillmentCollector(Collector):
    """Reads the figures when the registry is collected, all as of one instant."""

    def __init__(self, *, now: datetime | None = None):
        self.now = now

    def collect(self) -> Iterator[Metric]:
        now = self.now or timezone.now()
        status = ops_status(now=now)
        yield from _ops_metrics(status)
        yield _gauge_by(
            "fulfillment_deliveries",
            "Real deliveries in each state that is not final or wants a person.",
            "status",
            deliveries_by_status(),
        )
        yield _gauge(
            "fulfillment_orders_awaiting_email",
            "Orders whose email is owed past its grace and that nobody is sending.",
            orders_awaiting_email(now=now),
        )


def _ops_metrics(status: OpsStatus) -> Iterator[Metric]:
    oldest = status.oldest_due
    yield _gauge(
        "fulfillment_oldest_due_delivery_age_seconds",
        "How long the delivery due the longest has waited (0: none is due).",
        oldest.age.total_seconds() if oldest else 0.0,
    )
    yield _gauge_by(
        "fulfillment_failed_attempts_per_minute",
        "Failed attempts of real deliveries per minute, over the last window.",
        "window",
        {f"{rate.minutes}m": rate.per_minute for rate in status.failure_rates},
    )
    circuits = status.open_circuits
    yield _gauge(
        "fulfillment_open_circuits",
        "Seller endpoints whose circuit breaker is open.",
        len(circuits),
    )
    yield _gauge(
        "fulfillment_held_deliveries",
        "Deliveries held because their endpoint's circuit is open.",
        sum(c.waiting for c in circuits),
    )
    worst = sorted(circuits, key=lambda c: (-c.waiting, c.key))[:CIRCUITS_LABELLED]
    yield _gauge_by(
        "fulfillment_open_circuit_held_deliveries",
        f"Deliveries held by each open circuit (the {CIRCUITS_LABELLED} holding "
        "the most).",
        "endpoint",
        {c.key: c.waiting for c in worst},
    )


def _gauge(name: str, documentation: str, value: float) -> Metric:
    return GaugeMetricFamily(name, documentation, value=value)


def _gauge_by(
    name: str, documentation: str, label: str, values: Mapping[str, float]
) -> Metric:
    """One gauge family, a sample for each value of its one label."""
    gauge = GaugeMetricFamily(name, documentation, labels=[label])
    for label_value, value in values.items():
        gauge.add_metric([label_value], value)
    return gauge
