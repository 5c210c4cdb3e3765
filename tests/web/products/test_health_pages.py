"""The 7-day health charts and their wording on the product list and page.

alice owns `live_product` and the other products made here; bob is another
seller: his list shows nothing of hers (and test_health.py checks his 404 on
her product page).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser

import pytest
from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as date_format

from fulfillment.models import DeliveryStatus
from fulfillment.selectors.health import DayHealth, window_days
from tests.factories import (
    ProductFactory,
    WebhookConfigFactory,
    age,
    make_attempt,
    make_delivery,
    make_failed,
    make_succeeded,
)
from web.templatetags.health import ago, axis_labels

NOW = datetime(2026, 11, 29, 15, 0, tzinfo=UTC)
NO_DELIVERIES = "No deliveries in the last 7 days"


class _Svgs(HTMLParser):
    """The attributes of every <svg> of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[dict[str, str | None]] = []

    def handle_starttag(self, tag, attrs):
        if tag == "svg":
            self.found.append(dict(attrs))


def _svgs(page: str) -> list[dict[str, str | None]]:
    parser = _Svgs()
    parser.feed(page)
    return parser.found


def _text(page: str) -> str:
    """The page as a reader sees the words: tags out, spaces plain and single."""
    words = re.sub(r"<[^>]+>", " ", page).replace("\xa0", " ")
    return re.sub(r"\s+", " ", words)


def _list_page(client) -> str:
    return client.get(reverse("products:list")).content.decode()


def _detail_page(client, product) -> str:
    return client.get(reverse("products:detail", args=[product.pk])).content.decode()


def _render(source: str, **context) -> str:
    return Template("{% load health %}" + source).render(Context(context))


def _week(**figures_by_day) -> list[DayHealth]:
    """Seven plain days from Nov 23; `d3={"succeeded": 2}` sets day 3's figures."""
    first = date(2026, 11, 23)
    return [
        DayHealth(day=first + timedelta(days=n), **figures_by_day.get(f"d{n}", {}))
        for n in range(7)
    ]


# --- Wording ---------------------------------------------------------------------


def test_ago_under_a_minute_is_just_now():
    assert ago(NOW - timedelta(seconds=59), now=NOW) == "just now"
    assert ago(NOW, now=NOW) == "just now"


@pytest.mark.parametrize(
    ("before", "said"),
    [
        (timedelta(minutes=2, seconds=5), "2 minutes ago"),
        (timedelta(hours=3, minutes=59), "3 hours ago"),
        (timedelta(days=1, hours=5), "1 day ago"),
    ],
)
def test_ago_says_the_largest_unit_only(before, said):
    assert ago(NOW - before, now=NOW).replace("\xa0", " ") == said


@pytest.mark.django_db
def test_a_failure_this_minute_is_just_now_on_the_list(alice_client, live_product):
    make_failed(live_product)

    page = _text(_list_page(alice_client))

    assert "Last failure just now:" in page
    assert "0 minutes" not in page


@pytest.mark.django_db
def test_an_older_delivery_says_how_long_ago(alice_client, live_product):
    age(make_failed(live_product), days=2)

    page = _text(_list_page(alice_client))

    assert "Failed 2 days ago" in page
    assert "Last failure 2 days ago:" in page


@pytest.mark.django_db
def test_deliveries_without_an_outcome_are_in_progress(alice_client, live_product):
    make_delivery(live_product, DeliveryStatus.RETRYING)

    listed = _text(_list_page(alice_client))
    detail = _text(_detail_page(alice_client, live_product))

    assert "1 delivery · 1 still in progress" in listed
    assert "No result yet: still in progress" in detail
    for page in (listed, detail):
        assert "none finished yet" not in page.lower()


@pytest.mark.django_db
def test_cancelled_deliveries_are_not_in_progress(alice_client, live_product):
    make_delivery(live_product, DeliveryStatus.CANCELLED)

    listed = _text(_list_page(alice_client))

    assert "1 delivery · all cancelled" in listed
    assert "in progress" not in listed


# --- The product page's charts ---------------------------------------------------


@pytest.mark.django_db
def test_the_product_page_draws_three_charts_with_text_alternatives(
    alice_client, live_product
):
    make_succeeded(live_product, duration_ms=240)
    make_failed(live_product)

    svgs = _svgs(_detail_page(alice_client, live_product))

    assert [svg["role"] for svg in svgs] == ["img"] * 3
    labels = [svg["aria-label"] or "" for svg in svgs]
    today = date_format(timezone.localdate(), "M j")
    assert labels[0].startswith("Deliveries per day: ")
    assert f"{today} 2 (1 succeeded, 1 failed)." in labels[0]
    assert f"{today} 50 %." in labels[1]
    assert f"{today} 240 ms." in labels[2]


@pytest.mark.django_db
def test_the_charts_are_labelled_with_the_dates_of_the_days(alice_client, live_product):
    make_succeeded(live_product)

    page = _detail_page(alice_client, live_product)

    first, *others = window_days(timezone.now())
    assert page.count(f">{date_format(first, 'M j')}</text>") == 3
    for day in others:
        label = date_format(day, "M j") if day.day == 1 else str(day.day)
        assert page.count(f">{label}</text>") >= 3


def test_the_month_is_named_on_the_first_day_and_on_the_first_of_a_month():
    days = [date(2026, 11, 28) + timedelta(days=n) for n in range(7)]

    assert axis_labels(days) == ["Nov 28", "29", "30", "Dec 1", "2", "3", "4"]


@pytest.mark.django_db
def test_the_numbers_per_day_are_in_a_table(alice_client, live_product):
    make_succeeded(live_product, duration_ms=240)
    make_failed(live_product)

    page = _text(_detail_page(alice_client, live_product))

    today = date_format(timezone.localdate(), "D M j")
    assert "The numbers per day" in page
    assert f"{today} 2 1 1 0 0 50 % 240 ms" in page


@pytest.mark.django_db
def test_the_key_numbers_stay_as_text_beside_the_charts(alice_client, live_product):
    make_failed(live_product)
    make_delivery(live_product, DeliveryStatus.PENDING)

    page = _text(_detail_page(alice_client, live_product))

    assert "2 (0 succeeded, 1 failed, 1 in progress)" in page
    assert "0 % ok" in page
    assert "1 failed delivery (retry, fulfill by hand or cancel" in page


@pytest.mark.django_db
def test_a_product_without_deliveries_shows_no_empty_chart(alice_client, live_product):
    age(make_succeeded(live_product), days=8)

    page = _detail_page(alice_client, live_product)

    assert NO_DELIVERIES in page
    assert "<svg" not in page


@pytest.mark.django_db
def test_a_retried_old_delivery_keeps_its_failure_without_charts(
    alice_client, live_product
):
    old = make_failed(live_product)
    age(old, days=8)
    make_attempt(old, duration_ms=40, status=503, succeeded=False, message="Busy.")

    page = _detail_page(alice_client, live_product)

    assert NO_DELIVERIES in page
    assert "Busy." in page  # the last failure, started today
    assert "<svg" not in page


@pytest.mark.django_db
def test_without_answers_the_response_time_chart_says_so(alice_client, live_product):
    timed_out = make_delivery(live_product, DeliveryStatus.RETRYING)
    make_attempt(timed_out, duration_ms=15000, status=None, succeeded=False)

    page = _detail_page(alice_client, live_product)

    assert "No answers from your server in the last 7 days." in page
    assert "No finished deliveries in the last 7 days yet." in page
    assert len(_svgs(page)) == 1  # deliveries per day only


def test_a_bar_tells_its_day_on_hover():
    days = _week(d2={"deliveries": 3, "succeeded": 2, "failed": 1})

    svg = _render("{% deliveries_chart days %}", days=days)

    assert "<title>Nov 25: 3 (2 succeeded, 1 failed)</title>" in svg
    assert "<title>Nov 24: no deliveries</title>" in svg
    assert svg.count('<rect class="succeeded"') == 1


def test_a_line_tells_every_day_even_those_without_a_value():
    days = _week(d1={"succeeded": 1, "deliveries": 1, "p95_ms": 80})

    svg = _render("{% p95_chart days %}", days=days)

    (label,) = [s["aria-label"] for s in _svgs(svg)]
    assert label == (
        "p95 response time per day: Nov 23 no answers; Nov 24 80 ms; "
        "Nov 25 no answers; Nov 26 no answers; Nov 27 no answers; "
        "Nov 28 no answers; Nov 29 no answers."
    )


def test_chart_coordinates_are_not_localized(settings):
    settings.USE_THOUSAND_SEPARATOR = True
    days = _week(d0={"deliveries": 1, "succeeded": 1, "p95_ms": 12000})

    svg = _render("{% p95_chart days %}", days=days)

    assert ">15000</text>" in svg  # the scale's top, without "15,000"
    assert not re.search(r'="[\d.]*,\d', svg)


# --- The product list ------------------------------------------------------------


def _other_product(seller):
    product = ProductFactory(seller=seller, status="live")
    WebhookConfigFactory(product=product, url=f"https://{product.slug}.example.org/")
    return product


@pytest.mark.django_db
def test_the_list_summary_adds_up_all_products(alice_client, alice, live_product):
    other = _other_product(alice)
    for _ in range(3):
        make_succeeded(live_product, duration_ms=100)
    make_failed(other)

    page = _text(_list_page(alice_client))

    assert "Last 7 days, all products" in page
    assert "Deliveries 4" in page
    assert "Success rate 75 % 3 succeeded, 1 failed" in page
    assert "Need your attention 1 failed delivery: see failed orders" in page
    assert "p95 response time 100 ms" in page


@pytest.mark.django_db
def test_each_webhook_row_has_a_sparkline(alice_client, alice, live_product):
    make_succeeded(live_product)
    manual = ProductFactory(seller=alice, fulfillment_method="manual")

    svgs = _svgs(_list_page(alice_client))

    assert len(svgs) == 2  # the summary's and the webhook product's, not manual's
    assert all(s["role"] == "img" and s["aria-label"] for s in svgs)
    assert manual.name  # listed, without a chart


@pytest.mark.django_db
def test_the_list_summary_without_deliveries_says_so(alice_client, live_product):
    page = _text(_list_page(alice_client))

    assert "Last 7 days, all products No deliveries in the last 7 days." in page
    assert "<svg" not in _list_page(alice_client)


@pytest.mark.django_db
def test_a_seller_with_manual_products_only_gets_no_summary(alice_client, alice):
    ProductFactory(seller=alice, fulfillment_method="manual")

    assert "Last 7 days, all products" not in _list_page(alice_client)


@pytest.mark.django_db
def test_another_sellers_summary_has_nothing_of_alices(bob_client, bob, live_product):
    for _ in range(3):
        make_failed(live_product)
    bobs = _other_product(bob)
    make_succeeded(bobs)

    page = _text(_list_page(bob_client))

    assert "Deliveries 1" in page
    assert "Need your attention 0" in page
