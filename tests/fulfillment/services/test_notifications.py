"""The seller's grouped failure alert and the customer's delay notice.

Deliveries fail through the engine itself: `delivery_attempt` against a real
seller server on 127.0.0.1 answering 500, with an empty retry schedule so the
first failure is final. alice owns `product`; bob sells his own product and must
never see alice's orders in his alert.
"""

from __future__ import annotations

from datetime import timedelta
from smtplib import SMTPRecipientsRefused, SMTPServerDisconnected

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend

from emails.models import DelayNotice
from emails.notices import order_delay_notices_send
from emails.tasks import order_delay_notices_send_task
from fulfillment.models import Delivery, DeliveryStatus
from fulfillment.services.aftersale import order_cancel, order_refund
from fulfillment.services.deliveries import delivery_attempt, delivery_test_send
from fulfillment.services.notifications import seller_alerts_send
from fulfillment.services.wakeups import delivery_retry_now
from fulfillment.tasks import seller_alerts_send_task
from orders.aftersale import Actor
from orders.models import FulfillmentStatus
from tests.factories import ProductFactory, WebhookConfigFactory, place
from tests.httpserver import Route

pytestmark = pytest.mark.django_db

FAILING = Route(status=500, body="license server exploded")


class BrokenBackend(BaseEmailBackend):
    """An ESP that is down."""

    def send_messages(self, email_messages):
        raise SMTPServerDisconnected("connection closed")


class RefusesAlice(BaseEmailBackend):
    """An ESP that refuses alice's address and accepts everybody else's."""

    def send_messages(self, email_messages):
        for message in email_messages:
            if message.to == ["alice@example.com"]:
                raise SMTPRecipientsRefused({"alice@example.com": (550, b"no")})
        mail.outbox.extend(email_messages)
        return len(email_messages)


@pytest.fixture
def engine(settings, loopback, fulfillment_settings, email_backend):
    fulfillment_settings(
        RETRY_SCHEDULE=[],
        # Several failures in a row must reach the server, not an open circuit.
        CIRCUIT_FAILURE_THRESHOLD=1000,
        CUSTOMER_DELAY_NOTICE_MINUTES=15,
    )
    settings.SITE_URL = "https://shop.example.com"


def go_live(product, server):
    config = product.webhook_config
    config.url = server.url("/license")
    config.save()
    product.status = "live"
    product.save()
    return product


@pytest.fixture
def failing_product(product, seller_server, engine):
    """alice's live product; the test seller server answers it with a 500."""
    seller_server.set_route("/license", FAILING)
    return go_live(product, seller_server)


@pytest.fixture
def bobs_product(bob, seller_server, engine):
    product = ProductFactory(seller=bob, name="Bob's Tool", slug="bobs-tool")
    WebhookConfigFactory(product=product)
    return go_live(product, seller_server)


def attempt(order):
    for delivery in order.deliveries.order_by("item_index"):
        delivery_attempt(delivery_pk=delivery.pk)


def failed_order(product, **kwargs):
    order = place(product, **kwargs)
    attempt(order)
    assert set(order.deliveries.values_list("status", flat=True)) == {"failed"}
    return order


def sent_to(address):
    return [m for m in mail.outbox if m.to == [address]]


def html_part(message) -> str:
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    return html


# --- Seller alerts ----------------------------------------------------------------


def test_three_failures_of_one_seller_make_one_email_listing_all_three(failing_product):
    orders = [failed_order(failing_product) for _ in range(3)]

    sent = seller_alerts_send()

    assert sent == 1
    [message] = mail.outbox
    assert message.to == ["alice@example.com"]
    assert message.subject == "3 deliveries failed for your products"
    for order in orders:
        assert order.transaction_id in message.body
        assert f"https://shop.example.com/dashboard/orders/{order.pk}/" in message.body
    [reason] = set(Delivery.objects.values_list("last_error", flat=True))
    assert "500" in reason
    assert message.body.count(f"Last error: {reason}") == 3
    assert Delivery.objects.filter(alerted_at__isnull=True).count() == 0


def test_second_run_sends_nothing(failing_product):
    failed_order(failing_product)
    seller_alerts_send()

    assert seller_alerts_send() == 0
    assert len(mail.outbox) == 1


def test_a_later_failure_gets_its_own_email_listing_only_it(failing_product):
    first = failed_order(failing_product)
    seller_alerts_send()
    later = failed_order(failing_product)

    assert seller_alerts_send() == 1

    message = mail.outbox[1]
    assert message.subject == "1 delivery failed for your products"
    assert later.transaction_id in message.body
    assert first.transaction_id not in message.body


def test_each_seller_gets_one_email_listing_only_their_own(
    failing_product, bobs_product
):
    alices = failed_order(failing_product)
    bobs = failed_order(bobs_product)

    assert seller_alerts_send() == 2

    [to_alice] = sent_to("alice@example.com")
    [to_bob] = sent_to("bob@example.com")
    assert alices.transaction_id in to_alice.body
    assert bobs.transaction_id not in to_alice.body
    assert bobs.transaction_id in to_bob.body
    assert alices.transaction_id not in to_bob.body


def test_alert_lists_each_item_of_a_separate_multibuy(failing_product):
    failing_product.webhook_config.separate_multibuy = True
    failing_product.webhook_config.save()

    failed_order(failing_product, quantity=2)
    seller_alerts_send()

    [message] = mail.outbox
    assert "item 1 of 2" in message.body
    assert "item 2 of 2" in message.body
    assert "(test order)" in message.body  # paid with the test provider


def test_send_error_releases_the_claim_and_the_next_run_sends(
    failing_product, settings
):
    failed_order(failing_product)
    settings.EMAIL_BACKEND = (
        "tests.fulfillment.services.test_notifications.BrokenBackend"
    )

    with pytest.raises(SMTPServerDisconnected):
        seller_alerts_send()

    assert Delivery.objects.filter(alerted_at__isnull=False).count() == 0
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    assert seller_alerts_send() == 1


def test_one_sellers_send_error_does_not_stop_the_others(
    failing_product, bobs_product, settings
):
    failed_order(failing_product)
    bobs = failed_order(bobs_product)
    settings.EMAIL_BACKEND = (
        "tests.fulfillment.services.test_notifications.RefusesAlice"
    )

    with pytest.raises(SMTPRecipientsRefused):
        seller_alerts_send()

    [to_bob] = mail.outbox
    assert to_bob.to == ["bob@example.com"]
    assert bobs.transaction_id in to_bob.body
    assert not Delivery.objects.filter(
        product=failing_product, alerted_at__isnull=False
    ).exists()


def test_seller_without_email_is_skipped_and_alerted_once_they_add_one(
    failing_product, alice
):
    failed_order(failing_product)
    alice.email = ""
    alice.save()

    assert seller_alerts_send() == 0
    assert Delivery.objects.get().alerted_at is None

    alice.email = "alice@example.com"
    alice.save()
    assert seller_alerts_send() == 1


def test_test_deliveries_are_never_alerted(failing_product):
    delivery = delivery_test_send(product=failing_product)
    assert delivery.status == DeliveryStatus.FAILED

    assert seller_alerts_send() == 0
    assert mail.outbox == []


def test_retrying_deliveries_are_not_alerted_yet(failing_product, fulfillment_settings):
    fulfillment_settings(RETRY_SCHEDULE=[3600])
    place_and_attempt = place(failing_product)
    attempt(place_and_attempt)
    assert place_and_attempt.deliveries.get().status == DeliveryStatus.RETRYING

    assert seller_alerts_send() == 0


def test_alert_html_escapes_seller_controlled_text(failing_product):
    failing_product.name = "<b>Pixel</b> Editor"
    failing_product.save()
    failed_order(failing_product)

    seller_alerts_send()

    html = html_part(mail.outbox[0])
    assert "&lt;b&gt;Pixel&lt;/b&gt; Editor" in html
    assert "<b>Pixel</b>" not in html
    assert "<b>Pixel</b> Editor" in mail.outbox[0].body  # plain text, as written


def test_seller_alerts_task_sends_eagerly(failing_product):
    failed_order(failing_product)

    assert seller_alerts_send_task.delay().get() == 1


# --- Customer delay notices -------------------------------------------------------


def minutes_after(order, minutes):
    return order.completed_at + timedelta(minutes=minutes)


@pytest.fixture
def waiting(product, seller_server, engine):
    """A live product whose server is slow to answer: orders stay pending until a
    test attempts their delivery."""
    seller_server.set_route("/license", Route(body="**KEY-1**"))
    return go_live(product, seller_server)


def test_no_delay_notice_before_the_threshold(waiting):
    order = place(waiting)

    assert order_delay_notices_send(now=minutes_after(order, 14)) == 0
    assert mail.outbox == []


def test_delay_notice_is_sent_once_after_the_threshold(waiting):
    order = place(waiting, email="ada@example.com")

    assert order_delay_notices_send(now=minutes_after(order, 16)) == 1
    assert order_delay_notices_send(now=minutes_after(order, 17)) == 0

    [message] = mail.outbox
    assert message.to == ["ada@example.com"]
    assert message.subject == "Your order of Pixel Editor is confirmed"
    assert "your license is on its way" in message.body
    assert f"https://shop.example.com/orders/{order.token}/" in message.body
    assert DelayNotice.objects.get(order=order).sent_at == minutes_after(order, 16)


def test_no_delay_notice_for_fulfilled_orders(
    waiting, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        order = place(waiting)
        attempt(order)

    assert order_delay_notices_send(now=minutes_after(order, 16)) == 0
    assert [m.subject for m in mail.outbox] == ["Your Pixel Editor license"]


def test_no_delay_notice_when_order_emails_are_off(waiting):
    waiting.send_order_emails = False
    waiting.save()
    order = place(waiting)

    assert order_delay_notices_send(now=minutes_after(order, 16)) == 0


def test_failed_order_gets_a_delay_notice(failing_product):
    order = failed_order(failing_product)
    order.refresh_from_db()
    assert order.fulfillment_status == FulfillmentStatus.FAILED

    assert order_delay_notices_send(now=minutes_after(order, 16)) == 1


def test_long_past_orders_get_no_delay_notice(waiting):
    order = place(waiting)

    assert order_delay_notices_send(now=minutes_after(order, 3 * 24 * 60)) == 0


def test_license_email_still_arrives_after_the_delay_notice(
    waiting, django_capture_on_commit_callbacks
):
    order = place(waiting, email="ada@example.com")
    order_delay_notices_send(now=minutes_after(order, 16))

    with django_capture_on_commit_callbacks(execute=True):
        attempt(order)

    notice, license_email = sent_to("ada@example.com")
    assert notice.subject == "Your order of Pixel Editor is confirmed"
    assert license_email.subject == "Your Pixel Editor license"
    assert "**KEY-1**" in license_email.body
    assert (
        notice.extra_headers["Message-ID"]
        != (license_email.extra_headers["Message-ID"])
    )


def test_failed_then_retried_order_gets_one_notice_and_one_license(
    failing_product, seller_server, django_capture_on_commit_callbacks
):
    order = failed_order(failing_product, email="ada@example.com")
    order_delay_notices_send(now=minutes_after(order, 16))
    seller_server.set_route("/license", Route(body="**KEY-1**"))

    with django_capture_on_commit_callbacks(execute=True):
        delivery_retry_now(delivery=order.deliveries.get())
    order_delay_notices_send(now=minutes_after(order, 30))

    assert [m.subject for m in sent_to("ada@example.com")] == [
        "Your order of Pixel Editor is confirmed",
        "Your Pixel Editor license",
    ]


def test_delay_notice_send_error_releases_the_claim(waiting, settings):
    order = place(waiting)
    settings.EMAIL_BACKEND = (
        "tests.fulfillment.services.test_notifications.BrokenBackend"
    )

    with pytest.raises(SMTPServerDisconnected):
        order_delay_notices_send(now=minutes_after(order, 16))

    assert not DelayNotice.objects.filter(order=order).exists()
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    assert order_delay_notices_send(now=minutes_after(order, 17)) == 1


def test_delay_notice_html_escapes_the_product_name(waiting):
    waiting.name = "<script>x</script>"
    waiting.save()
    order = place(waiting)

    order_delay_notices_send(now=minutes_after(order, 16))

    html = html_part(mail.outbox[0])
    assert "&lt;script&gt;" in html
    assert "<script>" not in html


def test_delay_notices_task_sends_nothing_for_fresh_orders(waiting):
    place(waiting)

    assert order_delay_notices_send_task.delay().get() == 0


@pytest.mark.parametrize("undo", ["cancel", "refund"])
def test_no_delay_notice_for_a_cancelled_or_refunded_order(waiting, alice, undo):
    order = place(waiting)
    seller = Actor.seller(user_id=alice.pk, username=alice.username)
    if undo == "cancel":
        order_cancel(order_id=order.pk, reason="", actor=seller)
    else:
        order_refund(order_id=order.pk, amount=order.total, reason="", actor=seller)

    assert order_delay_notices_send(now=minutes_after(order, 16)) == 0
