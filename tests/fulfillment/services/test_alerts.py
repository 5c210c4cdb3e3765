"""Which changes emit which alerts: `order.completed` when an order is paid and
created, `delivery.failed` when a delivery fails for good, each once."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone
from standardwebhooks import Webhook

from fulfillment.models import AlertDelivery, Delivery
from fulfillment.payload import TEST_PASSTHROUGH
from fulfillment.services import alert_engine
from fulfillment.services import deliveries as services
from fulfillment.services.aftersale import (
    order_cancel,
    order_dispute_reported,
    order_refund,
    order_refund_reported,
)
from fulfillment.services.alerts import (
    alert_endpoint_get_or_create,
    alert_endpoint_save,
    alert_order_data,
    alert_order_event,
    alert_sample_data,
)
from fulfillment.services.wakeups import delivery_retry_now
from orders.aftersale import Actor
from orders.errors import OrderError
from orders.payments import PaymentDeclined
from orders.services import api_token_create
from tests.factories import place
from tests.httpserver import Route
from web.orders.services import order_create_from_api

pytestmark = pytest.mark.django_db


@pytest.fixture
def subscribed(alice, seller_server, loopback):
    """alice's Alerts URL (the seller server's /alerts) takes both wired events."""
    seller_server.set_route("/alerts", Route(body="ok"))
    endpoint = alert_endpoint_get_or_create(seller_id=alice.pk)
    alert_endpoint_save(
        endpoint=endpoint,
        url=seller_server.url("/alerts"),
        events=["order.completed", "delivery.failed"],
    )
    return endpoint


def test_a_paid_order_sends_order_completed_after_commit(
    subscribed, answering_product, seller_server, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        order = place(answering_product, quantity=2, email="ada@example.com")

    (request,) = seller_server.requests_to("/alerts")
    body = Webhook(subscribed.signing_secret).verify(request.body, request.headers)
    assert body["type"] == "order.completed"
    assert body["data"] == {
        "order_id": str(order.pk),
        "transaction_id": order.transaction_id,
        "product": {"id": answering_product.pk, "name": answering_product.name},
        "quantity": 2,
        "unit_price": str(order.unit_price),
        "total": str(order.total),
        "currency": order.currency,
        "customer": {"email": "ada@example.com", "name": ""},
        "test": order.is_test,
        "completed_at": order.completed_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "passthrough": "",
    }


def test_an_api_order_sent_twice_alerts_once(subscribed, live_product):
    data = {
        "product": live_product.slug,
        "quantity": 1,
        "customer_email": "ada@example.com",
        "transaction_id": "txn-1",
    }

    order_create_from_api(data=data)
    _, created = order_create_from_api(data=data)

    assert created is False
    assert AlertDelivery.objects.filter(type="order.completed").count() == 1


def test_a_declined_payment_alerts_nothing(subscribed, live_product, monkeypatch):
    from orders import payments

    def decline(self, *, checkout):
        raise PaymentDeclined("declined")

    provider = payments.get_provider()
    monkeypatch.setattr(type(provider), "charge", decline)

    with pytest.raises(PaymentDeclined):
        place(live_product)

    assert not AlertDelivery.objects.exists()


def test_an_order_of_a_seller_without_alerts_records_none(live_product):
    place(live_product)

    assert not AlertDelivery.objects.exists()


def test_another_sellers_order_does_not_alert_this_seller(subscribed, bob):
    from tests.factories import LiveProductFactory

    place(LiveProductFactory(seller=bob))

    assert not AlertDelivery.objects.exists()


def fail_for_good(order, fulfillment_settings) -> Delivery:
    fulfillment_settings(RETRY_SCHEDULE=[10])
    delivery = order.deliveries.get()
    services.delivery_attempt(delivery_pk=delivery.pk)
    Delivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )
    services.delivery_attempt(delivery_pk=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == "failed"
    return delivery


def test_a_delivery_that_fails_for_good_alerts_delivery_failed(
    subscribed, wired_product, seller_server, fulfillment_settings
):
    seller_server.set_route("/license", Route(status=500))
    order = place(wired_product)
    retrying = AlertDelivery.objects.filter(type="delivery.failed")

    services.delivery_attempt(delivery_pk=order.deliveries.get().pk)
    assert not retrying.exists()  # a retry is not a failure for good
    delivery = fail_for_good(order, fulfillment_settings)

    alert = AlertDelivery.objects.get(type="delivery.failed")
    alert_engine.alert_attempt(alert_id=alert.alert_id)
    (request,) = seller_server.requests_to("/alerts")
    body = Webhook(subscribed.signing_secret).verify(request.body, request.headers)
    assert body["data"]["transaction_id"] == order.transaction_id
    assert body["data"]["delivery"] == {
        "delivery_id": delivery.delivery_id,
        "item_index": 1,
        "item_count": 1,
        "attempts": 2,
        "last_error": delivery.last_error,
    }


def test_a_delivery_retried_by_the_seller_that_fails_again_alerts_again(
    subscribed, wired_product, seller_server, fulfillment_settings
):
    seller_server.set_route("/license", Route(status=410))
    order = place(wired_product)
    delivery = order.deliveries.get()
    services.delivery_attempt(delivery_pk=delivery.pk)

    delivery_retry_now(delivery=delivery)
    services.delivery_attempt(delivery_pk=delivery.pk)

    assert AlertDelivery.objects.filter(type="delivery.failed").count() == 2


def test_a_failed_test_delivery_alerts_nothing(
    subscribed, wired_product, seller_server
):
    seller_server.set_route("/license", Route(status=500))

    services.delivery_test_send(product=wired_product)

    assert not AlertDelivery.objects.filter(type="delivery.failed").exists()


def test_an_order_event_is_trivially_emitted_once_per_order(subscribed, live_product):
    alert_endpoint_save(
        endpoint=subscribed, url=subscribed.url, events=["order.refunded"]
    )
    order = place(live_product)

    with transaction.atomic():
        first = alert_order_event(order=order, type="order.refunded")
        again = alert_order_event(order=order, type="order.refunded")
        second_refund = alert_order_event(
            order=order,
            type="order.refunded",
            subject="refund:2",
            extra={"refund": {"amount": "5.00"}},
        )

    assert first and second_refund and again is None
    payload = AlertDelivery.objects.get(alert_id=second_refund).payload
    assert payload["data"]["refund"] == {"amount": "5.00"}
    assert payload["data"]["transaction_id"] == order.transaction_id


def test_the_sellers_passthrough_comes_back_with_the_order(subscribed, live_product):
    place(live_product, email="ada@example.com", passthrough="acct_42")

    alert = AlertDelivery.objects.get(type="order.completed")
    assert alert.payload["data"]["passthrough"] == "acct_42"


def test_a_test_alert_carries_every_key_of_a_real_order(live_product):
    """A receiver built against "Send test alert" finds every key, passthrough
    included (a sample one, as in test requests)."""
    order = place(live_product, passthrough="acct_42")

    sample = alert_sample_data()

    assert sample.keys() == alert_order_data(order=order).keys()
    assert sample["passthrough"] == TEST_PASSTHROUGH


# --- After the sale ---------------------------------------------------------------


@pytest.fixture
def after_sale(alice, seller_server, loopback):
    """alice's Alerts URL takes the events after the sale."""
    seller_server.set_route("/alerts", Route(body="ok"))
    endpoint = alert_endpoint_get_or_create(seller_id=alice.pk)
    alert_endpoint_save(
        endpoint=endpoint,
        url=seller_server.url("/alerts"),
        events=[
            "order.refunded",
            "order.dispute_opened",
            "order.dispute_closed",
            "order.cancelled",
        ],
    )
    return endpoint


def _bodies(endpoint, seller_server) -> list[dict]:
    return [
        Webhook(endpoint.signing_secret).verify(r.body, r.headers)
        for r in seller_server.requests_to("/alerts")
    ]


def test_a_half_refund_sends_one_verified_order_refunded_with_the_amount(
    after_sale, alice, live_product, seller_server, django_capture_on_commit_callbacks
):
    order = place(live_product, email="ada@example.com", passthrough="acct_42")
    seller = Actor.seller(user_id=alice.pk, username=alice.username)

    with django_capture_on_commit_callbacks(execute=True):
        event, _ = order_refund(
            order_id=order.pk, amount=Decimal("9.50"), reason="asked", actor=seller
        )

    (body,) = _bodies(after_sale, seller_server)
    assert body["type"] == "order.refunded"
    assert body["data"]["transaction_id"] == order.transaction_id
    assert body["data"]["passthrough"] == "acct_42"
    assert body["data"]["refund"] == {
        "event_id": f"oev_{event.pk}",
        "amount": "9.50",
        "currency": order.currency,
        "refunded_total": "9.50",
        "fully_refunded": False,
        "reason": "asked",
        "by": "seller",
        "created_at": event.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def test_a_replayed_provider_refund_alerts_once(after_sale, live_product):
    order = place(live_product)
    token, _ = api_token_create(name="Acme Pay")
    provider = Actor.provider(token_id=token.pk, name=token.name)

    for _ in range(2):
        order_refund_reported(
            order_id=order.pk,
            amount=Decimal("1.00"),
            reason="",
            actor=provider,
            provider_event_id="re_1",
            fingerprint="re_1",
        )

    assert AlertDelivery.objects.filter(type="order.refunded").count() == 1


def test_a_dispute_alerts_when_opened_and_when_lost(after_sale, live_product):
    order = place(live_product)
    token, _ = api_token_create(name="Acme Pay")
    provider = Actor.provider(token_id=token.pk, name=token.name)

    for status in ("opened", "lost"):
        order_dispute_reported(
            order_id=order.pk,
            status=status,
            amount=order.total,
            reason="fraudulent",
            actor=provider,
            provider_event_id=f"dp_{status}",
            fingerprint=f"dp_{status}",
        )

    alerts = list(AlertDelivery.objects.order_by("pk"))
    assert [a.type for a in alerts] == ["order.dispute_opened", "order.dispute_closed"]
    assert [a.payload["data"]["dispute"]["status"] for a in alerts] == [
        "opened",
        "lost",
    ]


def test_a_cancel_alerts_and_a_refused_cancel_does_not(after_sale, alice, live_product):
    seller = Actor.seller(user_id=alice.pk, username=alice.username)
    busy = place(live_product)
    Delivery.objects.filter(order=busy).update(status="in_flight", attempt_count=1)
    with pytest.raises(OrderError):
        order_cancel(order_id=busy.pk, reason="", actor=seller)
    assert not AlertDelivery.objects.exists()

    order = place(live_product)
    order_cancel(order_id=order.pk, reason="customer asked", actor=seller)

    alert = AlertDelivery.objects.get()
    assert alert.type == "order.cancelled"
    assert alert.payload["data"]["order_id"] == str(order.pk)
    assert alert.payload["data"]["cancellation"]["reason"] == "customer asked"
