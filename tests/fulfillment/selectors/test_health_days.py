"""Health per day of the last 7, and all of a seller's products together.

alice owns `live_product` and the other products made here; the pages that show
these figures, and bob's 404 on them, are in test_health.py and
test_health_pages.py.
"""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime, timedelta

import pytest
from django.utils import timezone

from fulfillment.models import Delivery, DeliveryStatus
from fulfillment.selectors.health import product_health, seller_health, window_days
from tests.factories import (
    ProductFactory,
    WebhookConfigFactory,
    at,
    make_attempt,
    make_delivery,
    make_failed,
    make_succeeded,
)

pytestmark = pytest.mark.django_db

# A fixed "now", so that the days of the window do not depend on when the
# tests run: Sunday afternoon; the window is Monday Nov 23 to Sunday Nov 29.
NOW = datetime(2026, 11, 29, 15, 0, tzinfo=UTC)
FIRST_DAY = datetime(2026, 11, 23, tzinfo=UTC)


def _day(n: int, hour: int = 12) -> datetime:
    """Noon (or `hour`) of the window's day n, 0 being its first."""
    return FIRST_DAY + timedelta(days=n, hours=hour)


def _succeeded_at(product, when: datetime, duration_ms: int = 100) -> Delivery:
    return at(make_succeeded(product, duration_ms=duration_ms), when)


def _other_product(seller, **fields):
    product = ProductFactory(seller=seller, status="live", **fields)
    WebhookConfigFactory(product=product, url=f"https://{product.slug}.example.org/")
    return product


def test_the_days_are_today_and_the_six_before_oldest_first(live_product):
    health = product_health(live_product, now=NOW)

    assert [d.day for d in health.days] == [
        date(2026, 11, 23) + timedelta(days=n) for n in range(7)
    ]
    assert window_days(NOW) == tuple(d.day for d in health.days)


def test_a_delivery_counts_on_the_day_it_was_created(live_product):
    _succeeded_at(live_product, FIRST_DAY)  # the window's first moment
    at(make_failed(live_product), _day(2))
    _succeeded_at(live_product, NOW - timedelta(minutes=1))
    _succeeded_at(live_product, FIRST_DAY - timedelta(seconds=1))  # the day before

    days = product_health(live_product, now=NOW).days

    assert [(d.succeeded, d.failed) for d in days] == [
        (1, 0),
        (0, 0),
        (0, 1),
        (0, 0),
        (0, 0),
        (0, 0),
        (1, 0),
    ]


def test_the_weeks_figures_are_the_sums_of_its_days(live_product):
    for n in (0, 0, 3, 6):
        _succeeded_at(live_product, _day(n))
    at(make_failed(live_product), _day(3))
    at(make_delivery(live_product, DeliveryStatus.RETRYING), _day(5))

    health = product_health(live_product, now=NOW)

    assert [d.deliveries for d in health.days] == [2, 0, 0, 2, 0, 1, 1]
    assert (health.deliveries, health.succeeded, health.failed) == (6, 4, 1)
    assert health.in_progress == 1
    assert health.success_percent == 80


def test_a_days_success_rate_counts_its_finished_deliveries(live_product):
    for _ in range(3):
        _succeeded_at(live_product, _day(1))
    at(make_failed(live_product), _day(1))
    at(make_delivery(live_product, DeliveryStatus.PENDING), _day(2))

    days = product_health(live_product, now=NOW).days

    assert days[1].success_percent == 75
    assert days[2].success_percent is None  # nothing finished that day
    assert days[0].success_percent is None


def test_p95_per_day_is_the_nearest_rank_of_that_days_answers(live_product):
    for duration in range(200, 0, -10):  # 20 answers, 10..200 ms, unsorted
        _succeeded_at(live_product, _day(1), duration_ms=duration)
    _succeeded_at(live_product, _day(4), duration_ms=321)
    timed_out = make_delivery(live_product, DeliveryStatus.RETRYING)
    make_attempt(timed_out, duration_ms=15000, status=None, succeeded=False)
    at(timed_out, _day(4))  # a timeout has no response time

    days = product_health(live_product, now=NOW).days

    # Rank ceil(0.95 * 20) = 19 of 20: 190 ms.
    assert [d.p95_ms for d in days] == [None, 190, None, None, 321, None, None]


def test_in_progress_cancelled_and_waiting_failures_are_told_apart(live_product, alice):
    for status in (DeliveryStatus.PENDING, DeliveryStatus.RETRYING):
        at(make_delivery(live_product, status), _day(6, hour=1))
    at(make_delivery(live_product, DeliveryStatus.CANCELLED), _day(6, hour=1))
    at(make_failed(live_product), _day(6, hour=1))
    by_hand = at(make_failed(live_product), _day(6, hour=1))
    Delivery.objects.filter(pk=by_hand.pk).update(
        status=DeliveryStatus.SUCCEEDED, handled_by=alice
    )

    today = product_health(live_product, now=NOW).days[-1]

    assert (today.deliveries, today.in_progress, today.cancelled) == (5, 2, 1)
    # Both failed; only the one nobody fulfilled by hand still needs the seller.
    assert (today.failed, today.needs_attention) == (2, 1)


def test_the_days_follow_the_current_time_zone(live_product):
    # 03:00 UTC on Nov 29 is 22:00 on Nov 28 in New York.
    _succeeded_at(live_product, datetime(2026, 11, 29, 3, 0, tzinfo=UTC))

    with timezone.override(zoneinfo.ZoneInfo("America/New_York")):
        days = product_health(live_product, now=NOW).days

    assert days[-1].day == date(2026, 11, 29)
    assert (days[-2].day, days[-2].succeeded, days[-1].succeeded) == (
        date(2026, 11, 28),
        1,
        0,
    )


def test_test_deliveries_are_left_out_of_the_days(live_product):
    test = Delivery.objects.create(
        product=live_product, is_test=True, config_version=1, status="failed"
    )
    make_attempt(test, duration_ms=900, status=500, succeeded=False)
    at(test, _day(6))

    days = product_health(live_product, now=NOW).days

    assert {(d.deliveries, d.p95_ms) for d in days} == {(0, None)}


# --- All of a seller's products --------------------------------------------------


def test_seller_health_adds_the_products_up(alice, live_product):
    other = _other_product(alice)
    _succeeded_at(live_product, _day(0))
    _succeeded_at(other, _day(0))
    at(make_failed(other), _day(4))
    at(make_failed(live_product), _day(4))

    summary = seller_health([live_product, other], now=NOW)

    assert (summary.deliveries, summary.succeeded, summary.failed) == (4, 2, 2)
    assert summary.needs_attention == 2
    assert [d.deliveries for d in summary.days] == [2, 0, 0, 0, 2, 0, 0]
    assert summary.products[other.pk].failed == 1
    assert summary.webhook_products == 2


def test_seller_p95_is_of_all_answers_not_an_average_of_products(alice, live_product):
    slow = _other_product(alice)
    for _ in range(19):
        _succeeded_at(live_product, _day(2), duration_ms=100)
    _succeeded_at(slow, _day(2), duration_ms=5000)

    summary = seller_health([live_product, slow], now=NOW)

    assert summary.products[slow.pk].p95_ms == 5000
    # Rank 19 of the 20 answers together is one of the 100 ms ones.
    assert summary.p95_ms == 100


def test_manual_products_are_not_webhook_products(alice, live_product):
    manual = ProductFactory(seller=alice, fulfillment_method="manual")

    summary = seller_health([live_product, manual], now=NOW)

    assert summary.webhook_products == 1


def test_seller_health_of_no_products_asks_nothing(db, django_assert_num_queries):
    with django_assert_num_queries(0):
        summary = seller_health([], now=NOW)

    assert (summary.deliveries, summary.p95_ms, summary.products) == (0, None, {})
    assert [d.deliveries for d in summary.days] == [0] * 7


def test_seller_health_asks_the_same_for_one_product_as_for_six(
    alice, live_product, django_assert_num_queries
):
    at(make_failed(live_product), _day(3))
    products = [live_product]
    # Counts per day, p50, p95, p95 per day, last failures, Webhook URLs,
    # circuits, and the p95 of all the products together.
    with django_assert_num_queries(8):
        seller_health(products, now=NOW)
    for _ in range(5):
        product = _other_product(alice)
        at(make_failed(product), _day(3))
        _succeeded_at(product, _day(5))
        products.append(product)

    with django_assert_num_queries(8):
        summary = seller_health(products, now=NOW)

    assert (summary.deliveries, summary.failed) == (11, 6)
