"""Planning, attempting and settling deliveries, against a real HTTP server."""

from __future__ import annotations

import logging
from datetime import timedelta
from email.utils import formatdate
from urllib.parse import parse_qs

import pytest
from django.core import mail
from django.utils import timezone

from fulfillment.models import Delivery, DeliveryStatus, EndpointHealth, ErrorKind
from fulfillment.services import claims, wakeups
from fulfillment.services import deliveries as services
from lib import urlpolicy
from orders.models import FulfillmentStatus, Order
from tests.factories import CustomFieldFactory, place
from tests.httpserver import Route

pytestmark = pytest.mark.django_db


def attempt_all(order):
    for delivery in order.deliveries.order_by("item_index"):
        services.delivery_attempt(delivery_pk=delivery.pk)


def test_separate_multibuy_plans_one_delivery_per_unit(answering_product):
    answering_product.webhook_config.separate_multibuy = True
    answering_product.webhook_config.save()

    order = place(answering_product, quantity=3)

    deliveries = list(order.deliveries.order_by("item_index"))
    assert [(d.item_index, d.item_count, d.quantity) for d in deliveries] == [
        (1, 3, 1),
        (2, 3, 1),
        (3, 3, 1),
    ]


def test_without_separate_multibuy_one_delivery_carries_the_quantity(answering_product):
    order = place(answering_product, quantity=3)

    assert [
        (d.item_index, d.item_count, d.quantity) for d in order.deliveries.all()
    ] == [(1, 1, 3)]


def test_manual_product_has_no_deliveries_and_confirms_the_order(
    product, email_backend, django_capture_on_commit_callbacks
):
    product.fulfillment_method = "manual"
    product.status = "live"
    product.save()

    with django_capture_on_commit_callbacks(execute=True):
        order = place(product)

    order.refresh_from_db()
    assert order.deliveries.count() == 0
    assert order.fulfillment_status == FulfillmentStatus.MANUAL
    assert order.email.status == "sent"
    assert "will be in touch" in mail.outbox[0].body


def test_successful_attempt_stores_the_license_and_fulfills_the_order(
    answering_product, seller_server
):
    seller_server.set_route("/license", Route(body="**KEY-1**"))
    order = place(answering_product)

    attempt_all(order)

    order.refresh_from_db()
    delivery = order.deliveries.get()
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert delivery.response_text == "**KEY-1**"
    assert order.fulfillment_status == FulfillmentStatus.FULFILLED
    attempt = delivery.attempts.get()
    assert attempt.response_status == 200
    assert attempt.request_headers["webhook-signature"] == "v1,<redacted>"


def test_a_real_delivery_sends_the_orders_passthrough(answering_product, seller_server):
    order = place(answering_product, passthrough="acct_42")

    attempt_all(order)

    [request] = seller_server.requests_to("/license")
    assert parse_qs(request.body.decode())["passthrough"] == ["acct_42"]


def test_a_custom_field_saved_as_passthrough_before_is_sent_instead(
    answering_product, seller_server
):
    # The seller's server reads their own field under that name: it keeps
    # getting it, and the buyer's passthrough is not sent to this product.
    config = answering_product.webhook_config
    CustomFieldFactory(config=config, kind="static", name="passthrough", value="pro")
    order = place(answering_product, passthrough="acct_42")

    attempt_all(order)

    [request] = seller_server.requests_to("/license")
    assert parse_qs(request.body.decode())["passthrough"] == ["pro"]


def test_failed_attempt_is_scheduled_for_retry_with_a_readable_reason(
    answering_product, seller_server
):
    seller_server.set_route("/license", Route(status=500, body="oops"))
    order = place(answering_product)

    attempt_all(order)

    delivery = order.deliveries.get()
    assert delivery.status == DeliveryStatus.RETRYING
    assert "500" in delivery.last_error
    wait = (delivery.next_attempt_at - timezone.now()).total_seconds()
    assert 7 <= wait <= 12.5  # 10 s ± 20 %
    order.refresh_from_db()
    assert order.fulfillment_status == FulfillmentStatus.PENDING


def test_delivery_fails_for_good_after_the_last_scheduled_retry(
    answering_product, seller_server, fulfillment_settings
):
    fulfillment_settings(RETRY_SCHEDULE=[1])
    seller_server.set_route("/license", Route(status=500, body="oops"))
    order = place(answering_product)
    delivery = order.deliveries.get()
    services.delivery_attempt(delivery_pk=delivery.pk)
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())

    services.delivery_attempt(delivery_pk=delivery.pk)

    delivery.refresh_from_db()
    order.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.attempt_count == 2
    assert order.fulfillment_status == FulfillmentStatus.FAILED


def test_a_delivery_cannot_be_claimed_twice(answering_product, seller_server):
    order = place(answering_product)
    delivery = order.deliveries.get()
    now = timezone.now()

    assert claims._claim(delivery.pk, now) is True
    assert claims._claim(delivery.pk, now) is False


def test_an_attempt_on_a_delivery_not_yet_due_sends_nothing(
    answering_product, seller_server
):
    order = place(answering_product)
    delivery = order.deliveries.get()
    Delivery.objects.filter(pk=delivery.pk).update(
        status="retrying", next_attempt_at=timezone.now() + timedelta(minutes=5)
    )

    assert services.delivery_attempt(delivery_pk=delivery.pk) is None
    assert seller_server.requests_to("/license") == []


def test_a_second_attempt_of_a_succeeded_delivery_sends_nothing(
    answering_product, seller_server
):
    order = place(answering_product)
    attempt_all(order)

    attempt_all(order)

    assert len(seller_server.requests_to("/license")) == 1


def worker_stops_mid_attempt(delivery) -> None:
    """A worker claims the delivery and is killed before it records an answer;
    then its lease runs out."""
    assert claims._claim(delivery.pk, timezone.now()) is True
    Delivery.objects.filter(pk=delivery.pk).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )


def test_a_delivery_whose_worker_stopped_is_due_again_at_once_and_says_why(
    answering_product, seller_server, monkeypatch
):
    monkeypatch.setattr(wakeups, "delivery_enqueue", lambda pk, countdown=0: None)
    order = place(answering_product)
    delivery = order.deliveries.get()
    due_before = delivery.next_attempt_at
    worker_stops_mid_attempt(delivery)
    assert services.delivery_attempt(delivery_pk=delivery.pk) is None  # not yet

    assert wakeups.deliveries_dispatch_due() == 1

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempt_count) == ("pending", 1)
    assert delivery.lease_expires_at is None
    assert delivery.next_attempt_at <= timezone.now()
    lost = delivery.attempts.get()
    assert (lost.number, lost.error_kind) == (1, ErrorKind.INTERRUPTED)
    assert lost.due_at == due_before  # when the lost try was due
    assert "worker stopped" in lost.message
    services.delivery_attempt(delivery_pk=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert [a.number for a in delivery.attempts.all()] == [1, 2]
    assert len(seller_server.requests_to("/license")) == 1


def test_a_lost_claim_does_not_move_the_retry_schedule_on(
    answering_product, seller_server, monkeypatch
):
    monkeypatch.setattr(wakeups, "delivery_enqueue", lambda pk, countdown=0: None)
    seller_server.set_route("/license", Route(status=500, body="oops"))
    delivery = place(answering_product).deliveries.get()
    services.delivery_attempt(delivery_pk=delivery.pk)  # 1: waits ~10 s
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    worker_stops_mid_attempt(delivery)  # 2: lost
    wakeups.deliveries_dispatch_due()

    services.delivery_attempt(delivery_pk=delivery.pk)  # 3: the second that counts

    delivery.refresh_from_db()
    assert (delivery.attempt_count, delivery.lost_claims) == (3, 1)
    wait = (delivery.next_attempt_at - timezone.now()).total_seconds()
    assert 47 <= wait <= 72.5  # the schedule's second step, 60 s ± 20 %


def test_each_recovered_delivery_and_each_sweep_is_logged_with_its_id(
    answering_product, monkeypatch, caplog
):
    monkeypatch.setattr(wakeups, "delivery_enqueue", lambda pk, countdown=0: None)
    lost = place(answering_product).deliveries.get()
    worker_stops_mid_attempt(lost)
    stale = place(answering_product).deliveries.get()
    Delivery.objects.filter(pk=stale.pk).update(
        next_attempt_at=timezone.now() - timedelta(minutes=1)
    )

    with caplog.at_level(logging.INFO, logger="fulfillment"):
        wakeups.deliveries_dispatch_due()

    messages = [r.getMessage() for r in caplog.records]
    assert any(
        lost.delivery_id in m and "worker stopped during attempt 1" in m
        for m in messages
    )
    assert any(
        m.startswith("Dispatcher re-enqueued") and stale.delivery_id in m
        for m in messages
    )


def test_custom_fields_reach_the_seller(answering_product, seller_server):
    CustomFieldFactory(
        config=answering_product.webhook_config, kind="customer_email", name="email"
    )
    order = place(answering_product, email="jo@example.com")

    attempt_all(order)

    assert b"email=jo%40example.com" in seller_server.requests_to("/license")[0].body


def test_test_delivery_is_marked_test_and_never_retried(
    answering_product, seller_server
):
    seller_server.set_route("/license", Route(status=500, body="down"))

    delivery = services.delivery_test_send(product=answering_product)

    assert delivery.is_test
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.next_attempt_at is None
    assert b"test=true" in seller_server.requests_to("/license")[0].body


def test_refused_url_fails_at_once_without_retry(
    product, seller_server, fulfillment_settings
):
    fulfillment_settings(ALLOWED_PRIVATE_NETWORKS=[])
    product.webhook_config.url = seller_server.url("/license")
    product.webhook_config.save()
    product.status = "live"
    product.save()
    order = place(product)

    attempt_all(order)

    delivery = order.deliveries.get()
    assert delivery.status == DeliveryStatus.FAILED
    assert seller_server.requests == []
    assert delivery.attempts.get().error_kind == "refused_url"


def test_a_host_that_does_not_resolve_is_retried_with_a_readable_reason(
    answering_product, monkeypatch
):
    """A resolver hiccup (or a DNS change in progress) must not fail a paid
    order for good, nor pause the seller's server."""

    def resolver_down(host, port):
        raise OSError("Temporary failure in name resolution")

    answering_product.webhook_config.url = "https://licenses.example.com/issue"
    answering_product.webhook_config.save()
    order = place(answering_product)
    monkeypatch.setattr(urlpolicy, "resolve_host", resolver_down)

    attempt_all(order)

    delivery = order.deliveries.get()
    attempt = delivery.attempts.get()
    assert delivery.status == DeliveryStatus.RETRYING
    assert attempt.error_kind == ErrorKind.DNS
    assert "could not find the host licenses.example.com" in attempt.message
    assert attempt.message.endswith("we will try again.")
    assert not EndpointHealth.objects.exists()


def test_retry_now_sends_a_failed_delivery_again_and_fulfills_the_order(
    answering_product, seller_server
):
    order = place(answering_product)
    delivery = order.deliveries.get()
    Delivery.objects.filter(pk=delivery.pk).update(
        status="failed", next_attempt_at=None
    )
    Order.objects.filter(pk=order.pk).update(fulfillment_status="failed")

    assert wakeups.delivery_retry_now(delivery=delivery) is True
    assert Order.objects.get(pk=order.pk).fulfillment_status == "pending"

    services.delivery_attempt(delivery_pk=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert Order.objects.get(pk=order.pk).fulfillment_status == "fulfilled"


def test_retry_now_leaves_a_succeeded_delivery_alone(answering_product, seller_server):
    order = place(answering_product)
    attempt_all(order)

    assert wakeups.delivery_retry_now(delivery=order.deliveries.get()) is False
    assert len(seller_server.requests_to("/license")) == 1


def test_dispatcher_picks_up_deliveries_past_the_grace_period_only(
    answering_product, settings, monkeypatch
):
    sent = []
    monkeypatch.setattr(
        wakeups, "delivery_enqueue", lambda pk, countdown=0: sent.append(pk)
    )
    order = place(answering_product)
    delivery = order.deliveries.get()

    assert wakeups.deliveries_dispatch_due() == 0
    Delivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=timezone.now() - timedelta(minutes=1)
    )
    assert wakeups.deliveries_dispatch_due() == 1
    assert sent == [delivery.pk]


def test_order_email_is_sent_once_when_every_delivery_succeeded(
    answering_product, seller_server, email_backend, django_capture_on_commit_callbacks
):
    answering_product.webhook_config.separate_multibuy = True
    answering_product.webhook_config.save()
    seller_server.set_route(
        "/license", lambda r: Route(body=f"KEY-{r.header('webhook-id')[-6:]}")
    )
    order = place(answering_product, quantity=2)

    with django_capture_on_commit_callbacks(execute=True):
        attempt_all(order)
    with django_capture_on_commit_callbacks(execute=True):
        attempt_all(order)

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["buyer@example.com"]
    assert message.body.count("KEY-") == 2
    assert "License 2 of 2" in message.body
    order.refresh_from_db()
    assert order.email.status == "sent"


def test_no_email_when_order_emails_are_off_but_the_order_is_fulfilled(
    answering_product, seller_server, email_backend, django_capture_on_commit_callbacks
):
    answering_product.send_order_emails = False
    answering_product.save()
    order = place(answering_product)

    with django_capture_on_commit_callbacks(execute=True):
        attempt_all(order)

    order.refresh_from_db()
    assert mail.outbox == []
    assert order.fulfillment_status == FulfillmentStatus.FULFILLED
    assert order.email.status == "disabled"


def test_order_email_send_twice_sends_one_email(
    answering_product, seller_server, email_backend
):
    from fulfillment.services.emails import order_email_send

    order = place(answering_product)
    attempt_all(order)

    assert order_email_send(order_id=order.pk) is True
    assert order_email_send(order_id=order.pk) is False
    assert len(mail.outbox) == 1


def test_failed_email_send_releases_the_claim_for_a_retry(
    answering_product, seller_server, settings
):
    from fulfillment.services.emails import order_email_send

    settings.EMAIL_BACKEND = "tests.fulfillment.services.test_deliveries.BrokenBackend"
    order = place(answering_product)
    attempt_all(order)

    with pytest.raises(ConnectionError):
        order_email_send(order_id=order.pk)

    assert Order.objects.get(pk=order.pk).email.status == "not_sent"


@pytest.fixture
def email_tasks(monkeypatch):
    """Order pks of every email task enqueued, instead of enqueuing it."""
    queued: list[int] = []
    monkeypatch.setattr("fulfillment.services.emails._enqueue_email", queued.append)
    return queued


@pytest.fixture
def worker_sends_email(answering_product, fulfillment_settings):
    fulfillment_settings(EMAIL_FROM_FULFILLMENT_WORKER=True)


def test_by_default_every_email_goes_through_the_email_queue(
    answering_product,
    seller_server,
    email_backend,
    email_tasks,
    django_capture_on_commit_callbacks,
):
    order = place(answering_product)

    with django_capture_on_commit_callbacks(execute=True):
        attempt_all(order)

    assert mail.outbox == []
    assert email_tasks == [order.pk]


def test_the_worker_that_fulfils_the_order_can_send_its_email_without_a_queue_hop(
    answering_product, seller_server, email_backend, email_tasks, worker_sends_email,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    order = place(answering_product)

    with django_capture_on_commit_callbacks(execute=True):
        attempt_all(order)

    order.refresh_from_db()
    assert order.email.status == "sent"
    assert len(mail.outbox) == 1
    assert "LICENSE-OK" in mail.outbox[0].body
    assert email_tasks == []


def test_an_email_the_worker_could_not_send_is_left_to_the_email_queue(
    answering_product, seller_server, settings, email_tasks, worker_sends_email,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    from fulfillment.tasks import order_email_send_task

    settings.EMAIL_BACKEND = "tests.fulfillment.services.test_deliveries.BrokenBackend"
    order = place(answering_product)

    with django_capture_on_commit_callbacks(execute=True):
        attempt_all(order)

    order.refresh_from_db()
    assert order.fulfillment_status == FulfillmentStatus.FULFILLED
    assert order.email.status == "not_sent"
    assert email_tasks == [order.pk]
    # The ESP is back when the email queue's task runs: one email.
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    order_email_send_task(order.pk)
    order_email_send_task(order.pk)
    assert len(mail.outbox) == 1
    assert Order.objects.get(pk=order.pk).email.status == "sent"


class BrokenBackend:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionError("ESP down")


@pytest.fixture
def lease_lost_mid_attempt(monkeypatch):
    """Another worker claims the delivery while our attempt is on the wire."""
    settle = services._settle

    def steal_lease_then_settle(delivery, verdict, delay):
        Delivery.objects.filter(pk=delivery.pk).update(
            attempt_count=delivery.attempt_count + 1
        )
        settle(delivery, verdict, delay)

    monkeypatch.setattr(services, "_settle", steal_lease_then_settle)


def test_a_success_after_the_lease_was_lost_still_fulfills(
    answering_product, seller_server, lease_lost_mid_attempt
):
    # The seller's server issued the license: it must not be thrown away.
    order = place(answering_product)
    delivery = order.deliveries.get()

    services.delivery_attempt(delivery_pk=delivery.pk)

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert delivery.response_text == "LICENSE-OK"


def test_a_failure_after_the_lease_was_lost_leaves_the_delivery_to_its_new_owner(
    answering_product, seller_server, lease_lost_mid_attempt
):
    seller_server.set_route("/license", Route(status=500))
    order = place(answering_product)
    delivery = order.deliveries.get()

    services.delivery_attempt(delivery_pk=delivery.pk)

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.IN_FLIGHT
    assert delivery.attempts.count() == 1


def test_owed_email_lost_by_the_broker_is_sent_by_the_email_dispatcher(
    answering_product, seller_server, email_backend, fulfillment_settings, monkeypatch
):
    from fulfillment.services import emails

    fulfillment_settings(EMAIL_DISPATCH_GRACE_SECONDS=0)
    # The broker is down when the order is fulfilled: the enqueue is lost.
    order = place(answering_product)
    attempt_all(order)
    assert Order.objects.get(pk=order.pk).email.status == "not_sent"
    sent = []
    monkeypatch.setattr(emails, "_enqueue_email", sent.append)

    assert emails.order_emails_dispatch_due() == 1

    assert sent == [order.pk]


def test_email_dispatcher_leaves_sent_disabled_and_pending_orders_alone(
    answering_product, seller_server, email_backend, fulfillment_settings, monkeypatch
):
    from fulfillment.services import emails

    fulfillment_settings(EMAIL_DISPATCH_GRACE_SECONDS=0)
    sent_order = place(answering_product)
    attempt_all(sent_order)
    emails.order_email_send(order_id=sent_order.pk)
    place(answering_product)  # still pending: nothing owed yet
    monkeypatch.setattr(emails, "_enqueue_email", lambda pk: None)

    assert emails.order_emails_dispatch_due() == 0


def test_resend_sends_to_a_corrected_address_and_records_it(
    answering_product, seller_server, email_backend
):
    from fulfillment.services.emails import order_email_resend, order_email_send

    order = place(answering_product, email="typo@exmaple.com")
    attempt_all(order)
    order_email_send(order_id=order.pk)

    order_email_resend(order=order, to="right@example.com")

    assert [m.to for m in mail.outbox] == [["typo@exmaple.com"], ["right@example.com"]]
    assert Order.objects.get(pk=order.pk).email.status == "sent"


def test_orders_paid_with_the_test_provider_reach_the_seller_marked_test(
    answering_product, seller_server
):
    order = place(answering_product)

    attempt_all(order)

    assert order.is_test
    assert b"&test=true&" in seller_server.requests_to("/license")[0].body


def test_api_orders_reach_the_seller_as_real_orders(answering_product, seller_server):
    from web.orders.services import order_create_from_api

    order, _ = order_create_from_api(
        data={
            "product": answering_product.slug,
            "quantity": 1,
            "customer_email": "real@example.com",
            "transaction_id": "txn-real-1",
        }
    )

    attempt_all(order)

    assert b"&test=false&" in seller_server.requests_to("/license")[0].body


# --- Endpoint key, Retry-After, 410 --------------------------------------------


def test_planned_deliveries_carry_their_endpoint_key(answering_product, seller_server):
    order = place(answering_product)

    assert (
        order.deliveries.get().endpoint_key == f"http://127.0.0.1:{seller_server.port}"
    )


def test_test_delivery_carries_its_endpoint_key(answering_product, seller_server):
    delivery = services.delivery_test_send(product=answering_product)

    assert delivery.endpoint_key == f"http://127.0.0.1:{seller_server.port}"


def test_endpoint_key_follows_a_webhook_url_changed_after_planning(
    answering_product, seller_server
):
    answering_product.webhook_config.url = "https://old-server.example.com/license"
    answering_product.webhook_config.save()
    order = place(answering_product)
    answering_product.webhook_config.url = seller_server.url("/license")
    answering_product.webhook_config.save()

    attempt_all(order)

    delivery = order.deliveries.get()
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert delivery.endpoint_key == f"http://127.0.0.1:{seller_server.port}"


def http_date(timestamp: float) -> str:
    return formatdate(timestamp, usegmt=True)


def seconds_until_next_attempt(delivery) -> float:
    delivery.refresh_from_db()
    return (delivery.next_attempt_at - timezone.now()).total_seconds()


def test_retry_after_seconds_delays_the_next_attempt_and_is_explained(
    answering_product, seller_server
):
    seller_server.set_route(
        "/license", Route(status=429, headers={"Retry-After": "120"})
    )
    order = place(answering_product)

    attempt_all(order)

    delivery = order.deliveries.get()
    assert delivery.status == DeliveryStatus.RETRYING
    assert 115 < seconds_until_next_attempt(delivery) <= 120
    assert delivery.last_error.endswith("; it asked us to retry after 120 s.")
    assert delivery.attempts.get().message == delivery.last_error


def test_retry_after_http_date_delays_the_next_attempt(
    answering_product, seller_server
):
    when = timezone.now() + timedelta(seconds=200)
    seller_server.set_route(
        "/license",
        Route(status=503, headers={"Retry-After": http_date(when.timestamp())}),
    )
    order = place(answering_product)

    attempt_all(order)

    # HTTP dates have whole seconds; the server's Date header is the reference.
    assert 195 < seconds_until_next_attempt(order.deliveries.get()) <= 202


def test_retry_after_is_bounded(answering_product, seller_server, fulfillment_settings):
    fulfillment_settings(RETRY_AFTER_MAX_SECONDS=300)
    seller_server.set_route(
        "/license", Route(status=429, headers={"Retry-After": "86400"})
    )
    order = place(answering_product)

    attempt_all(order)

    delivery = order.deliveries.get()
    assert 295 < seconds_until_next_attempt(delivery) <= 300
    assert "retry after 86400 s; we wait at most 300 s" in delivery.last_error


def test_a_retry_after_shorter_than_the_schedule_changes_nothing(
    answering_product, seller_server
):
    seller_server.set_route("/license", Route(status=503, headers={"Retry-After": "1"}))
    order = place(answering_product)

    attempt_all(order)

    delivery = order.deliveries.get()
    assert 7 <= seconds_until_next_attempt(delivery) <= 12.5  # 10 s ± 20 %
    assert "retry after" not in delivery.last_error


def test_retry_after_never_adds_attempts_beyond_the_schedule(
    answering_product, seller_server, fulfillment_settings
):
    fulfillment_settings(RETRY_SCHEDULE=[1])
    seller_server.set_route(
        "/license", Route(status=429, headers={"Retry-After": "60"})
    )
    order = place(answering_product)
    delivery = order.deliveries.get()
    services.delivery_attempt(delivery_pk=delivery.pk)
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())

    services.delivery_attempt(delivery_pk=delivery.pk)

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.next_attempt_at is None


def test_410_gone_fails_at_once_with_what_to_do(answering_product, seller_server):
    seller_server.set_route("/license", Route(status=410, body="gone"))
    order = place(answering_product)

    attempt_all(order)

    delivery = order.deliveries.get()
    order.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.next_attempt_at is None
    assert delivery.last_error.startswith("Your server answered 410 Gone")
    assert len(seller_server.requests_to("/license")) == 1
    assert order.fulfillment_status == FulfillmentStatus.FAILED


def test_a_retried_delivery_that_fails_again_is_alerted_again(
    answering_product, seller_server
):
    order = place(answering_product)
    delivery = order.deliveries.get()
    Delivery.objects.filter(pk=delivery.pk).update(
        status="failed", next_attempt_at=None, alerted_at=timezone.now()
    )

    wakeups.delivery_retry_now(delivery=delivery)

    assert Delivery.objects.get(pk=delivery.pk).alerted_at is None
