"""The seller's orders served from the key list: a badge on the order page and
in the list, and a filter for them.

alice owns `live_product`; bob is another seller and sees none of them."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import place
from tests.fulfillment.fallback import fallback_on, overdue, served_by_fallback

pytestmark = pytest.mark.django_db


@pytest.fixture
def served(live_product):
    fallback_on(live_product, "SPARE-1", "SPARE-2")
    return served_by_fallback(live_product, email="served@example.com")


def _orders(client, **params):
    return client.get(reverse("orders:seller-orders"), params)


def _listed(response) -> list[str]:
    return [order.customer_email for order in response.context["orders"]]


def test_the_order_page_marks_an_order_served_from_the_list(alice_client, served):
    response = alice_client.get(reverse("orders:seller-order", args=[served.order_id]))

    page = response.content.decode()
    assert 'id="served-from-list">Served from your key list' in page
    assert "we stopped sending requests and sent a key from your list" in page
    assert "<code>SPARE-1</code>" in page


def test_the_order_page_of_an_order_from_the_server_has_no_such_badge(
    alice_client, live_product
):
    order = place(live_product)

    response = alice_client.get(reverse("orders:seller-order", args=[order.pk]))

    assert 'id="served-from-list"' not in response.content.decode()


def test_the_order_list_marks_the_orders_served_from_the_list(
    alice_client, live_product, served
):
    place(live_product, email="other@example.com")

    response = _orders(alice_client)

    marked = {o.customer_email: o.served_from_list for o in response.context["orders"]}
    assert marked == {"served@example.com": True, "other@example.com": False}
    assert response.content.decode().count("Served from your key list") == 2  # option


def test_the_state_filter_finds_the_orders_served_from_the_list(
    alice_client, live_product, served
):
    place(live_product, email="other@example.com")
    overdue(live_product, minutes=1, email="waiting@example.com")

    response = _orders(alice_client, status="served_from_list")

    assert _listed(response) == ["served@example.com"]


def test_another_seller_filtering_for_them_sees_none_of_alices(bob_client, served):
    response = _orders(bob_client, status="served_from_list")

    assert _listed(response) == []
