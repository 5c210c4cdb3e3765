"""The health's wording on the product list and page.

alice owns `live_product`; test_health.py checks bob's 404 on her product page.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from fulfillment.models import DeliveryStatus
from fulfillment.templatetags.health import ago
from tests.fulfillment.health_rows import age, make_delivery, make_failed

NOW = datetime(2026, 11, 29, 15, 0, tzinfo=UTC)


def _text(page: str) -> str:
    """The page as a reader sees the words: tags out, spaces plain and single."""
    words = re.sub(r"<[^>]+>", " ", page).replace("\xa0", " ")
    return re.sub(r"\s+", " ", words)


def _list_page(client) -> str:
    return client.get(reverse("products:list")).content.decode()


def _detail_page(client, product) -> str:
    return client.get(reverse("products:detail", args=[product.pk])).content.decode()


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
