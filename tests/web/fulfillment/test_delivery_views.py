"""The seller's delivery log and delivery page, with retry, cancel and fulfill by hand.

alice owns `live_product`; bob is another seller and must get a 404 on every one
of these URLs, for GET as for POST, and change nothing.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from fulfillment.models import Delivery, DeliveryStatus
from fulfillment.services import claims, wakeups
from fulfillment.services.deliveries import delivery_attempt
from lib.signing import REDACTED_SIGNATURE, SIGNATURE_HEADER
from orders.models import FulfillmentStatus, Order
from tests.factories import ProductFactory, WebhookConfigFactory
from tests.httpserver import Route
from web.orders.services import order_place

pytestmark = pytest.mark.django_db


def _place(product, email: str = "buyer@example.com", quantity: int = 1) -> Order:
    return order_place(product=product, quantity=quantity, customer_email=email)


def _set(delivery: Delivery, status: str, **fields) -> Delivery:
    Delivery.objects.filter(pk=delivery.pk).update(status=status, **fields)
    delivery.refresh_from_db()
    return delivery


def _failed(product, email: str = "buyer@example.com") -> Delivery:
    # The state the retry engine leaves after the last attempt.
    return _set(
        _place(product, email).deliveries.get(),
        DeliveryStatus.FAILED,
        next_attempt_at=None,
        last_error="Your server answered 500.",
    )


def _url(name: str, delivery: Delivery) -> str:
    return reverse(
        f"fulfillment:{name}",
        kwargs={"pk": delivery.product_id, "delivery_id": delivery.delivery_id},
    )


def _list(client, product, **params):
    return client.get(
        reverse("fulfillment:delivery-list", kwargs={"pk": product.pk}), params
    )


def _listed(response) -> list[str]:
    return [d.order.customer_email for d in response.context["deliveries"]]


# --- Access ---------------------------------------------------------------------


def test_delivery_pages_require_login(client, live_product):
    delivery = _failed(live_product)
    for url in [
        reverse("fulfillment:delivery-list", kwargs={"pk": live_product.pk}),
        _url("delivery-detail", delivery),
    ]:
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


def test_another_seller_gets_404_on_the_delivery_list(bob_client, live_product):
    _failed(live_product)
    assert _list(bob_client, live_product).status_code == 404


def test_another_seller_gets_404_on_the_delivery_page(bob_client, live_product):
    delivery = _failed(live_product)
    assert bob_client.get(_url("delivery-detail", delivery)).status_code == 404


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize(
    "action", ["delivery-retry", "delivery-cancel", "delivery-fulfill"]
)
def test_another_seller_gets_404_on_the_actions(
    bob_client, live_product, action, method
):
    delivery = _failed(live_product)

    response = getattr(bob_client, method)(
        _url(action, delivery), {"license_text": "STOLEN"}
    )

    assert response.status_code == 404
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED


def test_a_delivery_under_another_product_of_the_same_seller_is_404(
    alice_client, live_product, alice
):
    other = ProductFactory(seller=alice, status="live")
    WebhookConfigFactory(product=other)
    delivery = _failed(live_product)
    url = reverse(
        "fulfillment:delivery-detail",
        kwargs={"pk": other.pk, "delivery_id": delivery.delivery_id},
    )
    assert alice_client.get(url).status_code == 404


def test_test_deliveries_have_no_page_here(alice_client, live_product):
    # What "Send test request" leaves behind (without the network call).
    delivery = Delivery.objects.create(
        product=live_product, is_test=True, config_version=1
    )
    assert alice_client.get(_url("delivery-detail", delivery)).status_code == 404


@pytest.mark.parametrize(
    "action", ["delivery-retry", "delivery-cancel", "delivery-fulfill"]
)
def test_actions_need_a_post(alice_client, live_product, action):
    delivery = _failed(live_product)
    assert alice_client.get(_url(action, delivery)).status_code == 405


def test_product_nav_links_the_delivery_log(alice_client, live_product):
    content = alice_client.get(
        reverse("products:detail", kwargs={"pk": live_product.pk})
    ).content.decode()
    url = reverse("fulfillment:delivery-list", kwargs={"pk": live_product.pk})
    assert f'href="{url}">Deliveries</a>' in content


# --- The log --------------------------------------------------------------------


def test_log_lists_real_deliveries_of_the_product_newest_first(
    alice_client, live_product, alice
):
    older = _failed(live_product, "first@example.com")
    Delivery.objects.filter(pk=older.pk).update(
        created_at=timezone.now() - timedelta(hours=1)
    )
    _place(live_product, "second@example.com")
    other = ProductFactory(seller=alice, status="live")
    WebhookConfigFactory(product=other)
    _place(other, "elsewhere@example.com")
    Delivery.objects.create(product=live_product, is_test=True, config_version=1)

    response = _list(alice_client, live_product)

    assert _listed(response) == ["second@example.com", "first@example.com"]


def test_log_row_shows_status_order_item_attempts_reason(alice_client, live_product):
    delivery = _failed(live_product)
    Delivery.objects.filter(pk=delivery.pk).update(attempt_count=9)

    content = _list(alice_client, live_product).content.decode()

    assert '<span class="badge failed">Failed</span>' in content
    order_url = reverse("orders:seller-order", kwargs={"pk": delivery.order_id})
    assert f'href="{order_url}"><code>{delivery.order.transaction_id}</code>' in content
    assert "1 of 1" in content
    assert '<td data-label="Attempts">9</td>' in content
    assert "Your server answered 500." in content
    assert _url("delivery-detail", delivery) in content


def test_log_shows_the_next_attempt_time_of_a_retrying_delivery(
    alice_client, live_product
):
    when = timezone.now() + timedelta(minutes=5)
    _set(
        _place(live_product).deliveries.get(),
        DeliveryStatus.RETRYING,
        next_attempt_at=when,
    )
    content = _list(alice_client, live_product).content.decode()
    assert timezone.localtime(when).strftime("%Y-%m-%d %H:%M:%S") in content


def test_log_filters_by_status(alice_client, live_product):
    _failed(live_product, "failed@example.com")
    _place(live_product, "pending@example.com")
    assert _listed(_list(alice_client, live_product, status="failed")) == [
        "failed@example.com"
    ]


def test_log_filters_by_creation_date_range(alice_client, live_product):
    now = timezone.localtime()
    for email, days_ago in [("old@", 10), ("mid@", 5), ("new@", 0)]:
        delivery = _place(live_product, f"{email}example.com").deliveries.get()
        Delivery.objects.filter(pk=delivery.pk).update(
            created_at=now - timedelta(days=days_ago)
        )
    start = (now - timedelta(days=6)).date().isoformat()
    end = (now - timedelta(days=1)).date().isoformat()

    response = _list(alice_client, live_product, created_from=start, created_to=end)

    assert _listed(response) == ["mid@example.com"]


def test_log_shows_a_bad_date_beside_its_field_and_ignores_it(
    alice_client, live_product
):
    _place(live_product)

    response = _list(alice_client, live_product, created_from="yesterday-ish")

    assert response.context["form"].errors["created_from"] == ["Enter a valid date."]
    assert len(response.context["deliveries"]) == 1
    content = response.content.decode()
    assert 'id="id_created_from_error"' in content


def test_log_refuses_a_range_that_ends_before_it_starts(alice_client, live_product):
    response = _list(
        alice_client, live_product, created_from="2026-05-02", created_to="2026-05-01"
    )
    assert response.context["form"].errors["created_to"]


def test_log_is_paginated_fifty_a_page_and_keeps_the_filters(
    alice_client, live_product
):
    for n in range(51):
        _place(live_product, f"buyer{n}@example.com")

    first = _list(alice_client, live_product, status="pending")
    second = _list(alice_client, live_product, status="pending", page=2)

    assert len(first.context["deliveries"]) == 50
    assert len(second.context["deliveries"]) == 1
    assert "?status=pending&amp;page=2" in first.content.decode()


# --- The delivery page ----------------------------------------------------------


@pytest.fixture
def failing_seller(wired_product, seller_server):
    seller_server.set_route(
        "/license",
        Route(
            status=500,
            body="<script>alert(1)</script> broken",
            headers={"X-Trace": "abc-123"},
        ),
    )
    return wired_product


def test_delivery_page_shows_every_attempt_as_sent_and_as_answered(
    alice_client, failing_seller, seller_server
):
    delivery = _place(failing_seller).deliveries.get()
    delivery_attempt(delivery_pk=delivery.pk)

    content = alice_client.get(_url("delivery-detail", delivery)).content.decode()

    attempt = delivery.attempts.get()
    assert f"POST {attempt.request_url}" in content
    sent_signature = seller_server.requests_to("/license")[0].header(SIGNATURE_HEADER)
    assert sent_signature not in content
    assert escape(REDACTED_SIGNATURE) in content
    assert f"delivery_id={delivery.delivery_id}" in content
    assert "X-Trace: abc-123" in content
    assert f"{attempt.duration_ms} ms" in content
    assert attempt.message in content
    # The seller's answer is shown as text, never run.
    assert "<script>alert(1)</script>" not in content
    assert "&lt;script&gt;alert(1)&lt;/script&gt; broken" in content


def test_delivery_page_says_when_a_worker_stopped_during_an_attempt(
    alice_client, live_product, monkeypatch
):
    monkeypatch.setattr(wakeups, "delivery_enqueue", lambda pk, countdown=0: None)
    delivery = _place(live_product).deliveries.get()
    claims._claim(delivery.pk, timezone.now())
    _set(
        delivery,
        DeliveryStatus.IN_FLIGHT,
        lease_expires_at=timezone.now() - timedelta(seconds=1),
    )
    wakeups.deliveries_dispatch_due()

    content = alice_client.get(_url("delivery-detail", delivery)).content.decode()

    assert "Interrupted, not counted" in content
    assert "Our worker stopped during this attempt" in content
    assert "(Worker stopped)" in content


def test_delivery_page_offers_retry_cancel_and_fulfill_for_a_failed_delivery(
    alice_client, live_product
):
    delivery = _failed(live_product)
    content = alice_client.get(_url("delivery-detail", delivery)).content.decode()
    for action in ["delivery-retry", "delivery-cancel", "delivery-fulfill"]:
        assert _url(action, delivery) in content
    assert "License text (Markdown allowed)" in content


def test_delivery_page_offers_no_actions_for_a_succeeded_delivery(
    alice_client, live_product
):
    delivery = _set(
        _place(live_product).deliveries.get(),
        DeliveryStatus.SUCCEEDED,
        response_text="KEY-77",
    )
    content = alice_client.get(_url("delivery-detail", delivery)).content.decode()
    for action in ["delivery-retry", "delivery-cancel", "delivery-fulfill"]:
        assert _url(action, delivery) not in content
    assert "KEY-77" in content


# --- Actions --------------------------------------------------------------------


def test_retry_now_queues_the_delivery_and_returns_to_its_page(
    alice_client, live_product, django_capture_on_commit_callbacks
):
    delivery = _failed(live_product)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = alice_client.post(_url("delivery-retry", delivery), follow=True)

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING
    assert len(callbacks) == 1
    assert response.redirect_chain == [(_url("delivery-detail", delivery), 302)]
    assert "Queued for a new attempt." in response.content.decode()


def test_cancel_cancels_and_says_so(alice_client, live_product, alice):
    delivery = _failed(live_product)

    response = alice_client.post(_url("delivery-cancel", delivery), follow=True)

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.CANCELLED
    assert delivery.handled_by == alice
    assert "Delivery cancelled" in response.content.decode()


def test_cancel_of_a_succeeded_delivery_is_refused_with_a_message(
    alice_client, live_product
):
    delivery = _set(_place(live_product).deliveries.get(), DeliveryStatus.SUCCEEDED)

    response = alice_client.post(_url("delivery-cancel", delivery), follow=True)

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert (
        "This delivery cannot be cancelled (status succeeded)."
        in response.content.decode()
    )


def test_fulfill_by_hand_completes_the_order_and_emails_the_typed_license(
    alice_client, live_product, email_backend, django_capture_on_commit_callbacks
):
    delivery = _failed(live_product)

    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(
            _url("delivery-fulfill", delivery),
            {"license_text": "**Key:** `HAND-42`"},
            follow=True,
        )

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert delivery.response_text == "**Key:** `HAND-42`"
    order = Order.objects.get(pk=delivery.order_id)
    assert order.fulfillment_status == FulfillmentStatus.FULFILLED
    assert len(mail.outbox) == 1
    assert "HAND-42" in mail.outbox[0].body
    assert "Delivery fulfilled by hand." in response.content.decode()


@pytest.mark.parametrize("text", ["", "   "])
def test_fulfill_by_hand_with_empty_text_is_an_error_beside_the_field(
    alice_client, live_product, text
):
    delivery = _failed(live_product)

    response = alice_client.post(
        _url("delivery-fulfill", delivery), {"license_text": text}
    )

    assert response.status_code == 200
    assert response.context["fulfill_form"].errors["license_text"] == [
        "This field is required."
    ]
    assert 'id="id_license_text_error"' in response.content.decode()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED


def test_fulfill_by_hand_of_a_succeeded_delivery_is_refused_with_a_message(
    alice_client, live_product
):
    delivery = _set(
        _place(live_product).deliveries.get(),
        DeliveryStatus.SUCCEEDED,
        response_text="FROM-SERVER",
    )

    response = alice_client.post(
        _url("delivery-fulfill", delivery), {"license_text": "HAND"}, follow=True
    )

    delivery.refresh_from_db()
    assert delivery.response_text == "FROM-SERVER"
    assert (
        "This delivery cannot be fulfilled by hand (status succeeded)."
        in response.content.decode()
    )


@pytest.mark.parametrize(
    "bad_id", ["%00", "dlv_%00", "a%0Ab", "dlv_" + "Z" * 27, "x" * 5000]
)
def test_a_segment_that_cannot_be_a_delivery_id_is_404_without_a_query(
    alice_client, live_product, bad_id, django_assert_num_queries
):
    url = f"/dashboard/products/{live_product.pk}/deliveries/{bad_id}/"

    # No URL pattern matches: not even the session is read.
    with django_assert_num_queries(0):
        assert alice_client.get(url).status_code == 404


def _failed_multibuy(product, quantity: int) -> Delivery:
    return _set(
        _place(product, quantity=quantity).deliveries.get(),
        DeliveryStatus.FAILED,
        next_attempt_at=None,
        last_error="Your server sent 1 license for a quantity of 3.",
    )


def test_fulfill_by_hand_one_per_line_sends_each_line_as_a_license(
    alice_client, live_product, email_backend, django_capture_on_commit_callbacks
):
    delivery = _failed_multibuy(live_product, quantity=3)
    page = alice_client.get(_url("delivery-detail", delivery)).content.decode()
    assert "One license per line" in page

    with django_capture_on_commit_callbacks(execute=True):
        alice_client.post(
            _url("delivery-fulfill", delivery),
            {"license_text": "HAND-1\n\n HAND-2 \nHAND-3", "one_per_line": "on"},
        )

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert delivery.license_texts == ["HAND-1", "HAND-2", "HAND-3"]
    assert "License 3 of 3:\n\nHAND-3" in mail.outbox[0].body


def test_fulfill_by_hand_one_per_line_with_the_wrong_count_is_an_error_beside_the_field(
    alice_client, live_product
):
    delivery = _failed_multibuy(live_product, quantity=3)

    response = alice_client.post(
        _url("delivery-fulfill", delivery),
        {"license_text": "HAND-1\nHAND-2", "one_per_line": "on"},
    )

    assert response.status_code == 200
    assert response.context["fulfill_form"].errors["license_text"] == [
        "You typed 2 lines for a quantity of 3: type one license per line."
    ]
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED


def test_fulfill_by_hand_of_a_multibuy_without_one_per_line_is_one_license(
    alice_client, live_product
):
    delivery = _failed_multibuy(live_product, quantity=2)

    alice_client.post(
        _url("delivery-fulfill", delivery),
        {"license_text": "SEAT-KEY covering\nboth seats"},
    )

    delivery.refresh_from_db()
    assert delivery.license_texts == ["SEAT-KEY covering\nboth seats"]
