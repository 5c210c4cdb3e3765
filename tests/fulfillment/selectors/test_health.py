"""Product health on the product list and the product page.

alice owns `live_product` (and the extra products of the query-bound test); bob
is another seller and gets a 404 on her product page, health and all.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from fulfillment.models import (
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    EndpointHealth,
    WebhookConfig,
)
from fulfillment.selectors.health import ProductHealth, product_health, products_health
from fulfillment.services.deliveries import delivery_attempt
from fulfillment.services.endpoints import (
    endpoint_key_for,
    endpoint_record_failure,
    endpoint_record_success,
)
from tests.factories import (
    ProductFactory,
    WebhookConfigFactory,
    age,
    make_attempt,
    make_delivery,
    make_failed,
    make_succeeded,
)
from tests.fulfillment.fallback import fallback_on, served_by_fallback
from tests.httpserver import Route

pytestmark = pytest.mark.django_db

THRESHOLD = 3
OPEN_SECONDS = 600
CIRCUIT_WARNING = "We paused requests to your server because it stopped answering"
PAUSED = "Paused: your server is not answering"


@pytest.fixture(autouse=True)
def circuit_settings(settings):
    settings.FULFILLMENT = {
        **settings.FULFILLMENT,
        "CIRCUIT_FAILURE_THRESHOLD": THRESHOLD,
        "CIRCUIT_OPEN_SECONDS": OPEN_SECONDS,
    }


def _open_circuit(product) -> None:
    """THRESHOLD failures that say the server is down open its circuit."""
    key = endpoint_key_for(product.webhook_config.url)
    for _ in range(THRESHOLD):
        endpoint_record_failure(key=key, message="Timed out after 15 s.")


def _list_page(client):
    return client.get(reverse("products:list")).content.decode()


def _detail_page(client, product):
    return client.get(reverse("products:detail", args=[product.pk])).content.decode()


# --- Figures ---------------------------------------------------------------------


def test_percentiles_are_nearest_rank_of_answered_attempts(live_product):
    for duration in range(1000, 0, -100):  # 10 attempts, 100..1000 ms, unsorted
        make_succeeded(live_product, duration_ms=duration)

    health = product_health(live_product)

    assert (health.p50_ms, health.p95_ms) == (500, 1000)


def test_percentiles_of_one_attempt_are_that_attempt(live_product):
    make_succeeded(live_product, duration_ms=321)

    health = product_health(live_product)

    assert (health.p50_ms, health.p95_ms) == (321, 321)


def test_attempts_without_a_response_have_no_response_time(live_product):
    make_succeeded(live_product, duration_ms=200)
    timed_out = make_delivery(live_product, DeliveryStatus.RETRYING)
    make_attempt(timed_out, duration_ms=15000, status=None, succeeded=False)

    health = product_health(live_product)

    assert (health.p50_ms, health.p95_ms) == (200, 200)


def test_success_rate_counts_finished_deliveries_only(live_product):
    for _ in range(3):
        make_succeeded(live_product)
    make_failed(live_product)
    make_delivery(live_product, DeliveryStatus.RETRYING)
    make_delivery(live_product, DeliveryStatus.CANCELLED)

    health = product_health(live_product)

    assert (health.deliveries, health.succeeded, health.failed) == (6, 3, 1)
    assert health.success_percent == 75


def test_a_delivery_fulfilled_by_hand_is_not_a_success_of_the_server(
    live_product, alice
):
    make_succeeded(live_product)
    by_hand = make_failed(live_product)
    Delivery.objects.filter(pk=by_hand.pk).update(
        status=DeliveryStatus.SUCCEEDED, handled_by=alice
    )

    health = product_health(live_product)

    assert (health.succeeded, health.failed, health.success_percent) == (1, 1, 50)


def test_a_delivery_served_from_the_key_list_is_not_a_success_of_the_server(
    live_product,
):
    make_succeeded(live_product)
    fallback_on(live_product, "SPARE-1")
    served_by_fallback(live_product)

    health = product_health(live_product)

    assert (health.succeeded, health.failed, health.success_percent) == (1, 1, 50)


def test_one_failure_in_many_never_reads_as_100_percent():
    assert ProductHealth(succeeded=199, failed=1).success_percent == 99


def test_test_deliveries_are_left_out(live_product):
    test = Delivery.objects.create(
        product=live_product, is_test=True, config_version=1, status="failed"
    )
    make_attempt(test, duration_ms=900, status=500, succeeded=False, message="Test.")

    health = product_health(live_product)

    assert (health.deliveries, health.failed, health.p50_ms) == (0, 0, None)
    assert health.last_failure is None


def test_deliveries_older_than_seven_days_are_left_out(live_product):
    age(make_failed(live_product), days=8)
    age(make_succeeded(live_product, duration_ms=300), days=6)

    health = product_health(live_product)

    assert (health.deliveries, health.succeeded, health.failed) == (1, 1, 0)
    assert (health.p50_ms, health.last_failure) == (300, None)


def test_nothing_yet_has_no_rate_and_no_times(live_product):
    health = product_health(live_product)

    assert health.deliveries == 0
    assert health.success_percent is None
    assert (health.p50_ms, health.p95_ms, health.last_failure) == (None, None, None)
    assert not health.circuit_open


def test_last_failure_is_the_newest_failed_attempt(live_product):
    older = make_failed(live_product, "Your server answered 503.")
    newer = make_failed(live_product, "Timed out after 15 s.")
    DeliveryAttempt.objects.filter(delivery=older).update(
        started_at=timezone.now() - timedelta(hours=1)
    )

    failure = product_health(live_product).last_failure

    assert (failure.delivery_id, failure.message) == (
        newer.delivery_id,
        "Timed out after 15 s.",
    )


def test_figures_of_a_real_attempt(live_product, seller_server, settings):
    settings.FULFILLMENT = {
        **settings.FULFILLMENT,
        "ALLOWED_PRIVATE_NETWORKS": ["127.0.0.0/8"],
    }
    seller_server.set_route("/license", Route(body="KEY-1", delay=0.05))
    WebhookConfig.objects.filter(product=live_product).update(
        url=seller_server.url("/license")
    )
    delivery = make_delivery(live_product)

    delivery_attempt(delivery_pk=delivery.pk)

    health = product_health(live_product)
    assert (health.deliveries, health.success_percent) == (1, 100)
    assert health.p50_ms == health.p95_ms
    assert health.p50_ms >= 50


def test_products_health_keeps_products_apart(alice, live_product):
    other = ProductFactory(seller=alice, status="live")
    WebhookConfigFactory(product=other, url="https://other.example.org/issue")
    make_succeeded(live_product, duration_ms=100)
    make_failed(other)

    health = products_health([live_product, other])

    assert (health[live_product.pk].succeeded, health[live_product.pk].failed) == (1, 0)
    assert (health[other.pk].succeeded, health[other.pk].failed) == (0, 1)
    assert health[live_product.pk].last_failure is None


# --- Pages ---------------------------------------------------------------------


def test_list_page_shows_the_figures(alice_client, live_product):
    for duration in range(100, 1001, 100):
        make_succeeded(live_product, duration_ms=duration)
    make_failed(live_product)  # a 50 ms answer: p50 500 ms, p95 1000 ms of 11

    page = _list_page(alice_client)

    assert "11 deliveries · 90 % ok · p50 500 ms · p95 1000 ms" in page


def test_pages_say_no_deliveries_in_the_last_7_days(alice_client, live_product):
    listed = _list_page(alice_client)
    detail = _detail_page(alice_client, live_product)

    assert "No deliveries in the last 7 days" in listed
    assert "No deliveries in the last 7 days" in detail
    assert "0 %" not in listed
    assert "0 %" not in detail


def test_detail_page_shows_the_figures(alice_client, live_product):
    for duration in range(100, 1001, 100):
        make_succeeded(live_product, duration_ms=duration)

    page = _detail_page(alice_client, live_product)

    assert "Health, last 7 days" in page
    assert "10 (10 succeeded, 0 failed)" in page
    assert "100 % ok" in page
    assert "p50 500 ms · p95 1000 ms" in page


def test_last_failure_reason_is_shown_escaped_with_a_link(alice_client, live_product):
    reason = "Your server answered 500: <script>alert(1)</script>"
    delivery = make_failed(live_product, reason)
    link = reverse(
        "fulfillment:delivery-detail",
        kwargs={"pk": live_product.pk, "delivery_id": delivery.delivery_id},
    )

    for page in (_list_page(alice_client), _detail_page(alice_client, live_product)):
        assert link in page
        assert "<script>alert(1)</script>" not in page
        assert escape("Your server answered 500: <script>") in page
    assert escape(reason) in _detail_page(alice_client, live_product)


def test_long_failure_reason_is_truncated_on_the_list(alice_client, live_product):
    reason = "The server said: " + "x" * 300 + " END"
    make_failed(live_product, reason)

    assert " END" not in _list_page(alice_client)
    assert " END" in _detail_page(alice_client, live_product)


def test_circuit_warning_shows_on_both_pages_while_open(alice_client, live_product):
    _open_circuit(live_product)
    until = timezone.localtime(product_health(live_product).circuit_open_until)
    badge = f"{PAUSED} · next try {until:%H:%M:%S}"

    assert badge in _list_page(alice_client)
    detail = _detail_page(alice_client, live_product)
    assert badge in detail
    assert CIRCUIT_WARNING in detail
    assert '<q class="health-reason">Timed out after 15 s.</q>' in detail
    assert f"we try again about every {OPEN_SECONDS} seconds" in detail


def test_circuit_warning_is_gone_once_the_window_ends(alice_client, live_product):
    _open_circuit(live_product)
    key = endpoint_key_for(live_product.webhook_config.url)
    past = timezone.now() - timedelta(seconds=1)

    EndpointHealth.objects.filter(key=key).update(open_until=past)

    assert not product_health(live_product).circuit_open
    assert PAUSED not in _list_page(alice_client)
    assert CIRCUIT_WARNING not in _detail_page(alice_client, live_product)


def test_circuit_warning_is_gone_after_a_success(alice_client, live_product):
    _open_circuit(live_product)

    endpoint_record_success(key=endpoint_key_for(live_product.webhook_config.url))

    assert PAUSED not in _list_page(alice_client)
    assert PAUSED not in _detail_page(alice_client, live_product)


def test_circuit_of_another_server_does_not_show(alice_client, live_product):
    other = ProductFactory(seller=live_product.seller, status="live")
    WebhookConfigFactory(product=other, url="https://down.example.org/issue")
    _open_circuit(other)

    assert product_health(other).circuit_open
    assert not product_health(live_product).circuit_open
    assert PAUSED not in _detail_page(alice_client, live_product)


def test_another_seller_gets_404_on_the_product_page(bob_client, live_product):
    make_failed(live_product)

    response = bob_client.get(reverse("products:detail", args=[live_product.pk]))

    assert response.status_code == 404


def test_another_sellers_list_shows_nothing_of_alices_health(bob_client, live_product):
    make_failed(live_product, "Alice's server answered 500.")
    _open_circuit(live_product)

    page = _list_page(bob_client)

    assert escape("Alice's server") not in page
    assert PAUSED not in page


def _products_with_health(seller, count: int) -> None:
    for _ in range(count):
        product = ProductFactory(seller=seller, status="live")
        url = f"https://{product.slug}.example.org/issue"
        WebhookConfigFactory(product=product, url=url)
        make_succeeded(product, duration_ms=120)
        make_failed(product)
        _open_circuit(product)


def test_list_page_queries_stay_bounded(
    alice_client, alice, django_assert_max_num_queries
):
    _products_with_health(alice, 6)

    # Session, user and products, then the health's eight queries: deliveries
    # per product and day, p50, p95, p95 per day, last failures, Webhook URLs,
    # circuits, and the p95 of all the products together. The same for 6
    # products as for 60 (the next test checks that it does not grow).
    with django_assert_max_num_queries(11):
        page = _list_page(alice_client)

    assert page.count("2 deliveries · 50 % ok · p50 50 ms · p95 120 ms") == 6
    assert page.count(PAUSED) == 6
    assert page.count('<svg class="chart spark"') == 7  # six rows, one summary


def test_list_page_queries_do_not_grow_with_products(
    alice_client, alice, django_assert_num_queries
):
    _products_with_health(alice, 1)
    with CaptureQueriesContext(connection) as one:
        _list_page(alice_client)
    _products_with_health(alice, 5)

    with django_assert_num_queries(len(one)):
        _list_page(alice_client)
