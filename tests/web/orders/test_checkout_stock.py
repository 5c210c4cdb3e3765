"""A key list product at the public checkout: "Sold out" without keys, a
quantity above the keys left refused next to the field before any payment;
orders paid elsewhere (the orders API) are never refused, they wait."""

from __future__ import annotations

import pytest
from django.urls import reverse

from fulfillment.models import DeliveryStatus
from fulfillment.services.keylist import WAITING_FOR_KEYS
from keylists.services import license_keys_add
from orders.checkout_tokens import checkout_token_issue
from orders.errors import OrderError
from orders.models import Checkout, Order
from web.orders.services import checkout_stock_check

pytestmark = pytest.mark.django_db


def _add(product, *keys: str) -> None:
    license_keys_add(product_id=product.pk, text="\n".join(keys))


def _checkout(client, product, quantity: int):
    token = checkout_token_issue(product_pk=product.pk)
    return client.post(
        reverse("orders:checkout", args=[product.slug]),
        {
            "customer_email": "buyer@example.com",
            "checkout_token": token,
            "quantity": quantity,
        },
    )


def test_a_list_without_keys_shows_sold_out_and_no_buy_form(client, key_list_product):
    body = client.get(f"/p/{key_list_product.slug}/").content.decode()

    assert 'id="sold-out"' in body and "Sold out." in body
    assert 'name="quantity"' not in body


def test_a_list_with_keys_shows_the_buy_form(client, key_list_product):
    _add(key_list_product, "K-1")

    body = client.get(f"/p/{key_list_product.slug}/").content.decode()

    assert "Sold out" not in body and 'name="quantity"' in body


def test_a_quantity_above_the_keys_left_is_refused_next_to_the_field(
    client, key_list_product
):
    _add(key_list_product, "K-1", "K-2")

    response = _checkout(client, key_list_product, quantity=3)

    assert response.context["form"].errors["quantity"] == ["Only 2 left."]
    assert 'id="id_quantity_error"' in response.content.decode()
    assert Checkout.objects.count() == 0 and Order.objects.count() == 0


def test_a_quantity_within_the_keys_left_is_sold_and_served(client, key_list_product):
    _add(key_list_product, "K-1", "K-2")

    response = _checkout(client, key_list_product, quantity=2)

    order = Order.objects.get()
    assert response.status_code == 302
    assert order.deliveries.get().status == DeliveryStatus.SUCCEEDED


def test_the_last_key_sold_leaves_the_page_sold_out(client, key_list_product):
    _add(key_list_product, "K-1")
    _checkout(client, key_list_product, quantity=1)

    response = _checkout(client, key_list_product, quantity=1)

    assert 'id="sold-out"' in response.content.decode()
    assert Order.objects.count() == 1


def test_the_stock_check_says_sold_out_when_nothing_is_left(key_list_product):
    with pytest.raises(OrderError) as refused:
        checkout_stock_check(product=key_list_product, quantity=1)

    assert refused.value.code == "sold_out"
    assert refused.value.fields == {"quantity": ["Sold out."]}


def test_the_stock_check_ignores_other_methods(live_product):
    checkout_stock_check(product=live_product, quantity=100)


def test_an_api_order_is_never_refused_for_stock_it_waits(
    key_list_product, api_post, order_body
):
    response = api_post({**order_body, "product": key_list_product.slug})

    assert response.status_code == 201
    delivery = Order.objects.get().deliveries.get()
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.last_error == WAITING_FOR_KEYS
