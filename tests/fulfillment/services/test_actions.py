"""Hand actions on deliveries and orders: cancel, fulfill by hand, correct and resend.

alice owns the product and does the actions here (the views check ownership);
deliveries are planned by placing orders, and failures set the states the retry
engine leaves behind.
"""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from emails.models import EmailStatus
from fulfillment.models import Delivery, DeliveryStatus
from fulfillment.services.actions import (
    ActionError,
    delivery_actions_allowed,
    delivery_cancel,
    delivery_fulfill_manually,
    order_customer_email_correct,
    order_email_resend_corrected,
)
from orders.models import FulfillmentStatus, Order
from tests.factories import DeliveryFactory, place

pytestmark = pytest.mark.django_db


@pytest.fixture
def multibuy_product(live_product):
    config = live_product.webhook_config
    config.separate_multibuy = True
    config.save()
    return live_product


def _set(delivery: Delivery, status: str, **fields) -> Delivery:
    Delivery.objects.filter(pk=delivery.pk).update(status=status, **fields)
    delivery.refresh_from_db()
    return delivery


def _failed(order: Order) -> Delivery:
    # The state the retry engine leaves after the last attempt.
    return _set(
        order.deliveries.get(),
        DeliveryStatus.FAILED,
        next_attempt_at=None,
        last_error="Your server answered 500.",
    )


class FailingBackend:
    """An email backend whose ESP is down."""

    def __init__(self, *args, **kwargs) -> None:
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("ESP unreachable")


# --- Cancel ---------------------------------------------------------------------


def test_cancel_stops_a_failed_delivery_and_records_who(alice, live_product):
    order = place(live_product)
    delivery = _failed(order)

    assert delivery_cancel(delivery=delivery, by=alice) is True

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.CANCELLED
    assert delivery.handled_by == alice
    assert delivery.next_attempt_at is None


def test_cancel_marks_the_order_not_fulfilled(alice, live_product):
    order = place(live_product)

    delivery_cancel(delivery=order.deliveries.get(), by=alice)

    order.refresh_from_db()
    assert order.fulfillment_status == FulfillmentStatus.FAILED


@pytest.mark.parametrize("status", [DeliveryStatus.IN_FLIGHT, DeliveryStatus.SUCCEEDED])
def test_cancel_is_refused_while_in_flight_or_after_success(
    alice, live_product, status
):
    delivery = _set(place(live_product).deliveries.get(), status)

    assert delivery_cancel(delivery=delivery, by=alice) is False

    delivery.refresh_from_db()
    assert delivery.status == status
    assert delivery.handled_by is None


def test_cancel_is_refused_for_a_test_delivery(alice, live_product):
    # What "Send test request" leaves behind (without the network call).
    delivery = DeliveryFactory(product=live_product, status="failed")
    assert delivery_cancel(delivery=delivery, by=alice) is False
    assert delivery_actions_allowed(delivery=delivery) == frozenset()


# --- Fulfill by hand ------------------------------------------------------------


def test_fulfill_by_hand_completes_the_order_and_sends_one_email_with_the_license(
    alice, live_product, email_backend, django_capture_on_commit_callbacks
):
    order = place(live_product)
    delivery = _failed(order)

    with django_capture_on_commit_callbacks(execute=True):
        done = delivery_fulfill_manually(
            delivery=delivery, license_text="  **Key:** `HAND-1234`\n", by=alice
        )

    assert done is True
    order.refresh_from_db()
    assert order.fulfillment_status == FulfillmentStatus.FULFILLED
    assert order.email.status == EmailStatus.SENT
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["buyer@example.com"]
    assert "HAND-1234" in mail.outbox[0].body


def test_fulfill_by_hand_stores_the_stripped_text_and_clears_the_reason(
    alice, live_product
):
    delivery = _failed(place(live_product))

    delivery_fulfill_manually(delivery=delivery, license_text="  KEY-1 \n", by=alice)

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert delivery.response_text == "KEY-1"
    assert delivery.last_error == ""
    assert delivery.succeeded_at is not None
    assert delivery.handled_by == alice


def test_fulfill_by_hand_of_one_unit_waits_for_the_others_before_emailing(
    alice, multibuy_product, email_backend, django_capture_on_commit_callbacks
):
    order = place(multibuy_product, quantity=2)
    first, second = order.deliveries.order_by("item_index")

    with django_capture_on_commit_callbacks(execute=True):
        delivery_fulfill_manually(delivery=first, license_text="KEY-A", by=alice)
    assert mail.outbox == []

    with django_capture_on_commit_callbacks(execute=True):
        delivery_fulfill_manually(delivery=second, license_text="KEY-B", by=alice)
    assert len(mail.outbox) == 1
    assert "KEY-A" in mail.outbox[0].body and "KEY-B" in mail.outbox[0].body


@pytest.mark.parametrize("text", ["", "   \n\t "])
def test_fulfill_by_hand_refuses_empty_license_text(alice, live_product, text):
    delivery = _failed(place(live_product))

    with pytest.raises(ValueError, match="empty"):
        delivery_fulfill_manually(delivery=delivery, license_text=text, by=alice)

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED


def test_fulfill_by_hand_is_refused_for_a_succeeded_delivery(alice, live_product):
    delivery = _set(
        place(live_product).deliveries.get(),
        DeliveryStatus.SUCCEEDED,
        response_text="FROM-THE-SELLER-SERVER",
    )

    assert (
        delivery_fulfill_manually(delivery=delivery, license_text="HAND", by=alice)
        is False
    )

    delivery.refresh_from_db()
    assert delivery.response_text == "FROM-THE-SELLER-SERVER"


def test_fulfill_by_hand_is_refused_while_a_worker_is_mid_attempt(alice, live_product):
    delivery = _set(place(live_product).deliveries.get(), DeliveryStatus.IN_FLIGHT)

    assert (
        delivery_fulfill_manually(delivery=delivery, license_text="HAND", by=alice)
        is False
    )

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.IN_FLIGHT


def test_fulfill_by_hand_works_after_a_cancel(alice, live_product):
    order = place(live_product)
    delivery = order.deliveries.get()
    delivery_cancel(delivery=delivery, by=alice)

    assert delivery_fulfill_manually(delivery=delivery, license_text="K", by=alice)

    order.refresh_from_db()
    assert order.fulfillment_status == FulfillmentStatus.FULFILLED


def test_a_pending_delivery_fulfilled_by_hand_is_no_longer_claimable(
    alice, live_product
):
    from fulfillment.services.deliveries import delivery_attempt

    delivery = place(live_product).deliveries.get()
    delivery_fulfill_manually(delivery=delivery, license_text="K", by=alice)

    # The worker's message arrives later: it finds nothing to do, sends nothing.
    assert delivery_attempt(delivery_pk=delivery.pk) is None
    assert delivery.attempts.count() == 0


# --- Correct the address and resend ------------------------------------------------


def _fulfilled(product) -> Order:
    order = place(product)
    delivery_fulfill_manually(
        delivery=order.deliveries.get(), license_text="KEY-9", by=None
    )
    order.refresh_from_db()
    return order


def test_correcting_the_customer_email_updates_the_order(live_product):
    order = place(live_product)

    order_customer_email_correct(order=order, email="right@example.com")

    assert Order.objects.get(pk=order.pk).customer_email == "right@example.com"


def test_correcting_to_an_invalid_address_is_refused(live_product):
    order = place(live_product)
    with pytest.raises(ValidationError):
        order_customer_email_correct(order=order, email="not an address")
    assert Order.objects.get(pk=order.pk).customer_email == "buyer@example.com"


def test_resend_to_a_corrected_address_saves_it_and_sends_there(
    live_product, email_backend
):
    order = _fulfilled(live_product)

    assert order_email_resend_corrected(order=order, email="right@example.com")

    assert Order.objects.get(pk=order.pk).customer_email == "right@example.com"
    assert [m.to for m in mail.outbox] == [["right@example.com"]]
    assert "KEY-9" in mail.outbox[0].body


def test_resend_of_an_unfulfilled_order_only_corrects_the_address(
    live_product, email_backend
):
    order = place(live_product)

    assert order_email_resend_corrected(order=order, email="right@example.com") is False

    assert Order.objects.get(pk=order.pk).customer_email == "right@example.com"
    assert mail.outbox == []


def test_resend_of_an_unfulfilled_order_without_an_address_is_refused(
    live_product, email_backend
):
    order = place(live_product)
    with pytest.raises(ActionError, match="not fulfilled yet"):
        order_email_resend_corrected(order=order)
    assert mail.outbox == []


def test_resend_that_fails_to_send_is_a_readable_action_error(live_product, settings):
    order = _fulfilled(live_product)
    settings.EMAIL_BACKEND = f"{__name__}.FailingBackend"

    with pytest.raises(ActionError, match="sending the email failed"):
        order_email_resend_corrected(order=order, email="right@example.com")

    order.refresh_from_db()
    assert order.customer_email == "right@example.com"
