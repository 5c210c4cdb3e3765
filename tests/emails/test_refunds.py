"""The customer's refund notice: one short email per refund, claimed by an
INSERT, so that replays, task retries and the beat sweep never send it twice.

alice sells the product; the payment provider (an API token) reports refunds,
as it does through the orders API.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from smtplib import SMTPServerDisconnected

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.db import IntegrityError

from emails.models import RefundNotice
from emails.refunds import (
    REFUND_NOTICE_GRACE,
    order_refund_notice_send,
    order_refund_notices_send,
)
from emails.tasks import order_refund_notice_send_task
from fulfillment.services.aftersale import order_cancel, order_refund_reported
from orders.aftersale import Actor
from orders.models import OrderEvent
from orders.services import api_token_create
from tests.factories import fulfill, place

pytestmark = pytest.mark.django_db


class BrokenBackend(BaseEmailBackend):
    """An ESP that is down."""

    def send_messages(self, email_messages):
        raise SMTPServerDisconnected("connection closed")


@pytest.fixture
def refund(live_product, email_backend, settings):
    """Report a refund of alice's fulfilled order; returns the event. The task
    the refund enqueues is not run: each test sends the notice itself."""
    settings.SITE_URL = "https://shop.example.com"
    token, _ = api_token_create(name="Acme Pay")
    order = place(live_product, email="ada@example.com")
    fulfill(order, "KEY-1")

    def report(amount: str = "5.00", event_id: str = "re_1", reason: str = ""):
        event, _ = order_refund_reported(
            order_id=order.pk,
            amount=Decimal(amount),
            reason=reason,
            actor=Actor.provider(token_id=token.pk, name=token.name),
            provider_event_id=event_id,
            fingerprint=event_id,
        )
        return event

    return report


def test_the_notice_says_how_much_was_refunded_and_links_the_order(refund):
    event = refund("5.00", reason="Fraud suspected by the seller")

    assert order_refund_notice_send(event_id=event.pk) == 1

    [message] = mail.outbox
    assert message.to == ["ada@example.com"]
    assert message.subject == "Your refund for Pixel Editor"
    assert "refunded 5.00 USD" in message.body
    assert "(19.00 USD)" in message.body
    assert f"https://shop.example.com/orders/{event.order.token}/" in message.body
    # The reason is for the seller's records, not for the customer.
    assert "Fraud" not in message.body
    assert "Fraud" not in message.alternatives[0][0]


def test_a_notice_is_sent_once_however_often_it_is_asked_for(refund):
    event = refund()

    sent = [order_refund_notice_send(event_id=event.pk) for _ in range(3)]
    sent.append(order_refund_notice_send_task.delay(event.pk).get())

    assert sent == [1, 0, 0, 0]
    assert len(mail.outbox) == 1


def test_each_refund_has_its_own_notice_and_message_id(refund):
    first, second = refund("5.00", "re_1"), refund("3.00", "re_2")

    order_refund_notice_send(event_id=first.pk)
    order_refund_notice_send(event_id=second.pk)

    ids = {m.extra_headers["Message-ID"] for m in mail.outbox}
    assert len(mail.outbox) == 2 and len(ids) == 2


def test_a_failed_send_releases_the_claim_for_the_retry(refund, settings):
    event = refund()
    settings.EMAIL_BACKEND = "tests.emails.test_refunds.BrokenBackend"

    with pytest.raises(SMTPServerDisconnected):
        order_refund_notice_send(event_id=event.pk)

    assert not RefundNotice.objects.exists()
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    assert order_refund_notice_send(event_id=event.pk) == 1


def test_the_sweep_sends_a_notice_whose_task_never_ran(refund):
    event = refund()

    assert order_refund_notices_send(now=event.created_at) == 0  # its task's turn
    later = event.created_at + REFUND_NOTICE_GRACE + timedelta(seconds=1)
    assert order_refund_notices_send(now=later) == 1
    assert order_refund_notices_send(now=later) == 0
    assert len(mail.outbox) == 1


def test_the_sweep_leaves_refunds_older_than_a_day(refund):
    event = refund()

    assert order_refund_notices_send(now=event.created_at + timedelta(days=2)) == 0


def test_no_notice_when_the_products_order_emails_are_off(refund, live_product):
    live_product.send_order_emails = False
    live_product.save()
    event = refund()

    assert order_refund_notice_send(event_id=event.pk) == 0
    assert mail.outbox == []


def test_the_claim_is_a_row_the_database_keeps_unique(refund):
    event = refund()
    order_refund_notice_send(event_id=event.pk)

    with pytest.raises(IntegrityError):
        RefundNotice.objects.create(event=event, sent_at=event.created_at)


def test_a_cancellation_is_no_refund_to_tell_about(live_product, alice):
    order = place(live_product)
    event = order_cancel(
        order_id=order.pk,
        reason="",
        actor=Actor.seller(user_id=alice.pk, username=alice.username),
    )

    assert order_refund_notice_send(event_id=event.pk) == 0
    assert OrderEvent.objects.count() == 1
