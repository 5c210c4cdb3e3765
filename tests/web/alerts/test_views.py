"""The Alerts page: the URL and events, the secret, "Send test alert" and the log.

alice owns the Alerts endpoint set up here; bob's view of it is in
tests/security/test_tenancy.py.
"""

from __future__ import annotations

import json

import pytest
from django.core import mail
from django.db import transaction
from standardwebhooks import Webhook

from fulfillment.models import AlertDelivery, AlertEndpoint
from fulfillment.services import alert_engine
from fulfillment.services.alerts import alert_emit, alert_endpoint_get_or_create
from tests.factories import place
from tests.httpserver import Route

pytestmark = pytest.mark.django_db

PAGE = "/dashboard/alerts/"


@pytest.fixture
def wired(alice_client, alice, seller_server, loopback):
    """alice's Alerts URL is the test seller server's /alerts, for two events."""
    seller_server.set_route("/alerts", Route(body="thanks"))
    response = alice_client.post(
        PAGE,
        {
            "url": seller_server.url("/alerts"),
            "events": ["order.completed", "delivery.failed"],
        },
    )
    assert response.status_code == 302
    return AlertEndpoint.objects.get(seller=alice)


def test_the_alerts_page_is_in_the_dashboard_nav(alice_client):
    response = alice_client.get("/dashboard/")

    assert f'href="{PAGE}"' in response.content.decode()


def test_saving_the_url_and_events(wired, seller_server):
    assert wired.url == seller_server.url("/alerts")
    assert wired.events == ["order.completed", "delivery.failed"]


def test_a_private_alerts_url_is_refused_next_to_the_field(alice_client, alice):
    response = alice_client.post(
        PAGE, {"url": "http://10.0.0.5/alerts", "events": ["order.completed"]}
    )

    assert response.status_code == 200
    errors = response.context["form"].errors["url"]
    assert errors and "private" in errors[0].lower()
    assert alert_endpoint_get_or_create(seller_id=alice.pk).url == ""


def test_events_without_a_url_are_refused(alice_client):
    response = alice_client.post(PAGE, {"url": "", "events": ["order.completed"]})

    assert "Set the Alerts URL" in response.context["form"].errors["url"][0]


def test_an_unknown_event_is_refused(alice_client):
    response = alice_client.post(
        PAGE, {"url": "https://hooks.example.com/a", "events": ["order.exploded"]}
    )

    assert response.status_code == 200
    assert "events" in response.context["form"].errors


def test_the_page_shows_only_the_last_four_characters_of_the_secret(
    alice_client, alice
):
    secret = alert_endpoint_get_or_create(seller_id=alice.pk).signing_secret

    page = alice_client.get(PAGE).content.decode()
    revealed = alice_client.get(PAGE + "secret/").content.decode()

    assert secret not in page
    assert f"whsec_••••••••{secret[-4:]}" in page
    assert secret in revealed


def test_regenerating_the_secret_keeps_the_old_one_signing(alice_client, wired):
    old = wired.signing_secret

    alice_client.post(PAGE + "secret/regenerate/")

    wired.refresh_from_db()
    assert wired.signing_secret != old
    assert wired.active_secrets() == [wired.signing_secret, old]
    assert "also signs until" in alice_client.get(PAGE).content.decode()


def test_send_test_alert_shows_the_request_sent_and_the_answer(
    alice_client, wired, seller_server
):
    response = alice_client.post(PAGE + "test/", follow=True)

    page = response.content.decode()
    (request,) = seller_server.requests_to("/alerts")
    body = Webhook(wired.signing_secret).verify(request.body, request.headers)
    assert body["type"] == "test" and body["data"]["test"] is True
    assert "Test alert accepted by your server." in page
    assert request.header("webhook-signature") in page  # a test keeps it
    assert "thanks" in page  # the answer's body
    assert "POST " + seller_server.url("/alerts") in page


def test_a_failed_test_alert_says_why(alice_client, wired, seller_server):
    seller_server.set_route("/alerts", Route(status=404, body="nope"))

    response = alice_client.post(PAGE + "test/", follow=True)

    page = response.content.decode()
    assert "Test alert failed: Your server answered 404; check the Alerts URL." in page
    alert = AlertDelivery.objects.get()
    assert alert.status == "failed" and alert.attempt_count == 1


def test_send_test_alert_without_a_url_says_so(alice_client):
    response = alice_client.post(PAGE + "test/", follow=True)

    assert "Save an Alerts URL first." in response.content.decode()
    assert not AlertDelivery.objects.exists()


def test_the_log_lists_alerts_and_counts_their_outcomes(
    alice_client, alice, wired, seller_server
):
    seller_server.set_route("/alerts", [Route(status=410), Route(body="ok")])
    for subject in ("order:1", "order:2", "order:3"):
        with transaction.atomic():
            alert_emit(
                seller_id=alice.pk, type="order.completed", subject=subject, data={}
            )
    first, second, _ = AlertDelivery.objects.order_by("pk")
    alert_engine.alert_attempt(alert_id=first.alert_id)
    alert_engine.alert_attempt(alert_id=second.alert_id)
    alice_client.post(PAGE + "test/")  # not counted

    response = alice_client.get(PAGE)

    counts = response.context["counts"]
    assert (counts.succeeded, counts.failed, counts.waiting) == (1, 1, 1)
    assert len(response.context["alerts"]) == 4
    assert "410 Gone" in response.content.decode()


def test_the_alert_page_shows_each_attempt_with_the_signature_redacted(
    alice_client, alice, wired
):
    with transaction.atomic():
        alert_id = alert_emit(
            seller_id=alice.pk, type="order.completed", subject="order:9", data={}
        )
    alert_engine.alert_attempt(alert_id=alert_id)

    page = alice_client.get(f"{PAGE}{alert_id}/").content.decode()

    assert alert_id in page
    assert "v1,&lt;redacted&gt;" in page
    assert "thanks" in page


def test_alerts_stay_out_of_product_health(
    alice_client, alice, wired, answering_product, seller_server, email_backend
):
    seller_server.set_route("/alerts", Route(status=500))
    order = place(answering_product)
    with transaction.atomic():
        alert_id = alert_emit(
            seller_id=alice.pk,
            type="delivery.failed",
            subject=f"order:{order.pk}",
            data={},
        )
    alert_engine.alert_attempt(alert_id=alert_id)

    health = alice_client.get(f"/dashboard/products/{answering_product.pk}/").context[
        "health"
    ]

    assert AlertDelivery.objects.get(alert_id=alert_id).status == "retrying"
    assert (health.deliveries, health.failed, health.in_progress) == (1, 0, 1)
    assert health.last_failure is None
    assert mail.outbox == []


def test_the_receive_section_offers_a_verified_endpoint_per_language(alice_client):
    page = alice_client.get(PAGE).content.decode()

    for filename in ("alerts_server.py", "alerts-server.js", "alerts.php"):
        assert filename in page
    assert json.dumps("webhook-id")[1:-1] in page


def test_a_failed_alert_is_sent_again_from_its_page(
    alice_client, alice, wired, seller_server, django_capture_on_commit_callbacks
):
    seller_server.set_route("/alerts", Route(status=410))
    with transaction.atomic():
        alert_id = alert_emit(
            seller_id=alice.pk, type="order.completed", subject="order:5", data={}
        )
    alert_engine.alert_attempt(alert_id=alert_id)
    page = alice_client.get(f"{PAGE}{alert_id}/").content.decode()
    assert "Send again" in page
    seller_server.set_route("/alerts", Route(body="ok"))

    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(f"{PAGE}{alert_id}/retry/")
    page = alice_client.get(response.url).content.decode()

    assert "Sending this alert again now." in page
    assert AlertDelivery.objects.get(alert_id=alert_id).status == "succeeded"
    assert "Send again" not in page


def test_an_accepted_alert_is_not_sent_again(alice_client, alice, wired):
    with transaction.atomic():
        alert_id = alert_emit(
            seller_id=alice.pk, type="order.completed", subject="order:6", data={}
        )
    alert_engine.alert_attempt(alert_id=alert_id)

    response = alice_client.post(f"{PAGE}{alert_id}/retry/", follow=True)

    assert "Only a failed alert can be sent again." in response.content.decode()
    assert len(AlertDelivery.objects.get(alert_id=alert_id).attempts.all()) == 1
