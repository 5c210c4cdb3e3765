"""What the seller sees of a delivery served from the key list: the label,
why, the keys it sent, and no hand action (it succeeded).

alice owns `live_product`; bob is another seller and gets a 404."""

from __future__ import annotations

import pytest
from django.urls import reverse

from fulfillment.services.actions import delivery_actions_allowed
from tests.factories import ProductFactory, place
from tests.fulfillment.fallback import fallback_on, overdue, served_by_fallback

pytestmark = pytest.mark.django_db

WHY = (
    "Your server had not answered successfully after 10 minutes; we stopped "
    "sending requests and sent a key from your list instead."
)


def _detail(client, delivery):
    url = reverse(
        "fulfillment:delivery-detail",
        kwargs={"pk": delivery.product_id, "delivery_id": delivery.delivery_id},
    )
    return client.get(url)


@pytest.fixture
def served(live_product):
    fallback_on(live_product, "SPARE-1", "SPARE-2")
    return served_by_fallback(live_product)


def test_a_fallback_delivery_says_it_was_served_from_the_list_and_why(
    alice_client, served
):
    page = _detail(alice_client, served).content.decode()

    assert "Served from your key list" in page
    assert WHY in page


def test_a_fallback_delivery_shows_the_key_it_sent(alice_client, served):
    page = _detail(alice_client, served).content.decode()

    assert "Key sent from your list" in page
    assert "<code>SPARE-1</code>" in page
    assert "SPARE-2" not in page


def test_the_reason_names_the_delay_and_the_keys_of_a_multibuy(alice_client, alice):
    product = ProductFactory(seller=alice, status="live")
    fallback_on(product, "A-1", "A-2", "A-3", minutes=1)
    delivery = served_by_fallback(product, quantity=2)

    page = _detail(alice_client, delivery).content.decode()

    assert (
        "Your server had not answered successfully after 1 minute; we stopped "
        "sending requests and sent 2 keys from your list instead." in page
    )
    assert "Key 1 of 2: </span><code>A-1</code>" in page
    assert "Key 2 of 2: </span><code>A-2</code>" in page


def test_a_fallback_delivery_offers_no_hand_action(alice_client, served):
    assert delivery_actions_allowed(delivery=served) == frozenset()
    page = _detail(alice_client, served).content.decode()
    assert "Fix this delivery" not in page


def test_a_key_list_delivery_says_it_came_from_the_list(alice_client, alice):
    product = ProductFactory(seller=alice, status="live", fulfillment_method="key_list")
    fallback_on(product, "LIST-1")
    delivery = place(product).deliveries.get()

    page = _detail(alice_client, delivery).content.decode()

    assert "From your key list" in page
    assert "Served from your key list" not in page
    assert "<code>LIST-1</code>" in page


def test_a_webhook_delivery_waiting_for_its_server_has_no_list_label(
    alice_client, live_product
):
    fallback_on(live_product, "SPARE-1")
    delivery = overdue(live_product, minutes=1)

    page = _detail(alice_client, delivery).content.decode()

    assert "Served from your key list" not in page
    assert "From your key list" not in page


def test_the_delivery_list_marks_the_fallback_delivery(alice_client, served):
    url = reverse("fulfillment:delivery-list", kwargs={"pk": served.product_id})

    page = alice_client.get(url).content.decode()

    assert "Served from your key list" in page


def test_another_seller_gets_404_on_a_fallback_delivery(bob_client, served):
    assert _detail(bob_client, served).status_code == 404
