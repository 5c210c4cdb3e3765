"""After the sale: refunds, disputes and cancellation, and what they do to the
order's deliveries and the customer's emails.

alice owns the product and, as the seller, refunds and cancels here (the views
check ownership); the payment provider reports refunds and disputes through
its API token. Orders are placed through the public checkout with the test
provider, so a seller's refund goes back through it.
"""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone

from emails.models import RefundNotice
from fulfillment.models import Delivery, DeliveryStatus
from fulfillment.services import deliveries as delivery_services
from fulfillment.services.actions import (
    delivery_actions_allowed,
    delivery_fulfill_manually,
)
from fulfillment.services.aftersale import (
    order_cancel,
    order_dispute_reported,
    order_refund,
    order_refund_reported,
)
from fulfillment.services.wakeups import deliveries_dispatch_due, delivery_retry_now
from orders.aftersale import Actor, OrderState, order_state
from orders.errors import OrderError
from orders.models import FulfillmentStatus, Order, OrderEvent
from orders.payments import PaymentDeclined, TestPaymentProvider
from orders.services import api_token_create
from tests.factories import fulfill, place
from tests.httpserver import Route
from web.orders.services import order_create_from_api

pytestmark = pytest.mark.django_db

TOTAL = Decimal("19.00")  # the product's price, one unit


@pytest.fixture
def seller(alice) -> Actor:
    return Actor.seller(user_id=alice.pk, username=alice.username)


@pytest.fixture
def provider() -> Actor:
    token, _ = api_token_create(name="Acme Pay")
    return Actor.provider(token_id=token.pk, name=token.name)


@pytest.fixture
def fulfilled(live_product) -> Order:
    order = place(live_product, email="ada@example.com")
    fulfill(order, "KEY-1")
    order.refresh_from_db()
    return order


def _refund(order: Order, amount: str, actor: Actor, **kwargs):
    return order_refund(
        order_id=order.pk, amount=Decimal(amount), reason="", actor=actor, **kwargs
    )


def _report(order: Order, amount: str, actor: Actor, event_id: str, reason=""):
    return order_refund_reported(
        order_id=order.pk,
        amount=Decimal(amount),
        reason=reason,
        actor=actor,
        provider_event_id=event_id,
        fingerprint=f"{event_id}:{amount}:{reason}",
    )


def _dispute(order: Order, status: str, actor: Actor, event_id: str, amount="19.00"):
    return order_dispute_reported(
        order_id=order.pk,
        status=status,
        amount=Decimal(amount),
        reason="",
        actor=actor,
        provider_event_id=event_id,
        fingerprint=f"{event_id}:{status}:{amount}",
    )


# --- Refunds --------------------------------------------------------------------


def test_a_partial_refund_records_the_event_and_the_amount_left(fulfilled, seller):
    event, created = _refund(fulfilled, "5.00", seller)

    fulfilled.refresh_from_db()
    assert created is True
    assert (event.kind, event.amount, event.actor_kind) == ("refund", 5, "seller")
    assert event.actor_name == "alice" and event.user_id == seller.user_id
    assert event.provider_refund_id.startswith("test_refund_")
    assert fulfilled.refunded_amount == Decimal("5.00")
    assert order_state(fulfilled) == OrderState.PARTIALLY_REFUNDED


def test_refunds_up_to_the_total_leave_the_order_refunded(fulfilled, seller):
    _refund(fulfilled, "5.00", seller)
    _refund(fulfilled, "14.00", seller)

    fulfilled.refresh_from_db()
    assert fulfilled.refunded_amount == TOTAL
    assert order_state(fulfilled) == OrderState.REFUNDED
    # A refund leaves the delivered license where it was: the pages strike it.
    assert fulfilled.deliveries.get().status == DeliveryStatus.SUCCEEDED


def test_a_refund_above_what_is_left_is_refused_on_the_amount(fulfilled, seller):
    _refund(fulfilled, "15.00", seller)

    with pytest.raises(OrderError) as refused:
        _refund(fulfilled, "4.01", seller)

    assert refused.value.code == "amount_too_large"
    assert refused.value.fields == {
        "amount": ["Only 4.00 USD of this order can still be refunded."]
    }
    fulfilled.refresh_from_db()
    assert fulfilled.refunded_amount == Decimal("15.00")
    assert OrderEvent.objects.count() == 1


def test_nothing_can_be_refunded_after_a_full_refund(fulfilled, provider):
    _report(fulfilled, "19.00", provider, "re_1")

    with pytest.raises(OrderError) as refused:
        _report(fulfilled, "0.01", provider, "re_2")

    assert refused.value.fields["amount"] == [
        "Nothing of this order can be refunded any more."
    ]


def test_a_refused_provider_records_nothing(fulfilled, seller, monkeypatch):
    def decline(self, **kwargs):
        raise PaymentDeclined("The card was closed.")

    monkeypatch.setattr(TestPaymentProvider, "refund", decline)

    with pytest.raises(OrderError) as refused:
        _refund(fulfilled, "5.00", seller)

    assert (refused.value.code, refused.value.message) == (
        "refund_declined",
        "The card was closed.",
    )
    assert not OrderEvent.objects.exists()


def test_an_api_order_is_refunded_at_its_provider_not_by_the_seller(
    live_product, seller
):
    order, _ = order_create_from_api(
        data={
            "product": live_product.slug,
            "quantity": 1,
            "customer_email": "api@example.com",
            "transaction_id": "txn-api-1",
        }
    )

    with pytest.raises(OrderError) as refused:
        _refund(order, "5.00", seller)

    assert refused.value.code == "refund_elsewhere"
    assert not OrderEvent.objects.exists()


def test_a_form_posted_twice_refunds_once(fulfilled, seller):
    first, created = _refund(fulfilled, "5.00", seller, form_nonce="n-1")
    again, created_again = _refund(fulfilled, "5.00", seller, form_nonce="n-1")

    assert (created, created_again) == (True, False)
    assert again.pk == first.pk
    fulfilled.refresh_from_db()
    assert fulfilled.refunded_amount == Decimal("5.00")


def test_a_replayed_provider_event_is_applied_once(fulfilled, provider):
    first, created = _report(fulfilled, "5.00", provider, "re_1")
    again, created_again = _report(fulfilled, "5.00", provider, "re_1")

    assert (created, created_again) == (True, False)
    assert again.pk == first.pk
    fulfilled.refresh_from_db()
    assert fulfilled.refunded_amount == Decimal("5.00")


def test_a_provider_event_id_with_other_contents_is_a_conflict(fulfilled, provider):
    _report(fulfilled, "5.00", provider, "re_1")

    with pytest.raises(OrderError) as refused:
        _report(fulfilled, "6.00", provider, "re_1")

    assert (refused.value.code, refused.value.status) == ("event_conflict", 409)
    fulfilled.refresh_from_db()
    assert fulfilled.refunded_amount == Decimal("5.00")


def test_each_refund_tells_the_customer_once(
    fulfilled, provider, email_backend, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _report(fulfilled, "5.00", provider, "re_1")
    with django_capture_on_commit_callbacks(execute=True):
        _report(fulfilled, "5.00", provider, "re_1")  # a replay: no new event
    with django_capture_on_commit_callbacks(execute=True):
        _report(fulfilled, "3.00", provider, "re_2")

    assert [m.subject for m in mail.outbox] == ["Your refund for Pixel Editor"] * 2
    assert "5.00 USD" in mail.outbox[0].body
    assert "3.00 USD" in mail.outbox[1].body
    assert RefundNotice.objects.count() == 2


# --- Disputes -------------------------------------------------------------------


def test_a_dispute_opened_then_won_leaves_the_order_as_it_was(fulfilled, provider):
    _dispute(fulfilled, "opened", provider, "dp_1")
    fulfilled.refresh_from_db()
    assert order_state(fulfilled) == OrderState.DISPUTED

    _dispute(fulfilled, "won", provider, "dp_2")

    fulfilled.refresh_from_db()
    assert fulfilled.dispute_status == "won"
    assert order_state(fulfilled) == OrderState.FULFILLED
    kinds = list(fulfilled.events.values_list("kind", flat=True))
    assert kinds == ["dispute_opened", "dispute_won"]


def test_a_lost_dispute_charges_the_order_back(fulfilled, provider):
    _dispute(fulfilled, "opened", provider, "dp_1")
    _dispute(fulfilled, "lost", provider, "dp_2")

    fulfilled.refresh_from_db()
    assert order_state(fulfilled) == OrderState.CHARGED_BACK
    # The bank took the money back: nothing is left to refund.
    with pytest.raises(OrderError) as refused:
        _report(fulfilled, "1.00", provider, "re_1")
    assert refused.value.code == "amount_too_large"


@pytest.mark.parametrize(
    ("before", "status"),
    [(["opened"], "opened"), (["won"], "lost"), (["opened", "lost"], "won")],
)
def test_a_dispute_moves_only_forward(fulfilled, provider, before, status):
    for index, earlier in enumerate(before):
        _dispute(fulfilled, earlier, provider, f"dp_{index}")

    with pytest.raises(OrderError) as refused:
        _dispute(fulfilled, status, provider, "dp_late")

    assert (refused.value.code, refused.value.status) == ("dispute_conflict", 409)


def test_a_dispute_above_what_was_paid_and_kept_is_refused(fulfilled, provider):
    _report(fulfilled, "10.00", provider, "re_1")

    with pytest.raises(OrderError) as refused:
        _dispute(fulfilled, "opened", provider, "dp_1", amount="9.01")

    assert refused.value.code == "amount_too_large"
    assert "amount" in refused.value.fields


# --- Closing an order stops its deliveries ---------------------------------------


def _retrying(order: Order) -> Delivery:
    """The order's delivery after one failed attempt, due again now."""
    delivery = order.deliveries.get()
    delivery_services.delivery_attempt(delivery_pk=delivery.pk)
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.RETRYING
    return delivery


def test_cancel_stops_a_retrying_delivery_before_it_reaches_the_seller_again(
    wired_product, seller_server, seller
):
    seller_server.set_route("/license", Route(status=500, body="down"))
    order = place(wired_product)
    delivery = _retrying(order)
    assert len(seller_server.requests_to("/license")) == 1
    seller_server.set_route("/license", Route(body="KEY-LATE"))

    event = order_cancel(order_id=order.pk, reason="Bought twice", actor=seller)

    # The worker's message and the dispatcher's sweep both come too late.
    assert delivery_services.delivery_attempt(delivery_pk=delivery.pk) is None
    deliveries_dispatch_due()
    assert len(seller_server.requests_to("/license")) == 1
    delivery.refresh_from_db()
    order.refresh_from_db()
    assert delivery.status == DeliveryStatus.CANCELLED
    assert delivery.next_attempt_at is None
    assert (event.kind, event.reason) == ("cancel", "Bought twice")
    assert order_state(order) == OrderState.CANCELLED
    assert order.cancelled_at == event.created_at


def test_cancel_sends_the_customer_no_license(
    wired_product,
    seller_server,
    seller,
    alice,
    email_backend,
    django_capture_on_commit_callbacks,
):
    seller_server.set_route("/license", Route(status=500, body="down"))
    order = place(wired_product)
    delivery = _retrying(order)
    order_cancel(order_id=order.pk, reason="", actor=seller)
    seller_server.set_route("/license", Route(body="KEY-LATE"))

    # Neither the engine nor a hand action can deliver it any more; whatever
    # they would enqueue runs (Celery is eager here).
    with django_capture_on_commit_callbacks(execute=True):
        delivery_services.delivery_attempt(delivery_pk=delivery.pk)
        deliveries_dispatch_due()
    assert delivery_retry_now(delivery=delivery) is False
    assert not delivery_fulfill_manually(delivery=delivery, license_text="K", by=alice)
    assert delivery_actions_allowed(delivery=delivery) == frozenset()
    order.refresh_from_db()
    assert order.fulfillment_status == FulfillmentStatus.FAILED
    assert mail.outbox == []


def test_cancel_is_refused_while_a_request_is_on_the_wire(live_product, seller):
    order = place(live_product)
    delivery = order.deliveries.get()
    # A worker's claim: the request may be on its way to the seller now.
    Delivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.IN_FLIGHT, attempt_count=1
    )

    with pytest.raises(OrderError) as refused:
        order_cancel(order_id=order.pk, reason="", actor=seller)

    assert (refused.value.code, refused.value.status) == ("delivery_in_flight", 409)
    order.refresh_from_db()
    assert order.cancelled_at is None
    assert not order.events.exists()


def test_a_delivered_order_cannot_be_cancelled(fulfilled, seller):
    with pytest.raises(OrderError) as refused:
        order_cancel(order_id=fulfilled.pk, reason="", actor=seller)

    assert refused.value.code == "order_not_cancellable"
    assert "refund it instead" in refused.value.message


def test_an_order_is_cancelled_once(live_product, seller):
    order = place(live_product)
    order_cancel(order_id=order.pk, reason="", actor=seller)

    with pytest.raises(OrderError) as refused:
        order_cancel(order_id=order.pk, reason="", actor=seller)

    assert refused.value.message == "This order is already cancelled."
    assert order.events.count() == 1


def test_a_full_refund_before_delivery_stops_the_waiting_deliveries(
    live_product, provider
):
    order = place(live_product)

    _report(order, "19.00", provider, "re_1")

    assert order.deliveries.get().status == DeliveryStatus.CANCELLED
    assert delivery_retry_now(delivery=order.deliveries.get()) is False


def test_a_partial_refund_before_delivery_lets_it_go_on(live_product, provider):
    order = place(live_product)

    _report(order, "5.00", provider, "re_1")

    assert order.deliveries.get().status == DeliveryStatus.PENDING


def test_a_lost_dispute_before_delivery_stops_the_waiting_deliveries(
    live_product, provider
):
    order = place(live_product)

    _dispute(order, "lost", provider, "dp_1")

    assert order.deliveries.get().status == DeliveryStatus.CANCELLED


# --- Two refunds at once ----------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_refunds_at_once_never_exceed_the_total(live_product, provider):
    order = place(live_product)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def refund(event_id: str) -> None:
        try:
            barrier.wait(timeout=10)
            _report(order, "12.00", provider, event_id)
            outcomes.append("refunded")
        except OrderError as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=refund, args=(f"re_{i}",)) for i in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes) == ["amount_too_large", "refunded"]
    order.refresh_from_db()
    assert order.refunded_amount == Decimal("12.00")


@pytest.mark.django_db(transaction=True)
def test_a_refund_reported_while_the_request_is_on_the_wire_withholds_the_email(
    wired_product, seller_server, provider, email_backend, monkeypatch
):
    """The provider's report cannot wait for the seller's server, and the
    server's license then arrives for an order refunded in full: the order is
    fulfilled on record, but its license email is withheld, never sent."""
    from emails.models import EmailStatus, OrderEmail

    seller_server.set_route("/license", Route(body="KEY-LATE", delay=1.5))
    with monkeypatch.context() as no_broker:  # the worker below takes it
        no_broker.setattr(delivery_services, "deliveries_enqueue_on_commit", list)
        order = place(wired_product, email="ada@example.com")
    delivery = order.deliveries.get()
    worker = threading.Thread(
        target=lambda: (
            delivery_services.delivery_attempt(delivery_pk=delivery.pk),
            connection.close(),
        )
    )
    worker.start()
    deadline = timezone.now().timestamp() + 10
    while not seller_server.requests_to("/license"):
        assert timezone.now().timestamp() < deadline, "the request never left"
        threading.Event().wait(0.02)

    _report(order, str(order.total), provider, "re_on_the_wire")
    worker.join(timeout=30)

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED  # the seller's record
    email = OrderEmail.objects.get(order=order)
    assert email.status == EmailStatus.WITHHELD
    assert [m for m in mail.outbox if "KEY-LATE" in m.body] == []
