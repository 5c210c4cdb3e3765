from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from fulfillment.services.aftersale import (
    order_cancel,
    order_dispute_reported,
    order_refund,
    order_refund_reported,
)
from orders.aftersale import Actor
from orders.checkout_tokens import checkout_token_issue
from orders.models import Checkout, Order
from orders.services import api_token_create
from products.models import FulfillmentMethod
from tests.factories import fulfill, place

pytestmark = pytest.mark.django_db


def _checkout(client, product, **data):
    # A fresh token, as the product page issues one per view.
    token = checkout_token_issue(product_pk=product.pk)
    url = reverse("orders:checkout", kwargs={"slug": product.slug})
    return client.post(
        url,
        {"customer_email": "buyer@example.com", "checkout_token": token, **data},
    )


def test_live_product_page_shows_name_price_and_test_payment_notice(
    client, live_product
):
    response = client.get(f"/p/{live_product.slug}/")
    assert response.status_code == 200
    content = response.content.decode()
    assert live_product.name in content
    assert "19.00 USD" in content
    assert "Test payment — no money moves" in content


def test_draft_product_page_is_404(client, product):
    assert client.get(f"/p/{product.slug}/").status_code == 404


def test_draft_product_checkout_is_404(client, product):
    assert _checkout(client, product, quantity=1).status_code == 404
    assert Checkout.objects.count() == 0


def test_product_page_asks_for_name_only_when_collected(client, live_product):
    assert 'name="customer_name"' not in client.get("/p/pixel-editor/").content.decode()
    live_product.collect_customer_name = True
    live_product.save()
    assert 'name="customer_name"' in client.get("/p/pixel-editor/").content.decode()


def test_checkout_redirects_to_the_secret_order_page(client, live_product):
    response = _checkout(client, live_product, quantity=2)
    order = Order.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/orders/{order.token}/"
    assert order.quantity == 2
    assert order.source == "checkout"
    assert order.transaction_id.startswith("test_")
    assert order.is_test
    assert order.deliveries.count() == 1


def test_checkout_stores_the_name_when_collected(client, live_product):
    live_product.collect_customer_name = True
    live_product.save()
    _checkout(client, live_product, quantity=1, customer_name="Bea Buyer")
    assert Order.objects.get().customer_name == "Bea Buyer"


def test_checkout_requires_the_name_when_collected(client, live_product):
    live_product.collect_customer_name = True
    live_product.save()
    response = _checkout(client, live_product, quantity=1)
    assert response.status_code == 200
    assert response.context["form"].errors["customer_name"]
    assert Order.objects.count() == 0


def test_checkout_ignores_a_name_when_not_collected(client, live_product):
    _checkout(client, live_product, quantity=1, customer_name="Sneaky")
    assert Order.objects.get().customer_name == ""


@pytest.mark.parametrize("quantity", [0, 101])
def test_quantity_out_of_range_is_a_field_error(client, live_product, quantity):
    response = _checkout(client, live_product, quantity=quantity)
    assert response.status_code == 200
    assert response.context["form"].errors["quantity"] == [
        "Enter a quantity from 1 to 100."
    ]
    assert "Enter a quantity from 1 to 100." in response.content.decode()
    assert Order.objects.count() == 0


def test_invalid_email_is_a_field_error(client, live_product):
    response = _checkout(client, live_product, quantity=1, customer_email="nope")
    assert response.context["form"].errors["customer_email"]


def test_order_page_for_unknown_token_is_404(client, live_product):
    place(live_product)
    assert client.get("/orders/not-the-token/").status_code == 404


@pytest.mark.parametrize("token", ["%00", "a%00b", "%1B"])
def test_order_page_for_a_token_with_nul_or_control_characters_is_404(
    client, live_product, token
):
    # PostgreSQL refuses NUL in a query: without the check this was a 500.
    assert client.get(f"/orders/{token}/").status_code == 404


def test_pending_order_page_polls_its_status_or_refreshes_without_script(
    client, live_product
):
    order = place(live_product)
    response = client.get(f"/orders/{order.token}/")
    content = response.content.decode()
    assert "We're getting your license from the seller" in content
    status_url = f"/orders/{order.token}/status/"
    assert f'data-status-url="{status_url}"' in content
    assert 'data-poll-seconds="1"' in content
    assert "js/order.js" in content
    assert '<noscript><meta http-equiv="refresh" content="5"></noscript>' in content
    assert "Refresh" not in response  # the header would reload script users too
    assert response["Referrer-Policy"] == "no-referrer"


def test_order_status_says_pending_until_the_license_is_there(client, live_product):
    order = place(live_product)
    url = f"/orders/{order.token}/status/"

    pending = client.get(url)
    fulfill(order, "KEY-1")
    done = client.get(url)

    assert pending.json() == {"pending": True}
    assert done.json() == {"pending": False}
    assert done["Cache-Control"] == "no-store"
    assert done["Referrer-Policy"] == "no-referrer"


def test_order_status_costs_one_query(client, live_product, django_assert_num_queries):
    order = place(live_product)

    with django_assert_num_queries(1):
        client.get(f"/orders/{order.token}/status/")


@pytest.mark.parametrize("token", ["not-an-order", "%00"])
def test_order_status_of_an_unknown_token_is_404(client, db, token):
    assert client.get(f"/orders/{token}/status/").status_code == 404


def test_fulfilled_order_page_shows_instructions_and_license(client, live_product):
    order = place(live_product)
    fulfill(order, "Your key: `PIX-1234`")
    response = client.get(f"/orders/{order.token}/")
    content = response.content.decode()
    assert "<code>PIX-1234</code>" in content
    assert "<strong>license key</strong>" in content  # the Instructions
    assert "Refresh" not in response
    assert "refreshes itself" not in content


def test_separate_multibuy_order_page_numbers_each_license(client, live_product):
    live_product.webhook_config.separate_multibuy = True
    live_product.webhook_config.save()
    order = place(live_product, quantity=3)
    fulfill(order, "KEY-A", "KEY-B", "KEY-C")
    content = client.get(f"/orders/{order.token}/").content.decode()
    for n, key in enumerate(["KEY-A", "KEY-B", "KEY-C"], start=1):
        assert f"License {n} of 3" in content
        assert key in content


def test_raw_html_in_a_license_is_escaped(client, live_product):
    order = place(live_product)
    fulfill(order, "<script>alert(1)</script> KEY")
    content = client.get(f"/orders/{order.token}/").content.decode()
    assert "<script>alert(1)</script>" not in content
    assert "&lt;script&gt;" in content


def test_failed_order_page_says_the_seller_will_deliver(client, live_product):
    order = place(live_product)
    order.deliveries.update(status="failed")
    from fulfillment.services.orders import order_fulfillment_refresh

    order_fulfillment_refresh(order_id=order.pk)
    content = client.get(f"/orders/{order.token}/").content.decode()
    assert "The seller sees this order in their dashboard" in content


def test_manual_product_order_page_says_the_seller_delivers(client, live_product):
    live_product.fulfillment_method = FulfillmentMethod.MANUAL
    live_product.save()
    order = place(live_product)
    content = client.get(f"/orders/{order.token}/").content.decode()
    assert "The seller will deliver it" in content


def test_test_order_page_says_no_money_moved(client, live_product):
    order = place(live_product)
    content = client.get(f"/orders/{order.token}/").content.decode()
    assert "Test order" in content
    assert "no money moved" in content


# --- After the sale: what the customer sees ------------------------------------


def _seller(product) -> Actor:
    return Actor.seller(user_id=product.seller.pk, username=product.seller.username)


def _provider() -> Actor:
    token, _ = api_token_create(name="Acme Pay")
    return Actor.provider(token_id=token.pk, name=token.name)


def _page(client, order) -> str:
    return client.get(f"/orders/{order.token}/").content.decode()


def test_a_refunded_order_strikes_its_licenses_through_with_the_date(
    client, live_product
):
    order = place(live_product)
    fulfill(order, "Your key: `PIX-1234`")
    event, _ = order_refund(
        order_id=order.pk, amount=order.total, reason="", actor=_seller(live_product)
    )
    day = timezone.localtime(event.created_at).strftime("%Y-%m-%d")

    content = _page(client, order)

    assert f'<p class="revoked-note">Refunded on {day}</p>' in content
    assert '<div class="license revoked">' in content
    assert "<code>PIX-1234</code>" in content  # struck through, not deleted
    assert f"This order was refunded on {day}: 19.00 USD." in content
    assert '<span class="badge refunded">Refunded</span>' in content


def test_a_partly_refunded_order_keeps_its_licenses_and_says_how_much(
    client, live_product
):
    order = place(live_product)
    fulfill(order, "KEY-1")
    order_refund(
        order_id=order.pk,
        amount=Decimal("5.00"),
        reason="",
        actor=_seller(live_product),
    )

    content = _page(client, order)

    assert "Partially refunded: 5.00 USD." in content
    assert '<div class="license">' in content
    assert "revoked" not in content


def test_a_charged_back_order_says_so_beside_each_license(client, live_product):
    order = place(live_product)
    fulfill(order, "KEY-1")
    event, _ = order_dispute_reported(
        order_id=order.pk,
        status="lost",
        amount=order.total,
        reason="",
        actor=_provider(),
        provider_event_id="dp_1",
        fingerprint="dp_1",
    )
    day = timezone.localtime(event.created_at).strftime("%Y-%m-%d")

    content = _page(client, order)

    assert f'<p class="revoked-note">Charged back on {day}</p>' in content
    assert '<div class="license revoked">' in content


def test_a_cancelled_order_says_so_and_stops_waiting(client, live_product):
    order = place(live_product)
    event = order_cancel(order_id=order.pk, reason="", actor=_seller(live_product))
    day = timezone.localtime(event.created_at).strftime("%Y-%m-%d")

    content = _page(client, order)
    status = client.get(f"/orders/{order.token}/status/").json()

    assert f"This order was cancelled on {day}." in content
    assert "We're getting your license" not in content
    assert "js/order.js" not in content
    assert status == {"pending": False}


def test_a_refund_of_a_pending_order_stops_the_page_waiting(client, live_product):
    order = place(live_product)
    order_refund_reported(
        order_id=order.pk,
        amount=order.total,
        reason="",
        actor=_provider(),
        provider_event_id="re_1",
        fingerprint="re_1",
    )

    assert client.get(f"/orders/{order.token}/status/").json() == {"pending": False}
