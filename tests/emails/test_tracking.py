"""Delivery reports of the customer's order email: Anymail tracking, no real ESP.

Emails go through Anymail's test backend, so each send records a real Anymail
message id. Reports arrive two ways: as genuine Postmark tracking payloads POSTed
to the mounted webhook URL (URL → Anymail → its `tracking` signal → our service),
and as `AnymailTrackingEvent`s sent on the signal directly for the ordering,
repeat and resend rules.

alice owns `live_product` and its orders and sees their email status; charlie
(staff) sees it in admin; the ESP reaches the webhook with the basic auth in
ANYMAIL["WEBHOOK_SECRET"], and nobody else gets past it.
"""

from __future__ import annotations

import base64
import json
import logging
from datetime import UTC, datetime, timedelta

import pytest
from anymail.signals import AnymailTrackingEvent, tracking
from django.core import mail
from django.test import TestCase
from django.urls import reverse

from emails.models import EmailDelivery, EmailEvent, EmailEventType
from orders.models import Order
from tests.factories import fulfill
from web.orders.services import order_place

pytestmark = pytest.mark.django_db

WEBHOOK_URL = "/anymail/postmark/tracking/"
WEBHOOK_SECRET = "postmark-hook:test-only-secret"
TYPO = "typo@exmaple.com"
RIGHT = "right@example.com"
BOUNCE_REASON = "smtp;550 5.1.1 mailbox unavailable"
T0 = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


@pytest.fixture
def webhook_secret(settings):
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": WEBHOOK_SECRET}
    return WEBHOOK_SECRET


def _sent(product, email: str = TYPO) -> Order:
    """A fulfilled order whose email the worker sent (its task run after commit)."""
    order = order_place(product=product, quantity=1, customer_email=email)
    with TestCase.captureOnCommitCallbacks(execute=True):
        fulfill(order, "KEY-TRACKED")
    order.refresh_from_db()
    assert order.email.status == "sent"
    return order


@pytest.fixture
def sent_order(live_product, email_backend) -> Order:
    """alice's order, its email sent to a mistyped address through Anymail."""
    return _sent(live_product)


def _postmark_bounce(order: Order, **fields) -> dict:
    # Postmark's bounce webhook, as its documentation shows it.
    return {
        "RecordType": "Bounce",
        "ID": 4323372036854775807,
        "Type": "HardBounce",
        "TypeCode": 1,
        "Name": "Hard bounce",
        "Tag": "order-fulfillment",
        "MessageID": order.email.message_id,
        "Metadata": {"order": order.transaction_id, "product": str(order.product_id)},
        "ServerID": 23,
        "MessageStream": "outbound",
        "Description": "The server was unable to deliver your message "
        "(ex: unknown user, mailbox not found).",
        "Details": BOUNCE_REASON,
        "Email": order.email.sent_to,
        "From": "orders@fulfillment.localhost",
        "BouncedAt": "2026-11-28T10:00:05.1234567Z",
        "DumpAvailable": True,
        "Inactive": True,
        "CanActivate": True,
        "Subject": "Your license",
        **fields,
    }


def _postmark_delivery(order: Order, **fields) -> dict:
    return {
        "RecordType": "Delivery",
        "ServerID": 23,
        "MessageStream": "outbound",
        "MessageID": order.email.message_id,
        "Recipient": order.email.sent_to,
        "Tag": "order-fulfillment",
        "DeliveredAt": "2026-11-28T10:00:03Z",
        "Details": "smtp;250 2.0.0 OK",
        "Metadata": {"order": order.transaction_id, "product": str(order.product_id)},
        **fields,
    }


def _post(client, payload: dict, *, auth: str | None = WEBHOOK_SECRET):
    headers = {}
    if auth:
        headers["Authorization"] = "Basic " + base64.b64encode(auth.encode()).decode()
    return client.post(
        WEBHOOK_URL,
        data=json.dumps(payload),
        content_type="application/json",
        headers=headers,
    )


def _track(event_type: str, order: Order, *, at: datetime, **fields) -> None:
    """An ESP event about the order's current email, through Anymail's signal."""
    event = AnymailTrackingEvent(
        **{
            "event_type": event_type,
            "timestamp": at,
            "message_id": order.email.message_id,
            "recipient": order.email.sent_to,
            "metadata": {"order": order.transaction_id},
            **fields,
        }
    )
    tracking.send(sender=None, event=event, esp_name="TestESP")


def _reload(order: Order) -> Order:
    return Order.objects.get(pk=order.pk)


def _page(client, order: Order) -> str:
    url = reverse("orders:seller-order", kwargs={"pk": order.pk})
    return client.get(url).content.decode()


def _reported(order: Order) -> list[str]:
    return list(
        EmailEvent.objects.filter(order=order)
        .exclude(event_type=EmailEventType.SUBMITTED)
        .order_by("pk")
        .values_list("event_type", flat=True)
    )


# --- Recording the send ---------------------------------------------------------


def test_a_send_records_the_esp_message_id_and_the_address(sent_order):
    [message] = mail.outbox
    assert sent_order.email.message_id == str(message.anymail_status.message_id)
    assert sent_order.email.sent_to == TYPO
    assert sent_order.email.delivery == EmailDelivery.AWAITING
    submitted = EmailEvent.objects.get(order=sent_order)
    assert submitted.event_type == EmailEventType.SUBMITTED
    assert submitted.message_id == sent_order.email.message_id


def test_a_backend_without_message_ids_records_the_address_and_no_id(
    live_product, settings
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

    order = _sent(live_product)

    assert order.email.message_id == ""
    assert order.email.sent_to == TYPO
    assert order.email.delivery == EmailDelivery.UNKNOWN


# --- The real webhook: Postmark's payloads through Anymail ----------------------


def test_a_postmark_bounce_marks_the_order_bounced_with_the_reason(
    client, sent_order, webhook_secret
):
    response = _post(client, _postmark_bounce(sent_order))

    assert response.status_code == 200
    order = _reload(sent_order)
    assert order.email.delivery == EmailDelivery.BOUNCED
    assert order.email.delivery_detail == BOUNCE_REASON
    assert order.email.delivery_at == datetime(2026, 11, 28, 10, 0, 5, 123456, UTC)
    event = EmailEvent.objects.get(order=order, event_type="bounced")
    assert (event.esp_name, event.event_id) == ("Postmark", "4323372036854775807")


def test_a_postmark_delivery_marks_the_order_delivered(
    client, sent_order, webhook_secret
):
    response = _post(client, _postmark_delivery(sent_order))

    assert response.status_code == 200
    order = _reload(sent_order)
    assert order.email.delivery == EmailDelivery.DELIVERED
    assert order.email.delivery_detail == ""


def test_the_seller_sees_the_bounce_its_reason_and_the_resend_form(
    alice_client, sent_order, webhook_secret
):
    _post(alice_client, _postmark_bounce(sent_order))

    content = _page(alice_client, sent_order)

    assert "Bounced" in content
    assert "550 5.1.1 mailbox unavailable" in content
    assert f"The order email to {TYPO} bounced" in content
    assert "Correct the address and resend" in content
    resend_url = reverse("orders:seller-order-email-resend", args=[sent_order.pk])
    assert f'action="{resend_url}"' in content


@pytest.mark.parametrize("auth", [None, "postmark-hook:wrong"])
def test_the_webhook_refuses_a_request_without_the_secret(
    client, sent_order, webhook_secret, auth
):
    response = _post(client, _postmark_bounce(sent_order), auth=auth)

    assert response.status_code == 400
    assert _reload(sent_order).email.delivery == EmailDelivery.AWAITING
    assert _reported(sent_order) == []


def test_an_event_about_no_order_of_ours_is_ignored_with_200(
    client, sent_order, webhook_secret, caplog
):
    stranger = _postmark_bounce(
        sent_order, MessageID="not-ours-1", Metadata={"order": "txn-elsewhere"}
    )

    with caplog.at_level(logging.INFO, logger="emails.tracking"):
        response = _post(client, stranger)

    assert response.status_code == 200
    assert _reported(sent_order) == []
    assert _reload(sent_order).email.delivery == EmailDelivery.AWAITING
    assert "no order email of ours" in caplog.text


def test_a_retried_webhook_is_logged_once(client, sent_order, webhook_secret):
    _post(client, _postmark_bounce(sent_order))
    _post(client, _postmark_bounce(sent_order))

    assert _reported(sent_order) == ["bounced"]


# --- Ordering and repeats, through the signal -----------------------------------


def test_a_repeat_without_an_event_id_is_logged_once(sent_order):
    _track("delivered", sent_order, at=T0)
    _track("delivered", sent_order, at=T0)

    assert _reported(sent_order) == ["delivered"]


def test_an_older_delivered_arriving_late_does_not_hide_a_newer_bounce(sent_order):
    _track("bounced", sent_order, at=T0 + timedelta(minutes=5), mta_response="550")
    _track("delivered", sent_order, at=T0)

    order = _reload(sent_order)
    assert order.email.delivery == EmailDelivery.BOUNCED
    assert order.email.delivery_at == T0 + timedelta(minutes=5)
    assert _reported(order) == ["bounced", "delivered"]


def test_a_later_delivered_supersedes_an_earlier_soft_bounce(sent_order):
    _track("bounced", sent_order, at=T0, mta_response="452 4.2.2 mailbox full")
    _track("delivered", sent_order, at=T0 + timedelta(hours=1))

    order = _reload(sent_order)
    assert order.email.delivery == EmailDelivery.DELIVERED
    assert order.email.delivery_detail == ""


def test_at_the_same_time_a_bounce_wins_over_delivered(sent_order):
    _track("bounced", sent_order, at=T0, mta_response="550")
    _track("delivered", sent_order, at=T0)

    assert _reload(sent_order).email.delivery == EmailDelivery.BOUNCED


def test_a_complaint_stands_against_a_later_delivered(sent_order):
    _track("complained", sent_order, at=T0)
    _track("delivered", sent_order, at=T0 + timedelta(minutes=1))

    assert _reload(sent_order).email.delivery == EmailDelivery.COMPLAINED


def test_a_rejection_by_the_esp_counts_as_bounced(sent_order):
    _track("rejected", sent_order, at=T0, description="Address is suppressed")

    order = _reload(sent_order)
    assert order.email.delivery == EmailDelivery.BOUNCED
    assert order.email.delivery_detail == "Address is suppressed"


@pytest.mark.parametrize("event_type", ["deferred", "opened", "queued", "failed"])
def test_other_event_types_are_logged_and_leave_the_status(sent_order, event_type):
    _track(event_type, sent_order, at=T0, mta_response="421 try again later")

    assert _reload(sent_order).email.delivery == EmailDelivery.AWAITING
    assert _reported(sent_order) == [event_type]


def test_a_reason_is_stored_without_nul_and_cut_to_size(sent_order):
    _track("bounced", sent_order, at=T0, mta_response="550\x00 " + "x" * 900)

    detail = _reload(sent_order).email.delivery_detail
    assert "\x00" not in detail
    assert len(detail) == 500


# --- Correcting the address and resending ---------------------------------------


def _resend(client, order: Order, email: str):
    url = reverse("orders:seller-order-email-resend", kwargs={"pk": order.pk})
    return client.post(url, {"email": email}, follow=True)


def test_a_resend_starts_the_status_again_for_the_new_message(alice_client, sent_order):
    _track("bounced", sent_order, at=T0, mta_response=BOUNCE_REASON)

    response = _resend(alice_client, sent_order, RIGHT)

    order = _reload(sent_order)
    assert order.email.delivery == EmailDelivery.AWAITING
    assert order.email.delivery_detail == ""
    assert order.email.sent_to == RIGHT
    assert order.email.message_id == str(mail.outbox[-1].anymail_status.message_id)
    assert order.email.message_id != sent_order.email.message_id
    content = response.content.decode()
    assert "awaiting the provider" in content
    assert "bounced:" not in content


def test_a_late_report_about_the_earlier_email_is_only_logged(alice_client, sent_order):
    first = sent_order
    _resend(alice_client, first, RIGHT)

    _track("bounced", first, at=T0 + timedelta(minutes=9), mta_response="550")
    _track("delivered", first, at=T0 + timedelta(minutes=9))

    order = _reload(first)
    assert order.email.delivery == EmailDelivery.AWAITING
    assert _reported(order) == ["bounced", "delivered"]
    assert "(earlier email)" in _page(alice_client, order)
    _track("delivered", order, at=T0 + timedelta(minutes=10))
    assert _reload(order).email.delivery == EmailDelivery.DELIVERED


def test_a_report_arriving_before_its_send_is_recorded_is_applied(
    alice_client, sent_order
):
    # A fast ESP: the bounce of the resend is in before our UPDATE records its id.
    # The resend is the outbox's second message; the test backend numbers them.
    _track("bounced", sent_order, at=T0, message_id="1", recipient=RIGHT)
    assert _reload(sent_order).email.delivery == EmailDelivery.AWAITING

    _resend(alice_client, sent_order, RIGHT)

    order = _reload(sent_order)
    assert order.email.message_id == "1"
    assert order.email.delivery == EmailDelivery.BOUNCED


def test_without_a_message_id_the_order_is_found_by_its_metadata(
    live_product, settings
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    order = _sent(live_product)

    _track("bounced", order, at=T0, message_id="esp-9", mta_response="550")

    assert _reload(order).email.delivery == EmailDelivery.BOUNCED


def test_without_a_message_id_a_report_for_another_address_is_only_logged(
    live_product, settings
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    order = _sent(live_product)

    _track("bounced", order, at=T0, message_id="esp-9", recipient="old@example.com")

    assert _reload(order).email.delivery == EmailDelivery.UNKNOWN
    assert _reported(order) == ["bounced"]


# --- Where the seller and staff see it ------------------------------------------


def test_a_complaint_asks_the_seller_for_another_address(alice_client, sent_order):
    _track("complained", sent_order, at=T0)

    content = _page(alice_client, sent_order)

    assert "Marked as spam" in content
    assert "Ask the customer for another address" in content


def test_the_order_list_marks_bounced_orders(alice_client, sent_order, live_product):
    _sent(live_product, "fine@example.com")
    _track("bounced", sent_order, at=T0)

    content = alice_client.get(reverse("orders:seller-orders")).content.decode()

    assert content.count('<span class="badge failed">Bounced</span>') == 1


def test_admin_shows_the_delivery_status_and_filters_by_it(
    client, charlie, sent_order, live_product
):
    delivered = _sent(live_product, "fine@example.com")
    _track("bounced", sent_order, at=T0, mta_response=BOUNCE_REASON)
    _track("delivered", delivered, at=T0)
    client.force_login(charlie)

    changelist = client.get(
        "/admin/orders/order/", {"email__delivery__exact": "bounced"}
    )
    change = client.get(f"/admin/orders/order/{sent_order.pk}/change/")

    assert [o.pk for o in changelist.context["cl"].result_list] == [sent_order.pk]
    assert "Bounced" in change.text
    assert BOUNCE_REASON in change.text


def test_a_failing_tracking_record_never_leads_to_a_second_email(
    live_product, email_backend, monkeypatch
):
    """The send is recorded first: a bug in the tracking record must not leave
    the order "sending", where an expired claim would send the email again."""
    from django.core import mail

    def broken(**kwargs):
        raise RuntimeError("tracking is broken")

    monkeypatch.setattr("emails.services.order_email_sent_record", broken)

    order = _sent(live_product)

    order.refresh_from_db()
    assert order.email.status == "sent"
    assert len(mail.outbox) == 1
