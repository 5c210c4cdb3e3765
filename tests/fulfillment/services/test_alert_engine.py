"""Alerts sent by the fulfillment engine, against a real seller server that
verifies every request with the official Standard Webhooks library."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone
from standardwebhooks import Webhook

from fulfillment.models import AlertDelivery, DeliveryStatus, EndpointHealth, ErrorKind
from fulfillment.services import alert_engine
from fulfillment.services.alerts import (
    alert_emit,
    alert_endpoint_get_or_create,
    alert_endpoint_save,
    alert_endpoint_secret_regenerate,
)
from fulfillment.services.notifications import seller_alerts_send
from tests.factories import place
from tests.httpserver import Route

pytestmark = pytest.mark.django_db

DATA = {"order_id": "7", "transaction_id": "txn-7"}


@pytest.fixture
def alerts_endpoint(alice, seller_server, loopback):
    """alice's Alerts URL points at the test seller server's /alerts, for every
    event; the server answers 200 unless a test says otherwise."""
    seller_server.set_route("/alerts", Route(body="ok"))
    endpoint = alert_endpoint_get_or_create(seller_id=alice.pk)
    alert_endpoint_save(
        endpoint=endpoint,
        url=seller_server.url("/alerts"),
        events=["order.completed", "delivery.failed", "order.refunded"],
    )
    return endpoint


def emit(seller, *, subject: str = "order:7", type: str = "order.completed") -> str:
    with transaction.atomic():
        alert_id = alert_emit(
            seller_id=seller.pk, type=type, subject=subject, data=DATA
        )
    assert alert_id is not None
    return alert_id


def make_due(alert_id: str) -> None:
    AlertDelivery.objects.filter(alert_id=alert_id).update(
        next_attempt_at=timezone.now() - timedelta(seconds=60)
    )


def verified(endpoint, request) -> dict:
    """The body, verified as a seller's server verifies it (raises if forged)."""
    return Webhook(endpoint.signing_secret).verify(request.body, request.headers)


def test_emitted_alert_is_sent_signed_with_the_alerts_secret(
    alice, alerts_endpoint, seller_server
):
    alert_id = emit(alice)

    alert = alert_engine.alert_attempt(alert_id=alert_id)

    assert alert is not None and alert.status == DeliveryStatus.SUCCEEDED
    (request,) = seller_server.requests_to("/alerts")
    body = verified(alerts_endpoint, request)
    assert body["type"] == "order.completed"
    assert body["api_version"] == "2026-11-01"
    assert body["data"] == DATA
    assert request.header("webhook-id") == alert_id
    assert request.header("content-type") == "application/json"


def test_any_2xx_answer_accepts_an_alert(alice, alerts_endpoint, seller_server):
    seller_server.set_route("/alerts", Route(status=204, body=b""))

    alert = alert_engine.alert_attempt(alert_id=emit(alice))

    assert alert is not None and alert.status == DeliveryStatus.SUCCEEDED


def test_nothing_is_recorded_for_an_event_the_seller_did_not_choose(
    alice, alerts_endpoint
):
    with transaction.atomic():
        alert_id = alert_emit(
            seller_id=alice.pk, type="order.cancelled", subject="order:7", data=DATA
        )

    assert alert_id is None
    assert not AlertDelivery.objects.exists()


def test_nothing_is_recorded_without_an_alerts_url(alice):
    alert_endpoint_get_or_create(seller_id=alice.pk)

    with transaction.atomic():
        alert_id = alert_emit(
            seller_id=alice.pk, type="order.completed", subject="order:7", data=DATA
        )

    assert alert_id is None


def test_an_event_emitted_twice_records_one_alert(alice, alerts_endpoint):
    first = emit(alice)
    with transaction.atomic():
        again = alert_emit(
            seller_id=alice.pk, type="order.completed", subject="order:7", data=DATA
        )

    assert again is None
    assert list(AlertDelivery.objects.values_list("alert_id", flat=True)) == [first]


def test_a_rolled_back_change_records_no_alert(
    alice, alerts_endpoint, seller_server, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        alert_emit(
            seller_id=alice.pk, type="order.completed", subject="order:7", data=DATA
        )
        raise RuntimeError("the change failed")

    assert callbacks == []
    assert not AlertDelivery.objects.exists()
    assert seller_server.requests_to("/alerts") == []


def test_a_committed_alert_is_sent_after_commit(
    alice, alerts_endpoint, seller_server, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        alert_id = emit(alice)

    assert AlertDelivery.objects.get(alert_id=alert_id).status == "succeeded"
    assert len(seller_server.requests_to("/alerts")) == 1


def test_a_failed_alert_is_retried_with_the_same_webhook_id(
    alice, alerts_endpoint, seller_server
):
    seller_server.set_route("/alerts", [Route(status=500), Route(status=200)])
    alert_id = emit(alice)

    first = alert_engine.alert_attempt(alert_id=alert_id)
    assert first is not None and first.status == DeliveryStatus.RETRYING
    assert "answered 500" in first.last_error
    make_due(alert_id)
    second = alert_engine.alert_attempt(alert_id=alert_id)

    assert second is not None and second.status == DeliveryStatus.SUCCEEDED
    ids = [r.header("webhook-id") for r in seller_server.requests_to("/alerts")]
    assert ids == [alert_id, alert_id]
    attempts = AlertDelivery.objects.get(alert_id=alert_id).attempts.all()
    assert [(a.number, a.response_status) for a in attempts] == [(1, 500), (2, 200)]


def test_a_retry_waits_for_the_schedule(alice, alerts_endpoint, seller_server):
    seller_server.set_route("/alerts", Route(status=503))
    alert_id = emit(alice)
    alert_engine.alert_attempt(alert_id=alert_id)

    assert alert_engine.alert_attempt(alert_id=alert_id) is None
    assert len(seller_server.requests_to("/alerts")) == 1


def test_an_alert_fails_for_good_after_the_schedule_and_nobody_is_emailed(
    alice, alerts_endpoint, seller_server, fulfillment_settings, email_backend
):
    fulfillment_settings(RETRY_SCHEDULE=[10])
    seller_server.set_route("/alerts", Route(status=500, body="<b>secret answer</b>"))
    alert_id = emit(alice)

    alert_engine.alert_attempt(alert_id=alert_id)
    make_due(alert_id)
    alert = alert_engine.alert_attempt(alert_id=alert_id)
    seller_alerts_send()

    assert alert is not None and alert.status == DeliveryStatus.FAILED
    assert mail.outbox == []


def test_410_stops_retrying_an_alert(alice, alerts_endpoint, seller_server):
    seller_server.set_route("/alerts", Route(status=410))

    alert = alert_engine.alert_attempt(alert_id=emit(alice))

    assert alert is not None and alert.status == DeliveryStatus.FAILED
    assert "Later alerts are still sent" in alert.last_error


def test_the_sweep_sends_an_alert_whose_message_was_lost(
    alice, alerts_endpoint, seller_server, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        alert_id = emit(alice)  # the broker message never goes out
    make_due(alert_id)

    assert alert_engine.alerts_dispatch_due() == 1

    assert AlertDelivery.objects.get(alert_id=alert_id).status == "succeeded"
    assert len(seller_server.requests_to("/alerts")) == 1


def test_the_sweep_takes_back_an_alert_whose_worker_died(
    alice, alerts_endpoint, seller_server, django_capture_on_commit_callbacks
):
    alert_id = emit(alice)
    now = timezone.now()
    AlertDelivery.objects.filter(alert_id=alert_id).update(
        status="in_flight", attempt_count=1, lease_expires_at=now - timedelta(seconds=1)
    )

    with django_capture_on_commit_callbacks(execute=True):
        alert_engine.alerts_dispatch_due()

    alert = AlertDelivery.objects.get(alert_id=alert_id)
    assert alert.status == "succeeded"
    assert (alert.attempt_count, alert.lost_claims, alert.counted_attempts) == (2, 1, 1)
    kinds = list(alert.attempts.values_list("error_kind", flat=True))
    assert kinds == [ErrorKind.INTERRUPTED, ""]


def test_a_duplicate_message_sends_once(alice, alerts_endpoint, seller_server):
    alert_id = emit(alice)

    alert_engine.alert_attempt(alert_id=alert_id)
    assert alert_engine.alert_attempt(alert_id=alert_id) is None

    assert len(seller_server.requests_to("/alerts")) == 1


def test_an_alert_waits_while_its_endpoint_circuit_is_open(
    alice, alerts_endpoint, seller_server
):
    alert_id = emit(alice)
    key = AlertDelivery.objects.get(alert_id=alert_id).endpoint_key
    EndpointHealth.objects.create(
        key=key,
        consecutive_failures=5,
        open_until=timezone.now() + timedelta(seconds=60),
    )

    assert alert_engine.alert_attempt(alert_id=alert_id) is None

    alert = AlertDelivery.objects.get(alert_id=alert_id)
    assert (alert.status, alert.attempt_count) == ("pending", 0)
    assert seller_server.requests_to("/alerts") == []


def test_rotation_signs_with_the_old_and_the_new_secret(
    alice, alerts_endpoint, seller_server
):
    old = alerts_endpoint.signing_secret
    alert_endpoint_secret_regenerate(endpoint=alerts_endpoint)
    alerts_endpoint.refresh_from_db()

    alert_engine.alert_attempt(alert_id=emit(alice))

    (request,) = seller_server.requests_to("/alerts")
    assert alerts_endpoint.signing_secret != old
    assert len(request.header("webhook-signature").split(" ")) == 2
    Webhook(old).verify(request.body, request.headers)
    Webhook(alerts_endpoint.signing_secret).verify(request.body, request.headers)


def test_the_old_secret_stops_signing_after_the_grace_period(
    alice, alerts_endpoint, seller_server
):
    alert_endpoint_secret_regenerate(endpoint=alerts_endpoint)
    alerts_endpoint.previous_secret_expires_at = timezone.now() - timedelta(seconds=1)
    alerts_endpoint.save()

    alert_engine.alert_attempt(alert_id=emit(alice))

    (request,) = seller_server.requests_to("/alerts")
    assert len(request.header("webhook-signature").split(" ")) == 1


def test_the_alerts_secret_is_encrypted_at_rest(alice, alerts_endpoint):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT signing_secret FROM fulfillment_alertendpoint WHERE id = %s",
            [alerts_endpoint.pk],
        )
        (stored,) = cursor.fetchone()
    assert stored.startswith("gAAAAA")
    assert alerts_endpoint.signing_secret not in stored


def test_a_test_alert_is_sent_once_and_keeps_its_signature(
    alice, alerts_endpoint, seller_server
):
    seller_server.set_route("/alerts", Route(status=500))

    alert = alert_engine.alert_test_send(seller_id=alice.pk)

    assert alert.status == DeliveryStatus.FAILED
    (attempt,) = alert.attempts.all()
    assert attempt.request_headers["webhook-signature"].startswith("v1,")
    assert json.loads(attempt.request_body)["type"] == "test"
    assert json.loads(attempt.request_body)["data"]["test"] is True


def test_a_real_alert_attempt_keeps_no_signature(alice, alerts_endpoint):
    alert = alert_engine.alert_attempt(alert_id=emit(alice))

    assert alert is not None
    (attempt,) = alert.attempts.all()
    assert attempt.request_headers["webhook-signature"] == "v1,<redacted>"


def test_an_alert_never_touches_an_order(alice, alerts_endpoint, answering_product):
    order = place(answering_product)
    with transaction.atomic():
        alert_id = alert_emit(
            seller_id=alice.pk,
            type="order.refunded",
            subject=f"order:{order.pk}",
            data=DATA,
        )
    status_before = order.fulfillment_status

    alert_engine.alert_attempt(alert_id=alert_id)

    order.refresh_from_db()
    assert order.fulfillment_status == status_before
    assert order.deliveries.count() == 1


def test_without_an_alerts_url_an_alert_fails_with_a_reason(alice, alerts_endpoint):
    alert_id = emit(alice)
    alert_endpoint_save(endpoint=alerts_endpoint, url="", events=["order.completed"])

    alert = alert_engine.alert_attempt(alert_id=alert_id)

    assert alert is not None and alert.status == DeliveryStatus.FAILED
    assert alert.last_error == alert_engine.NO_URL_MESSAGE


def _failed(alice, seller_server, fulfillment_settings) -> str:
    fulfillment_settings(RETRY_SCHEDULE=[])
    seller_server.set_route("/alerts", Route(status=503, body="down"))
    alert_id = emit(alice)
    alert = alert_engine.alert_attempt(alert_id=alert_id)
    assert alert is not None and alert.status == DeliveryStatus.FAILED
    return alert_id


def test_a_failed_alert_sent_again_reaches_the_server_with_the_same_webhook_id(
    alice,
    alerts_endpoint,
    seller_server,
    fulfillment_settings,
    django_capture_on_commit_callbacks,
):
    alert_id = _failed(alice, seller_server, fulfillment_settings)
    seller_server.set_route("/alerts", Route(body="ok"))

    with django_capture_on_commit_callbacks(execute=True):
        assert alert_engine.alert_retry_now(seller_id=alice.pk, alert_id=alert_id)

    alert = AlertDelivery.objects.get(alert_id=alert_id)
    assert alert.status == DeliveryStatus.SUCCEEDED  # eager: sent at once
    first, again = seller_server.requests_to("/alerts")
    assert first.headers["webhook-id"] == again.headers["webhook-id"] == alert_id
    verified(alerts_endpoint, again)


def test_only_a_failed_alert_of_this_seller_is_sent_again(
    alice, bob, alerts_endpoint, seller_server, fulfillment_settings
):
    alert_id = _failed(alice, seller_server, fulfillment_settings)
    sent = emit(alice, subject="order:8")
    make_due(sent)
    seller_server.set_route("/alerts", Route(body="ok"))
    alert_engine.alert_attempt(alert_id=sent)

    assert not alert_engine.alert_retry_now(seller_id=bob.pk, alert_id=alert_id)
    assert not alert_engine.alert_retry_now(seller_id=alice.pk, alert_id=sent)
    assert AlertDelivery.objects.get(alert_id=alert_id).status == DeliveryStatus.FAILED
