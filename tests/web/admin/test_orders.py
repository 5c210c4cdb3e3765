from __future__ import annotations

import hashlib
import re

import pytest
from django.contrib.messages import get_messages

from orders.models import ApiToken
from web.orders.services import order_place

pytestmark = pytest.mark.django_db


def _token_from_admin(client, **fields) -> tuple[str, object]:
    data = {"name": "Provider", "scopes": ["orders:read", "orders:write"], **fields}
    response = client.post("/admin/orders/apitoken/add/", data)
    assert response.status_code == 200
    match = re.search(r'<code id="api-token"[^>]*>(fk_[^<]+)</code>', response.text)
    return match.group(1), response


def test_new_token_is_shown_once_and_only_its_hash_stored(charlie_client):
    raw, response = _token_from_admin(charlie_client)
    assert "Copy it now; it will not be shown again" in response.text
    assert "no-store" in response["Cache-Control"]
    token = ApiToken.objects.get()
    assert token.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw.startswith(token.prefix)
    change_page = charlie_client.get(f"/admin/orders/apitoken/{token.pk}/change/")
    assert raw not in change_page.text
    assert raw not in charlie_client.get("/admin/orders/apitoken/").text


def test_new_token_is_never_put_into_messages(charlie_client):
    raw, response = _token_from_admin(charlie_client)
    stored = [m.message for m in get_messages(response.wsgi_request)]
    assert not any(raw in message for message in stored)
    # Nothing stored waits for the next page either.
    assert raw not in charlie_client.get("/admin/").text


def test_admin_creates_tokens_through_the_service(charlie_client, monkeypatch):
    from orders import services
    from web.admin import orders as orders_admin

    calls = []

    def spy(*, name, scopes):
        calls.append(name)
        return services.api_token_create(name=name, scopes=scopes)

    monkeypatch.setattr(orders_admin, "api_token_create", spy)
    _token_from_admin(charlie_client)
    assert calls == ["Provider"]
    assert ApiToken.objects.get().name == "Provider"


def test_add_page_offers_both_scopes_ticked(charlie_client):
    response = charlie_client.get("/admin/orders/apitoken/add/")
    content = response.content.decode()
    for scope in ("orders:read", "orders:write"):
        assert f'value="{scope}"' in content
    assert content.count("checked") >= 2


def test_admin_creates_a_token_with_the_chosen_scopes(charlie_client, client):
    raw, _ = _token_from_admin(charlie_client, scopes=["orders:read"])
    assert ApiToken.objects.get().scope_list == ["orders:read"]
    answer = client.post(
        "/api/v1/orders",
        data="{}",
        content_type="application/json",
        headers={"Authorization": f"Bearer {raw}"},
    )
    assert answer.status_code == 403


def test_admin_refuses_a_token_without_scopes(charlie_client):
    response = charlie_client.post("/admin/orders/apitoken/add/", {"name": "Provider"})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["scopes"]
    assert ApiToken.objects.count() == 0


def test_change_page_shows_and_narrows_scopes(charlie_client):
    _token_from_admin(charlie_client)
    token = ApiToken.objects.get()
    url = f"/admin/orders/apitoken/{token.pk}/change/"
    assert 'value="orders:write"' in charlie_client.get(url).content.decode()
    charlie_client.post(url, {"name": "Provider", "scopes": ["orders:write"]})
    token.refresh_from_db()
    assert token.scope_list == ["orders:write"]


def test_token_creation_is_logged_in_admin_history(charlie_client):
    from django.contrib.admin.models import LogEntry

    _token_from_admin(charlie_client)
    entry = LogEntry.objects.get()
    assert entry.object_id == str(ApiToken.objects.get().pk)
    assert entry.is_addition()


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


def test_staff_search_by_passthrough_finds_the_order(charlie_client, live_product):
    order = order_place(
        product=live_product,
        quantity=1,
        customer_email="a@example.com",
        passthrough="acct_42",
    )
    order_place(
        product=live_product,
        quantity=1,
        customer_email="b@example.com",
        passthrough="acct_421",
    )

    response = charlie_client.get("/admin/orders/order/", {"q": "ACCT_42"})

    assert list(response.context["cl"].result_list) == [order]


def test_order_admin_page_shows_the_passthrough_read_only(charlie_client, live_product):
    order = order_place(
        product=live_product,
        quantity=1,
        customer_email="a@example.com",
        passthrough="acct_42 <b>",
    )

    response = charlie_client.get(f"/admin/orders/order/{order.pk}/change/")

    content = response.content.decode()
    assert "field-passthrough" in content
    assert "acct_42 &lt;b&gt;" in content
    assert 'name="passthrough"' not in content


def test_order_admin_page_lists_its_deliveries(charlie_client, live_product):
    order = order_place(
        product=live_product, quantity=1, customer_email="lost@example.com"
    )
    response = charlie_client.get(f"/admin/orders/order/{order.pk}/change/")
    assert response.status_code == 200
    assert order.deliveries.get().delivery_id in response.content.decode()


def test_order_list_marks_test_orders(charlie_client, live_product, api_post):
    order_place(product=live_product, quantity=1, customer_email="t@example.com")
    api_post(
        {
            "product": live_product.slug,
            "quantity": 1,
            "customer_email": "real@example.com",
            "transaction_id": "txn_real",
        }
    )
    response = charlie_client.get("/admin/orders/order/")
    assert response.text.count('<span class="badge test">Test order</span>') == 1
    filtered = charlie_client.get("/admin/orders/order/", {"is_test__exact": "1"})
    assert [o.customer_email for o in filtered.context["cl"].result_list] == [
        "t@example.com"
    ]


def test_resend_to_a_corrected_address_first_shows_the_addresses(
    charlie_client, live_product
):
    order = order_place(
        product=live_product, quantity=1, customer_email="typo@exmaple.com"
    )

    response = charlie_client.post(
        "/admin/orders/order/",
        {"action": "resend_email_corrected", "_selected_action": [order.pk]},
    )

    assert response.status_code == 200
    content = response.content.decode()
    assert 'value="typo@exmaple.com"' in content
    assert 'name="apply" value="yes"' in content


def test_resend_to_a_corrected_address_updates_the_order_and_sends_there(
    charlie_client, live_product, email_backend
):
    from django.core import mail

    from tests.factories import fulfill

    order = order_place(
        product=live_product, quantity=1, customer_email="typo@exmaple.com"
    )
    fulfill(order, "KEY-1")

    response = charlie_client.post(
        "/admin/orders/order/",
        {
            "action": "resend_email_corrected",
            "_selected_action": [order.pk],
            "apply": "yes",
            "resend-TOTAL_FORMS": "1",
            "resend-INITIAL_FORMS": "1",
            "resend-0-order": str(order.pk),
            "resend-0-email": "right@example.com",
        },
        follow=True,
    )

    order.refresh_from_db()
    assert order.customer_email == "right@example.com"
    assert [m.to for m in mail.outbox] == [["right@example.com"]]
    assert "Sent 1 order email(s)" in response.content.decode()
