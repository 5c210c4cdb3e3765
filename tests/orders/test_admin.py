from __future__ import annotations

import hashlib

import pytest

from orders.models import ApiToken
from orders.services import order_place

pytestmark = pytest.mark.django_db


def _token_from_admin(client) -> tuple[str, object]:
    response = client.post(
        "/admin/orders/apitoken/add/", {"name": "Provider"}, follow=True
    )
    [message] = [
        m.message for m in response.context["messages"] if "Copy it now" in m.message
    ]
    raw = next(word for word in message.split() if word.startswith("fk_"))
    return raw, response


@pytest.fixture
def charlie_client(client, charlie):
    client.force_login(charlie)
    return client


def test_new_token_is_shown_once_and_only_its_hash_stored(charlie_client):
    raw, response = _token_from_admin(charlie_client)
    assert "Copy it now; it will not be shown again" in response.content.decode()
    token = ApiToken.objects.get()
    assert token.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw.startswith(token.prefix)
    assert (
        raw
        not in charlie_client.get(
            f"/admin/orders/apitoken/{token.pk}/change/"
        ).content.decode()
    )
    assert raw not in charlie_client.get("/admin/orders/apitoken/").content.decode()


def test_token_created_in_admin_opens_the_api(charlie_client, client):
    raw, _ = _token_from_admin(charlie_client)
    answer = client.get(
        "/api/v1/orders/missing", headers={"Authorization": f"Bearer {raw}"}
    )
    assert answer.status_code == 404


def test_staff_search_by_customer_email_finds_the_order(charlie_client, live_product):
    order = order_place(
        product=live_product, quantity=1, customer_email="lost@example.com"
    )
    order_place(product=live_product, quantity=1, customer_email="other@example.com")
    response = charlie_client.get("/admin/orders/order/", {"q": "lost@example.com"})
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [order]


def test_staff_search_by_delivery_id_finds_the_order(charlie_client, live_product):
    order = order_place(
        product=live_product, quantity=1, customer_email="lost@example.com"
    )
    delivery_id = order.deliveries.get().delivery_id
    response = charlie_client.get("/admin/orders/order/", {"q": delivery_id})
    assert list(response.context["cl"].result_list) == [order]


def test_order_admin_page_lists_its_deliveries(charlie_client, live_product):
    order = order_place(
        product=live_product, quantity=1, customer_email="lost@example.com"
    )
    response = charlie_client.get(f"/admin/orders/order/{order.pk}/change/")
    assert response.status_code == 200
    assert order.deliveries.get().delivery_id in response.content.decode()
