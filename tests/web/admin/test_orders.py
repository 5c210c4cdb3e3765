from __future__ import annotations

import hashlib
import re
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages

from orders.models import ApiToken, OrderEvent
from tests.factories import fulfill
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


def test_staff_search_by_a_license_key_finds_the_order(
    charlie_client, key_list_product
):
    from keylists.services import license_keys_add

    license_keys_add(product_id=key_list_product.pk, text="KEY-AAAA\nKEY-BBBB")
    order_place(product=key_list_product, quantity=1, customer_email="a@example.com")
    order = order_place(
        product=key_list_product, quantity=1, customer_email="b@example.com"
    )
    response = charlie_client.get("/admin/orders/order/", {"q": "KEY-BBBB"})
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


# --- After the sale: staff refund and cancel ------------------------------------


def _action(client, action: str, orders, forms: list[dict] | None = None, **kw):
    """Choose the bulk action; with `forms`, apply it from its page."""
    data = {"action": action, "_selected_action": [o.pk for o in orders]}
    if forms is not None:
        data |= {
            "apply": "yes",
            f"{action}-TOTAL_FORMS": str(len(forms)),
            f"{action}-INITIAL_FORMS": str(len(forms)),
        }
        for index, form in enumerate(forms):
            data |= {f"{action}-{index}-{k}": v for k, v in form.items()}
    return client.post("/admin/orders/order/", data, **kw)


def test_the_refund_action_first_asks_how_much_prefilled_with_what_is_left(
    charlie_client, live_product
):
    order = order_place(product=live_product, quantity=2, customer_email="a@b.com")

    response = _action(charlie_client, "refund", [order])

    content = response.content.decode()
    assert 'name="refund-0-amount" value="38.00"' in content
    assert "38.00 USD can still be refunded." in content
    assert not OrderEvent.objects.exists()


def test_staff_refund_through_the_provider_and_are_recorded_as_staff(
    charlie_client, live_product
):
    order = order_place(product=live_product, quantity=1, customer_email="a@b.com")
    form = {"order": order.pk, "amount": "4.00", "reason": "Goodwill", "nonce": "n1"}

    response = _action(charlie_client, "refund", [order], [form], follow=True)

    event = OrderEvent.objects.get()
    assert (event.actor_kind, event.actor_name, event.amount) == (
        "staff",
        "charlie",
        Decimal("4.00"),
    )
    assert event.provider_refund_id.startswith("test_refund_")
    assert "1 order(s) refunded." in response.content.decode()


def test_a_refund_staff_cannot_make_is_reported_per_order(charlie_client, live_product):
    order = order_place(product=live_product, quantity=1, customer_email="a@b.com")
    form = {"order": order.pk, "amount": "20.00", "reason": "", "nonce": "n1"}

    response = _action(charlie_client, "refund", [order], [form], follow=True)

    content = response.content.decode()
    assert "Only 19.00 USD of this order can still be refunded." in content
    assert "0 order(s) refunded." in content
    assert not OrderEvent.objects.exists()


def test_staff_cancel_an_order_not_delivered_yet(charlie_client, live_product):
    waiting = order_place(product=live_product, quantity=1, customer_email="w@b.com")
    delivered = order_place(product=live_product, quantity=1, customer_email="d@b.com")
    fulfill(delivered, "KEY-1")
    forms = [
        {"order": waiting.pk, "reason": "Fraud"},
        {"order": delivered.pk, "reason": ""},
    ]

    response = _action(
        charlie_client, "cancel", [waiting, delivered], forms, follow=True
    )

    waiting.refresh_from_db()
    delivered.refresh_from_db()
    assert waiting.cancelled_at is not None and delivered.cancelled_at is None
    assert waiting.deliveries.get().status == "cancelled"
    content = response.content.decode()
    assert "1 order(s) cancelled." in content
    assert "already delivered: refund it instead" in content


def test_the_order_page_lists_its_events_and_the_list_filters_by_state(
    charlie_client, live_product
):
    refunded = order_place(product=live_product, quantity=1, customer_email="r@b.com")
    order_place(product=live_product, quantity=1, customer_email="k@b.com")
    form = {"order": refunded.pk, "amount": "19.00", "reason": "Goodwill", "nonce": "n"}
    _action(charlie_client, "refund", [refunded], [form])

    page = charlie_client.get(f"/admin/orders/order/{refunded.pk}/change/")
    listed = charlie_client.get("/admin/orders/order/", {"state": "refunded"})

    assert "Refunds, disputes and cancellation" in page.content.decode()
    assert "Goodwill" in page.content.decode()
    assert list(listed.context["cl"].result_list) == [refunded]
