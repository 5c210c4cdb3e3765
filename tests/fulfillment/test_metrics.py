"""The figures to watch as Prometheus metrics (fulfillment/metrics.py): the
exposition parses as Prometheus text and carries what the deliveries, attempts
and circuits built through the services say.

/metrics is for operators only, so no other seller is involved; what matters is
that no customer data or webhook URL reaches a label.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from fulfillment.metrics import CIRCUITS_LABELLED, metrics_exposition
from fulfillment.services import claims
from fulfillment.services.endpoints import endpoint_key_for, endpoint_record_failure
from tests.factories import place
from tests.fulfillment.management.test_fulfillment_status import (
    THRESHOLD,
    attempt,
    breaker,
    failing,
)
from tests.httpserver import Route

__all__ = ["breaker"]  # a fixture, used by name below

pytestmark = pytest.mark.django_db


def scrape(now=None) -> dict[str, dict[tuple, float]]:
    """{metric name: {sorted label items: value}} from one exposition."""
    body, content_type = metrics_exposition(now=now)
    assert content_type.startswith("text/plain; version=0.0.4")
    return {
        family.name: {
            tuple(sorted(sample.labels.items())): sample.value
            for sample in family.samples
        }
        for family in text_string_to_metric_families(body.decode())
    }


def value(metrics, name: str, **labels: str) -> float:
    return metrics[name][tuple(sorted(labels.items()))]


def test_an_idle_shop_reports_zero_for_every_figure(db):
    metrics = scrape()

    assert value(metrics, "fulfillment_oldest_due_delivery_age_seconds") == 0
    assert metrics["fulfillment_failed_attempts_per_minute"] == {
        (("window", "5m"),): 0,
        (("window", "15m"),): 0,
    }
    assert value(metrics, "fulfillment_open_circuits") == 0
    assert value(metrics, "fulfillment_held_deliveries") == 0
    assert metrics["fulfillment_open_circuit_held_deliveries"] == {}
    assert metrics["fulfillment_deliveries"] == {
        (("status", status),): 0
        for status in ("pending", "retrying", "in_flight", "failed")
    }
    assert value(metrics, "fulfillment_orders_awaiting_email") == 0


def test_oldest_due_delivery_age_is_in_seconds(answering_product):
    delivery = place(answering_product).deliveries.get()

    metrics = scrape(now=delivery.next_attempt_at + timedelta(minutes=3))

    assert value(metrics, "fulfillment_oldest_due_delivery_age_seconds") == 180


def test_failed_attempts_per_minute_over_each_window(answering_product, seller_server):
    failing(answering_product, seller_server)
    for _ in range(3):
        attempt(place(answering_product).deliveries.get())

    metrics = scrape(now=timezone.now() + timedelta(minutes=10))

    assert value(metrics, "fulfillment_failed_attempts_per_minute", window="5m") == 0
    assert value(
        metrics, "fulfillment_failed_attempts_per_minute", window="15m"
    ) == pytest.approx(0.2)


def test_open_circuit_counts_and_its_held_deliveries_by_endpoint(
    answering_product, seller_server, breaker
):
    failing(answering_product, seller_server)
    for _ in range(THRESHOLD):
        attempt(place(answering_product).deliveries.get())
    attempt(place(answering_product).deliveries.get())  # held by the open circuit

    metrics = scrape()

    endpoint = endpoint_key_for(seller_server.url())
    assert value(metrics, "fulfillment_open_circuits") == 1
    assert value(metrics, "fulfillment_held_deliveries") == THRESHOLD + 1
    assert metrics["fulfillment_open_circuit_held_deliveries"] == {
        (("endpoint", endpoint),): THRESHOLD + 1
    }


def test_only_the_circuits_holding_the_most_get_their_own_series(
    answering_product, breaker
):
    keys = [f"https://seller{i:02}.example.com:443" for i in range(12)]
    for key in keys:
        for _ in range(THRESHOLD):
            endpoint_record_failure(key=key, message="503 from the server")

    metrics = scrape()

    assert value(metrics, "fulfillment_open_circuits") == 12
    labelled = metrics["fulfillment_open_circuit_held_deliveries"]
    assert len(labelled) == CIRCUITS_LABELLED == 10
    assert {dict(labels)["endpoint"] for labels in labelled} == set(keys[:10])


def test_deliveries_are_counted_by_status(answering_product, seller_server):
    place(answering_product)  # pending
    claims._claim(
        place(answering_product).deliveries.get().pk, timezone.now()
    )  # in flight
    failing(answering_product, seller_server)
    attempt(place(answering_product).deliveries.get())  # retrying
    seller_server.set_route("/license", Route(status=410, body="gone"))
    attempt(place(answering_product).deliveries.get())  # 410: failed at once

    metrics = scrape()

    assert metrics["fulfillment_deliveries"] == {
        (("status", "pending"),): 1,
        (("status", "in_flight"),): 1,
        (("status", "retrying"),): 1,
        (("status", "failed"),): 1,
    }


def test_a_fulfilled_order_awaits_its_email_once_the_grace_is_over(
    answering_product, settings
):
    # The email task would be enqueued after the commit; the test's transaction
    # never commits, as when the broker lost the message.
    order = place(answering_product)
    attempt(order.deliveries.get())
    order.refresh_from_db()
    grace = settings.FULFILLMENT["EMAIL_DISPATCH_GRACE_SECONDS"]

    within = scrape(now=order.fulfilled_at + timedelta(seconds=grace - 1))
    after = scrape(now=order.fulfilled_at + timedelta(seconds=grace + 1))

    assert order.fulfillment_status == "fulfilled"
    assert value(within, "fulfillment_orders_awaiting_email") == 0
    assert value(after, "fulfillment_orders_awaiting_email") == 1


def test_no_customer_data_or_webhook_url_reaches_the_exposition(
    answering_product, seller_server, breaker
):
    config = answering_product.webhook_config
    config.url = seller_server.url("/license?api_key=s3cr3t-query")
    config.save()
    # Nobody answers: the circuit opens.
    seller_server.set_route("/license", Route(close=True))
    for _ in range(THRESHOLD + 1):
        attempt(place(answering_product, email="ada@example.com").deliveries.get())

    body = metrics_exposition()[0].decode()

    assert endpoint_key_for(seller_server.url()) in body
    for secret in ("ada@example.com", "s3cr3t-query", "/license", "api_key"):
        assert secret not in body


def test_openmetrics_is_served_when_asked_for(db):
    body, content_type = metrics_exposition(
        accept="application/openmetrics-text; version=1.0.0"
    )

    assert content_type.startswith("application/openmetrics-text")
    assert body.endswith(b"# EOF\n")
