"""Old attempt bodies are cleared; the attempt rows and their metadata stay.

Attempts are made by the engine against a real seller server on 127.0.0.1. Only
their age is simulated: `started_at` is moved back, as the clock would have.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from fulfillment.models import DeliveryAttempt
from fulfillment.services.deliveries import delivery_attempt
from fulfillment.services.housekeeping import attempts_purge
from fulfillment.tasks import attempts_purge_task
from tests.httpserver import Route
from web.orders.services import order_place

pytestmark = pytest.mark.django_db


@pytest.fixture
def secret_answering_product(wired_product, seller_server, fulfillment_settings):
    """The wired product, answered with LICENSE-SECRET; attempts are kept 30 days."""
    fulfillment_settings(ATTEMPT_RETENTION_DAYS=30)
    seller_server.set_route("/license", Route(body="LICENSE-SECRET"))
    return wired_product


def make_attempt(product, *, days_ago: int = 0) -> DeliveryAttempt:
    order = order_place(product=product, quantity=1, customer_email="ada@example.com")
    delivery = order.deliveries.get()
    delivery_attempt(delivery_pk=delivery.pk)
    attempt = delivery.attempts.get()
    DeliveryAttempt.objects.filter(pk=attempt.pk).update(
        started_at=attempt.started_at - timedelta(days=days_ago)
    )
    attempt.refresh_from_db()
    return attempt


def test_old_attempts_lose_bodies_and_headers_but_keep_their_history(
    secret_answering_product,
):
    old = make_attempt(secret_answering_product, days_ago=31)
    assert old.response_body == "LICENSE-SECRET"

    assert attempts_purge() == 1

    old.refresh_from_db()
    assert (old.request_body, old.response_body) == ("", "")
    assert (old.request_headers, old.response_headers) == ({}, {})
    assert old.response_status == 200
    assert old.succeeded
    assert old.request_url.endswith("/license")
    assert old.duration_ms >= 0


def test_recent_attempts_are_kept(secret_answering_product):
    recent = make_attempt(secret_answering_product, days_ago=29)

    assert attempts_purge() == 0

    recent.refresh_from_db()
    assert recent.response_body == "LICENSE-SECRET"
    assert recent.request_headers


def test_purge_counts_only_what_it_cleared_and_runs_in_batches(
    secret_answering_product,
):
    for _ in range(3):
        make_attempt(secret_answering_product, days_ago=40)
    make_attempt(secret_answering_product, days_ago=1)

    assert attempts_purge(batch_size=2) == 3
    assert attempts_purge(batch_size=2) == 0
    assert DeliveryAttempt.objects.count() == 4
    assert DeliveryAttempt.objects.exclude(response_body="").count() == 1


def test_get_webhooks_lose_the_query_string_too(secret_answering_product):
    secret_answering_product.webhook_config.method = "GET"
    secret_answering_product.webhook_config.save()
    old = make_attempt(secret_answering_product, days_ago=31)
    assert "?" in old.request_url

    attempts_purge()

    old.refresh_from_db()
    assert "?" not in old.request_url
    assert old.request_url.endswith("/license")


def test_now_moves_the_cutoff(secret_answering_product):
    make_attempt(secret_answering_product)

    assert attempts_purge(now=timezone.now() + timedelta(days=31)) == 1


def test_purge_task_runs_the_service(secret_answering_product):
    make_attempt(secret_answering_product, days_ago=31)

    assert attempts_purge_task.delay().get() == 1


def test_old_alert_attempts_lose_their_bodies_too(
    alice, seller_server, loopback, fulfillment_settings
):
    from fulfillment.models import AlertAttempt
    from fulfillment.services.alert_engine import alert_test_send
    from fulfillment.services.alerts import (
        alert_endpoint_get_or_create,
        alert_endpoint_save,
    )

    fulfillment_settings(ATTEMPT_RETENTION_DAYS=30)
    seller_server.set_route("/alerts", Route(body="ALERT-SECRET"))
    endpoint = alert_endpoint_get_or_create(seller_id=alice.pk)
    alert_endpoint_save(endpoint=endpoint, url=seller_server.url("/alerts"), events=[])
    old = alert_test_send(seller_id=alice.pk).attempts.get()
    AlertAttempt.objects.filter(pk=old.pk).update(
        started_at=timezone.now() - timedelta(days=31)
    )
    recent = alert_test_send(seller_id=alice.pk).attempts.get()

    assert attempts_purge() == 1

    old.refresh_from_db()
    recent.refresh_from_db()
    assert (old.request_body, old.response_body, old.request_headers) == ("", "", {})
    assert old.response_status == 200
    assert recent.response_body == "ALERT-SECRET"
