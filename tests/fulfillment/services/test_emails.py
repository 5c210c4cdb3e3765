"""Sending the customer's order email exactly once, whatever a worker does."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from emails.models import OrderEmail
from emails.services import order_email_open
from fulfillment.models import Delivery
from orders.models import Order
from tests.factories import place

pytestmark = pytest.mark.django_db


@pytest.fixture
def fulfilled_order(live_product):
    """An order whose deliveries succeeded and whose email is now owed."""
    order = place(live_product, email="ada@example.com")
    Delivery.objects.filter(order=order).update(status="succeeded", response_text="K")
    Order.objects.filter(pk=order.pk).update(
        fulfillment_status="fulfilled", fulfilled_at=timezone.now()
    )
    order_email_open(order_id=order.pk, sends=True)
    return order


def test_a_fresh_email_claim_is_left_to_its_worker(fulfilled_order, email_backend):
    from fulfillment.services.emails import order_email_send

    order = fulfilled_order
    # Another worker claimed it a moment ago and is sending right now.
    OrderEmail.objects.filter(order=order).update(
        status="sending", claimed_at=timezone.now()
    )

    assert order_email_send(order_id=order.pk) is False
    assert mail.outbox == []


def test_a_dead_workers_email_claim_is_taken_over_and_the_email_sent_once(
    fulfilled_order, email_backend, settings
):
    # The worker died holding the claim: we cannot know whether the email left,
    # so the customer gets it (again, with the same Message-ID) rather than never.
    from fulfillment.services.emails import order_email_send

    order = fulfilled_order
    stale = timezone.now() - timedelta(
        seconds=settings.FULFILLMENT["EMAIL_CLAIM_TIMEOUT_SECONDS"] + 1
    )
    OrderEmail.objects.filter(order=order).update(status="sending", claimed_at=stale)

    assert order_email_send(order_id=order.pk) is True
    assert order_email_send(order_id=order.pk) is False
    assert len(mail.outbox) == 1
    assert Order.objects.get(pk=order.pk).email.status == "sent"
