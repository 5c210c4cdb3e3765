"""The seller's order pages: list, detail with deliveries and attempts, retry now.

alice owns `live_product` (and `second_product`); bob is another seller with his
own product and must get a 404 on every page of alice's orders.
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from fulfillment.models import Delivery, DeliveryStatus
from fulfillment.services.aftersale import order_cancel, order_refund
from fulfillment.services.deliveries import delivery_attempt
from orders.aftersale import Actor
from orders.models import Order, OrderEvent
from tests.factories import ProductFactory, WebhookConfigFactory, fulfill
from tests.httpserver import Route
from web.orders.services import order_create_from_api, order_place

pytestmark = pytest.mark.django_db


def _place(product, email="buyer@example.com", quantity=1) -> Order:
    return order_place(product=product, quantity=quantity, customer_email=email)


def _live(seller, slug: str):
    product = ProductFactory(seller=seller, slug=slug, name=slug.title())
    WebhookConfigFactory(product=product)
    product.status = "live"
    product.save(update_fields=["status"])
    return product


@pytest.fixture
def second_product(alice):
    return _live(alice, "second-tool")


@pytest.fixture
def bobs_product(bob):
    return _live(bob, "bobs-tool")


def _fail(delivery: Delivery) -> None:
    # The state the retry engine leaves after the last attempt.
    Delivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.FAILED, next_attempt_at=None, last_error="HTTP 500"
    )


def _succeed(delivery: Delivery) -> None:
    Delivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.SUCCEEDED, response_text="KEY", next_attempt_at=None
    )


def _list(client, **params):
    return client.get(reverse("orders:seller-orders"), params)


def _listed(response) -> list[str]:
    return [order.customer_email for order in response.context["orders"]]


def _retry_url(order: Order, delivery: Delivery) -> str:
    return reverse(
        "orders:seller-delivery-retry",
        kwargs={"pk": order.pk, "delivery_id": delivery.delivery_id},
    )


# --- Access ---------------------------------------------------------------------


def test_orders_pages_require_login(client, live_product):
    order = _place(live_product)
    for url in [
        reverse("orders:seller-orders"),
        reverse("orders:seller-order", kwargs={"pk": order.pk}),
    ]:
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


def test_another_seller_gets_404_on_the_order_page(bob_client, live_product):
    order = _place(live_product)
    url = reverse("orders:seller-order", kwargs={"pk": order.pk})
    assert bob_client.get(url).status_code == 404


def test_order_page_shows_the_sellers_passthrough(alice_client, live_product):
    order = order_place(
        product=live_product,
        quantity=1,
        customer_email="buyer@example.com",
        passthrough="acct_42",
    )

    response = alice_client.get(reverse("orders:seller-order", kwargs={"pk": order.pk}))

    assert (
        '<dd id="passthrough"><code class="passthrough"><bdi>acct_42</bdi></code></dd>'
        in response.content.decode()
    )


def test_order_page_says_when_there_is_no_passthrough(alice_client, live_product):
    order = _place(live_product)

    response = alice_client.get(reverse("orders:seller-order", kwargs={"pk": order.pk}))

    assert '<dd id="passthrough"><span class="muted">None</span></dd>' in (
        response.content.decode()
    )


def test_another_seller_never_sees_the_passthrough(bob_client, live_product, bob):
    order = order_place(
        product=live_product,
        quantity=1,
        customer_email="buyer@example.com",
        passthrough="acct_alice_42",
    )

    detail = bob_client.get(reverse("orders:seller-order", kwargs={"pk": order.pk}))
    listing = bob_client.get(reverse("orders:seller-orders"))

    assert detail.status_code == 404
    assert "acct_alice_42" not in detail.content.decode() + listing.content.decode()


@pytest.mark.parametrize("method", ["get", "post"])
def test_another_seller_gets_404_on_the_retry_url(bob_client, live_product, method):
    order = _place(live_product)
    delivery = order.deliveries.get()
    _fail(delivery)

    response = getattr(bob_client, method)(_retry_url(order, delivery))

    assert response.status_code == 404
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED


def test_another_sellers_list_shows_none_of_alices_orders(
    bob_client, live_product, bobs_product
):
    _place(live_product, "alice-customer@example.com")
    _place(bobs_product, "bob-customer@example.com")
    response = _list(bob_client)
    assert _listed(response) == ["bob-customer@example.com"]
    assert "alice-customer@example.com" not in response.content.decode()


def test_another_sellers_product_as_filter_shows_none_of_its_orders(
    bob_client, live_product, bobs_product
):
    _place(live_product, "alice-customer@example.com")
    response = _list(bob_client, product=live_product.pk)
    assert "alice-customer@example.com" not in _listed(response)
    assert response.context["form"].errors["product"]


# --- The list ---------------------------------------------------------------------


def test_list_shows_the_sellers_orders_newest_first(alice_client, live_product):
    older = _place(live_product, "first@example.com")
    Order.objects.filter(pk=older.pk).update(
        completed_at=timezone.now() - timedelta(hours=1)
    )
    _place(live_product, "second@example.com")
    response = _list(alice_client)
    assert _listed(response) == ["second@example.com", "first@example.com"]
    content = response.content.decode()
    assert older.transaction_id in content
    assert reverse("orders:seller-order", kwargs={"pk": older.pk}) in content


def test_list_filters_by_product(alice_client, live_product, second_product):
    _place(live_product, "one@example.com")
    _place(second_product, "two@example.com")
    response = _list(alice_client, product=second_product.pk)
    assert _listed(response) == ["two@example.com"]


def test_list_filters_by_fulfillment_status(alice_client, live_product):
    done = _place(live_product, "done@example.com")
    _place(live_product, "waiting@example.com")
    Order.objects.filter(pk=done.pk).update(fulfillment_status="fulfilled")
    assert _listed(_list(alice_client, status="fulfilled")) == ["done@example.com"]
    assert _listed(_list(alice_client, status="pending")) == ["waiting@example.com"]


def test_list_filters_are_labelled_product_and_state(alice_client, live_product):
    content = _list(alice_client).content.decode()
    assert '<label for="id_product">Product</label>' in content
    assert '<label for="id_status">State</label>' in content


def test_list_offers_clear_only_when_filtered(alice_client, live_product):
    _place(live_product)
    clear = f'<a href="{reverse("orders:seller-orders")}">Clear</a>'
    assert clear not in _list(alice_client).content.decode()
    filtered = _list(alice_client, status="pending").content.decode()
    assert clear in filtered


def test_list_is_paginated_fifty_a_page(alice_client, live_product):
    for n in range(51):
        _place(live_product, f"buyer{n}@example.com")
    first = _list(alice_client)
    second = _list(alice_client, page=2)
    assert len(first.context["orders"]) == 50
    assert len(second.context["orders"]) == 1
    assert "page=2" in first.content.decode()


def test_pagination_keeps_the_filters(alice_client, live_product):
    for n in range(51):
        _place(live_product, f"buyer{n}@example.com")
    content = _list(alice_client, product=live_product.pk).content.decode()
    assert f"?product={live_product.pk}&amp;page=2" in content


def test_test_orders_carry_a_badge(alice_client, live_product):
    order = _place(live_product)
    badge = '<span class="badge test">Test order</span>'
    assert badge in _list(alice_client).content.decode()
    url = reverse("orders:seller-order", kwargs={"pk": order.pk})
    assert badge in alice_client.get(url).content.decode()


def test_orders_are_linked_from_the_header_and_the_product_nav(
    alice_client, live_product
):
    content = alice_client.get(
        reverse("products:detail", kwargs={"pk": live_product.pk})
    ).content.decode()
    assert f'href="{reverse("orders:seller-orders")}"' in content
    assert f"/dashboard/orders/?product={live_product.pk}" in content


def test_header_has_no_orders_link_when_logged_out(client, live_product):
    content = client.get(f"/p/{live_product.slug}/").content.decode()
    assert reverse("orders:seller-orders") not in content


# --- The order page ---------------------------------------------------------------


@pytest.fixture
def failing_seller(wired_product, seller_server):
    seller_server.set_route(
        "/license", Route(status=500, body="<script>alert(1)</script> broken")
    )
    return wired_product


def test_order_page_shows_deliveries_and_their_attempts(alice_client, failing_seller):
    order = _place(failing_seller, quantity=2)
    delivery = order.deliveries.get()
    delivery_attempt(delivery_pk=delivery.pk)

    response = alice_client.get(reverse("orders:seller-order", kwargs={"pk": order.pk}))

    content = response.content.decode()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.RETRYING
    assert delivery.delivery_id in content
    assert "1 of 1 (quantity 2)" in content
    assert delivery.last_error in content
    attempt = delivery.attempts.get()
    assert attempt.message in content
    assert "<td>1</td>" in content and ">500<" in content
    # The seller's body is shown as text, never run.
    assert "<script>alert(1)</script>" not in content
    assert "<pre>&lt;script&gt;alert(1)&lt;/script&gt; broken</pre>" in content
    assert _retry_url(order, delivery) in content
    assert f"/orders/{order.token}/" in content


def test_order_page_offers_no_retry_for_a_succeeded_delivery(
    alice_client, live_product
):
    order = _place(live_product)
    delivery = order.deliveries.get()
    _succeed(delivery)
    url = reverse("orders:seller-order", kwargs={"pk": order.pk})
    assert "Retry now" not in alice_client.get(url).content.decode()


# --- Retry now ----------------------------------------------------------------------


def test_retry_of_a_failed_delivery_queues_it_after_commit(
    alice_client, live_product, django_capture_on_commit_callbacks
):
    order = _place(live_product)
    delivery = order.deliveries.get()
    _fail(delivery)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = alice_client.post(_retry_url(order, delivery), follow=True)

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING
    assert len(callbacks) == 1
    assert response.redirect_chain == [
        (reverse("orders:seller-order", kwargs={"pk": order.pk}), 302)
    ]
    assert "Queued for a new attempt." in response.content.decode()


def test_retry_of_a_succeeded_delivery_is_refused(
    alice_client, live_product, django_capture_on_commit_callbacks
):
    order = _place(live_product)
    delivery = order.deliveries.get()
    _succeed(delivery)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = alice_client.post(_retry_url(order, delivery), follow=True)

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert callbacks == []
    assert (
        "This delivery cannot be retried (status succeeded)."
        in response.content.decode()
    )


def test_retry_needs_a_post(alice_client, live_product):
    order = _place(live_product)
    delivery = order.deliveries.get()
    _fail(delivery)
    assert alice_client.get(_retry_url(order, delivery)).status_code == 405
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED


def test_retry_of_a_delivery_of_another_order_is_404(alice_client, live_product):
    order = _place(live_product)
    other = _place(live_product, "other@example.com")
    delivery = other.deliveries.get()
    _fail(delivery)
    assert alice_client.post(_retry_url(order, delivery)).status_code == 404
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED


# --- Links to the delivery pages and resending the order email ----------------------


class FailingBackend:
    """An email backend whose ESP is down."""

    def __init__(self, *args, **kwargs) -> None:
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("ESP unreachable")


def _resend_url(order: Order) -> str:
    return reverse("orders:seller-order-email-resend", kwargs={"pk": order.pk})


def _fulfilled(product, email="buyer@example.com") -> Order:
    order = _place(product, email)
    fulfill(order, "KEY-RESEND")
    order.refresh_from_db()
    return order


def test_order_page_links_each_delivery_to_its_delivery_page(
    alice_client, live_product
):
    order = _place(live_product)
    delivery = order.deliveries.get()
    url = reverse(
        "fulfillment:delivery-detail",
        kwargs={"pk": live_product.pk, "delivery_id": delivery.delivery_id},
    )
    content = alice_client.get(
        reverse("orders:seller-order", kwargs={"pk": order.pk})
    ).content.decode()
    assert f'href="{url}"' in content


def test_order_page_offers_the_resend_form(alice_client, live_product):
    order = _fulfilled(live_product)
    content = alice_client.get(
        reverse("orders:seller-order", kwargs={"pk": order.pk})
    ).content.decode()
    assert f'action="{_resend_url(order)}"' in content
    assert "Corrected email address (optional)" in content


def test_resend_sends_to_the_orders_address(alice_client, live_product, email_backend):
    order = _fulfilled(live_product)

    response = alice_client.post(_resend_url(order), {"email": ""}, follow=True)

    assert [m.to for m in mail.outbox] == [["buyer@example.com"]]
    assert "KEY-RESEND" in mail.outbox[0].body
    assert "Order email sent to buyer@example.com." in response.content.decode()


def test_resend_with_a_corrected_address_updates_the_order_and_sends_there(
    alice_client, live_product, email_backend
):
    order = _fulfilled(live_product, "typo@exmaple.com")

    response = alice_client.post(
        _resend_url(order), {"email": "right@example.com"}, follow=True
    )

    order.refresh_from_db()
    assert order.customer_email == "right@example.com"
    assert [m.to for m in mail.outbox] == [["right@example.com"]]
    assert response.redirect_chain == [
        (reverse("orders:seller-order", kwargs={"pk": order.pk}), 302)
    ]
    assert "Order email sent to right@example.com." in response.content.decode()


def test_resend_with_an_invalid_address_is_an_error_beside_the_field(
    alice_client, live_product, email_backend
):
    order = _fulfilled(live_product)

    response = alice_client.post(_resend_url(order), {"email": "not an address"})

    assert response.status_code == 200
    assert response.context["resend_form"].errors["email"]
    assert 'id="id_email_error"' in response.content.decode()
    order.refresh_from_db()
    assert order.customer_email == "buyer@example.com"
    assert mail.outbox == []


def test_resend_that_fails_to_send_shows_a_readable_error(
    alice_client, live_product, settings
):
    order = _fulfilled(live_product)
    settings.EMAIL_BACKEND = f"{__name__}.FailingBackend"

    response = alice_client.post(_resend_url(order), {"email": ""}, follow=True)

    assert response.status_code == 200
    assert (
        "Sending the email failed (ConnectionRefusedError); try again later."
        in response.content.decode()
    )


def test_resend_of_an_unfulfilled_order_says_there_is_nothing_to_send(
    alice_client, live_product, email_backend
):
    order = _place(live_product)

    response = alice_client.post(_resend_url(order), {"email": ""}, follow=True)

    assert mail.outbox == []
    assert "not fulfilled yet" in response.content.decode()


@pytest.mark.parametrize("method", ["get", "post"])
def test_another_seller_gets_404_on_the_resend_url(
    bob_client, live_product, email_backend, method
):
    order = _fulfilled(live_product)

    response = getattr(bob_client, method)(
        _resend_url(order), {"email": "thief@example.com"}
    )

    assert response.status_code == 404
    order.refresh_from_db()
    assert order.customer_email == "buyer@example.com"
    assert mail.outbox == []


def test_resend_needs_a_post(alice_client, live_product):
    order = _fulfilled(live_product)
    assert alice_client.get(_resend_url(order)).status_code == 405


# --- After the sale: refund and cancel, each confirmed on a page of its own --------


def _order_url(order: Order) -> str:
    return reverse("orders:seller-order", kwargs={"pk": order.pk})


def _refund_url(order: Order) -> str:
    return reverse("orders:seller-order-refund", kwargs={"pk": order.pk})


def _cancel_url(order: Order) -> str:
    return reverse("orders:seller-order-cancel", kwargs={"pk": order.pk})


def _confirm_fields(response) -> dict[str, str]:
    """The hidden fields of the confirmation page's form, as a browser posts them."""
    return dict(
        re.findall(
            r'<input type="hidden" name="([^"]+)" value="([^"]*)">',
            response.content.decode(),
        )
    )


def test_order_page_offers_a_refund_of_what_is_left(alice_client, live_product):
    order = _fulfilled(live_product)

    content = alice_client.get(_order_url(order)).content.decode()

    assert f'action="{_refund_url(order)}"' in content
    assert 'name="amount" value="19.00"' in content
    assert "19.00 USD of 19.00 USD can still be refunded" in content


def test_a_refund_is_confirmed_on_its_own_page_before_anything_happens(
    alice_client, live_product
):
    order = _fulfilled(live_product)

    response = alice_client.post(
        _refund_url(order), {"amount": "5", "reason": "Asked nicely"}
    )

    assert response.status_code == 200
    assert "Refund 5.00 USD?" in response.content.decode()
    order.refresh_from_db()
    assert order.refunded_amount == 0
    assert not OrderEvent.objects.exists()


def test_the_confirmed_refund_is_made_once_and_shown_on_the_order_page(
    alice_client, live_product, email_backend, django_capture_on_commit_callbacks
):
    order = _fulfilled(live_product, email="ada@example.com")
    confirm = alice_client.post(
        _refund_url(order), {"amount": "5", "reason": "Asked nicely"}
    )
    fields = _confirm_fields(confirm)
    fields.pop("csrfmiddlewaretoken", None)

    with django_capture_on_commit_callbacks(execute=True):
        done = alice_client.post(_refund_url(order), fields, follow=True)
        alice_client.post(_refund_url(order), fields)  # a double click

    order.refresh_from_db()
    assert order.refunded_amount == Decimal("5.00")
    event = OrderEvent.objects.get()
    assert (event.actor_kind, event.actor_name, event.reason) == (
        "seller",
        "alice",
        "Asked nicely",
    )
    content = done.content.decode()
    assert "Refunded 5.00 USD." in content
    assert "Partially refunded: 5.00 USD of 19.00 USD." in content
    assert "Asked nicely" in content
    assert [m.subject for m in mail.outbox] == ["Your refund for Pixel Editor"]


def test_a_refund_above_what_is_left_is_an_error_beside_the_amount(
    alice_client, live_product
):
    order = _fulfilled(live_product)

    response = alice_client.post(_refund_url(order), {"amount": "25", "reason": ""})
    confirmed = alice_client.post(
        _refund_url(order), {"amount": "25", "nonce": "n1", "confirmed": "1"}
    )

    for answer in (response, confirmed):
        assert answer.status_code == 200
        content = answer.content.decode()
        assert "Only 19.00 USD of this order can still be refunded." in content
    assert not OrderEvent.objects.exists()


def test_a_malformed_amount_is_an_error_beside_the_field(alice_client, live_product):
    order = _fulfilled(live_product)

    response = alice_client.post(_refund_url(order), {"amount": "five"})

    assert response.status_code == 200
    assert 'Enter an amount like "12.50"' in response.content.decode().replace(
        "&quot;", '"'
    )


def test_an_api_order_is_refunded_at_its_provider(alice_client, live_product):
    order, _ = order_create_from_api(
        data={
            "product": live_product.slug,
            "quantity": 1,
            "customer_email": "api@example.com",
            "transaction_id": "txn-api",
        }
    )

    page = alice_client.get(_order_url(order)).content.decode()
    refused = alice_client.post(
        _refund_url(order), {"amount": "5", "nonce": "n1", "confirmed": "1"}
    )

    assert f'action="{_refund_url(order)}"' not in page
    assert "refund it with that provider" in page
    assert "refund it with that provider" in refused.content.decode()
    assert not OrderEvent.objects.exists()


def test_a_pending_order_is_cancelled_after_confirmation(alice_client, live_product):
    order = _place(live_product)
    page = alice_client.get(_order_url(order)).content.decode()
    assert f'action="{_cancel_url(order)}"' in page

    confirm = alice_client.post(_cancel_url(order), {"reason": "Duplicate"})
    assert "Cancel this order?" in confirm.content.decode()
    order.refresh_from_db()
    assert order.cancelled_at is None

    done = alice_client.post(
        _cancel_url(order), {"reason": "Duplicate", "confirmed": "1"}, follow=True
    )

    order.refresh_from_db()
    assert order.cancelled_at is not None
    assert order.deliveries.get().status == DeliveryStatus.CANCELLED
    assert "Order cancelled" in done.content.decode()
    assert f'action="{_cancel_url(order)}"' not in done.content.decode()


def test_a_delivered_order_offers_no_cancel_and_refuses_one(alice_client, live_product):
    order = _fulfilled(live_product)

    page = alice_client.get(_order_url(order)).content.decode()
    refused = alice_client.post(_cancel_url(order), {"confirmed": "1"})

    assert f'action="{_cancel_url(order)}"' not in page
    assert "already delivered: refund it instead" in refused.content.decode()
    order.refresh_from_db()
    assert order.cancelled_at is None


@pytest.mark.parametrize("url", [_refund_url, _cancel_url])
@pytest.mark.parametrize("method", ["get", "post"])
def test_another_seller_can_neither_refund_nor_cancel(
    client, bob, live_product, url, method
):
    order = _place(live_product)
    client.force_login(bob)
    data = {"amount": "19", "nonce": "n1", "reason": "", "confirmed": "1"}

    response = getattr(client, method)(url(order), data)

    assert response.status_code == 404
    order.refresh_from_db()
    assert (order.refunded_amount, order.cancelled_at) == (0, None)
    assert order.deliveries.get().status == DeliveryStatus.PENDING


@pytest.mark.parametrize("url", [_refund_url, _cancel_url])
def test_refund_and_cancel_need_a_post(alice_client, live_product, url):
    assert alice_client.get(url(_place(live_product))).status_code == 405


def test_list_filters_by_state_after_the_sale(alice_client, live_product, alice):
    refunded = _fulfilled(live_product, "refunded@example.com")
    partial = _fulfilled(live_product, "partial@example.com")
    cancelled = _place(live_product, "cancelled@example.com")
    _fulfilled(live_product, "kept@example.com")
    seller = Actor.seller(user_id=alice.pk, username="alice")
    order_refund(order_id=refunded.pk, amount=Decimal(19), reason="", actor=seller)
    order_refund(order_id=partial.pk, amount=Decimal(4), reason="", actor=seller)
    order_cancel(order_id=cancelled.pk, reason="", actor=seller)

    def listed(state):
        return _listed(_list(alice_client, status=state))

    assert listed("refunded") == ["refunded@example.com"]
    assert listed("partially_refunded") == ["partial@example.com"]
    assert listed("cancelled") == ["cancelled@example.com"]
    assert listed("fulfilled") == ["kept@example.com"]


def test_list_shows_refunded_amounts_and_their_total(alice_client, live_product, alice):
    seller = Actor.seller(user_id=alice.pk, username="alice")
    for email, amount in [("a@example.com", 19), ("b@example.com", 4)]:
        order = _fulfilled(live_product, email)
        order_refund(order_id=order.pk, amount=Decimal(amount), reason="", actor=seller)
    _fulfilled(live_product, "c@example.com")

    content = _list(alice_client).content.decode()

    assert "<strong>23.00 USD</strong> (2 orders)" in content
    assert '<span class="badge refunded">Refunded</span>' in content
    assert '<span class="badge partially_refunded">Partially refunded</span>' in content
