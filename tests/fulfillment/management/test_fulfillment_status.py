"""The three figures to watch (fulfillment/ops.py), from real deliveries and
attempts against a real seller server, through the command and the admin page.

charlie is staff and may see the admin page; a staff member without the
permission to view deliveries may not.
"""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from fulfillment.models import Delivery, DeliveryStatus
from fulfillment.ops import format_age, ops_status
from fulfillment.services import claims
from fulfillment.services import deliveries as services
from fulfillment.services.endpoints import endpoint_key_for
from tests.factories import UserFactory, place
from tests.httpserver import Route

pytestmark = pytest.mark.django_db

THRESHOLD = 3


@pytest.fixture
def breaker(loopback, fulfillment_settings):
    fulfillment_settings(CIRCUIT_FAILURE_THRESHOLD=THRESHOLD)


def attempt(delivery: Delivery) -> None:
    services.delivery_attempt(delivery_pk=delivery.pk)


def failing(answering_product, seller_server) -> None:
    """The server takes each connection and closes it without answering."""
    seller_server.set_route("/license", Route(close=True))


# --- Oldest due delivery --------------------------------------------------------


def test_nothing_waiting_has_no_oldest_due_delivery(answering_product):
    assert ops_status().oldest_due is None


def test_a_new_delivery_is_due_since_it_was_planned(answering_product):
    delivery = place(answering_product).deliveries.get()  # next attempt: at once

    status = ops_status(now=delivery.next_attempt_at + timedelta(minutes=3))

    assert status.oldest_due.delivery_id == delivery.delivery_id
    assert status.oldest_due.status == DeliveryStatus.PENDING
    assert status.oldest_due.age == timedelta(minutes=3)


def test_the_oldest_of_several_due_deliveries_is_reported(answering_product):
    first = place(answering_product).deliveries.get()
    place(answering_product)

    status = ops_status(now=timezone.now() + timedelta(minutes=1))

    assert status.oldest_due.delivery_id == first.delivery_id


def test_a_retry_not_due_yet_is_not_waiting(answering_product, seller_server):
    failing(answering_product, seller_server)
    delivery = place(answering_product).deliveries.get()
    attempt(delivery)  # retrying, next attempt in about 10 s

    assert ops_status().oldest_due is None


def test_a_retry_is_due_since_its_next_attempt_time(answering_product, seller_server):
    failing(answering_product, seller_server)
    delivery = place(answering_product).deliveries.get()
    attempt(delivery)
    delivery.refresh_from_db()

    status = ops_status(now=delivery.next_attempt_at + timedelta(seconds=90))

    assert status.oldest_due.status == DeliveryStatus.RETRYING
    assert status.oldest_due.due_since == delivery.next_attempt_at
    assert status.oldest_due.age == timedelta(seconds=90)


def test_a_delivery_in_flight_counts_as_waiting(answering_product):
    delivery = place(answering_product).deliveries.get()
    # What a claim does: the worker holds it, its due time is unchanged.
    claims._claim(delivery.pk, timezone.now())

    status = ops_status(now=timezone.now() + timedelta(minutes=2))

    assert status.oldest_due.status == DeliveryStatus.IN_FLIGHT


def test_test_deliveries_never_count(answering_product):
    services.delivery_test_send(product=answering_product)  # succeeded at once
    Delivery.objects.filter(is_test=True).update(status=DeliveryStatus.PENDING)

    assert ops_status(now=timezone.now() + timedelta(minutes=5)).oldest_due is None


# --- Failures per minute --------------------------------------------------------


def test_failed_attempts_are_counted_per_minute_over_5_and_15_minutes(
    answering_product, seller_server
):
    failing(answering_product, seller_server)
    for _ in range(3):
        attempt(place(answering_product).deliveries.get())
    seller_server.set_route("/license", Route(body="KEY"))
    attempt(place(answering_product).deliveries.get())  # a success is not a failure

    now_rates = ops_status().failure_rates
    later_rates = ops_status(now=timezone.now() + timedelta(minutes=10)).failure_rates

    assert [(r.minutes, r.failures) for r in now_rates] == [(5, 3), (15, 3)]
    assert now_rates[0].per_minute == pytest.approx(0.6)
    assert now_rates[1].per_minute == pytest.approx(0.2)
    assert [(r.minutes, r.failures) for r in later_rates] == [(5, 0), (15, 3)]


def test_failed_test_deliveries_are_not_counted(answering_product, seller_server):
    failing(answering_product, seller_server)

    services.delivery_test_send(product=answering_product)

    assert [r.failures for r in ops_status().failure_rates] == [0, 0]


# --- Open circuits --------------------------------------------------------------


def test_open_circuit_is_listed_with_its_failures_error_and_waiting_deliveries(
    answering_product, seller_server, breaker
):
    failing(answering_product, seller_server)
    for _ in range(THRESHOLD):
        attempt(place(answering_product).deliveries.get())

    [circuit] = ops_status().open_circuits

    assert circuit.key == endpoint_key_for(seller_server.url())
    assert circuit.consecutive_failures == THRESHOLD
    assert circuit.open_until > timezone.now()
    assert "could not connect" in circuit.last_error
    assert circuit.waiting == THRESHOLD  # each one retrying
    assert ops_status(now=circuit.open_until + timedelta(seconds=1)).open_circuits == []


def test_closed_circuits_are_not_listed(answering_product, seller_server, breaker):
    failing(answering_product, seller_server)
    attempt(
        place(answering_product).deliveries.get()
    )  # one failure: below the threshold

    assert ops_status().open_circuits == []


# --- The command ----------------------------------------------------------------


def _run(*args: str) -> str:
    out = StringIO()
    call_command("fulfillment_status", *args, stdout=out)
    return out.getvalue()


def test_command_prints_the_three_figures(answering_product, seller_server, breaker):
    failing(answering_product, seller_server)
    for _ in range(THRESHOLD):
        attempt(place(answering_product).deliveries.get())
    held = place(answering_product).deliveries.get()
    attempt(held)  # the circuit is open: held without a request, not due

    output = _run()

    assert "Oldest due delivery: " in output
    assert "Oldest due delivery: none, nothing is waiting" in output
    assert "Failed attempts per minute: 0.60 over the last 5 min (3 failed)" in output
    assert "0.20 over the last 15 min (3 failed)" in output
    assert "Open circuits: 1" in output
    assert f"  {endpoint_key_for(seller_server.url())}: open until " in output
    assert "3 consecutive failures, 4 deliveries waiting; last error: " in output


def test_command_says_when_nothing_is_waiting(db):
    output = _run()

    assert "Oldest due delivery: none, nothing is waiting" in output
    assert "Open circuits: 0" in output


def test_command_json_has_the_three_figures(answering_product):
    delivery = place(answering_product).deliveries.get()

    data = json.loads(_run("--json"))

    assert data["oldest_due_delivery"]["delivery_id"] == delivery.delivery_id
    assert data["oldest_due_delivery"]["age_seconds"] >= 0
    assert data["failures_per_minute"] == {"last_5_min": 0.0, "last_15_min": 0.0}
    assert data["failed_attempts"] == {"last_5_min": 0, "last_15_min": 0}
    assert data["open_circuits"] == []


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(4, "4 s"), (192, "3 min 12 s"), (7500, "2 h 5 min")],
)
def test_ages_are_short_and_readable(seconds, text):
    assert format_age(timedelta(seconds=seconds)) == text


# --- The admin page -------------------------------------------------------------


def test_staff_see_the_figures_on_the_admin_status_page(
    client, charlie, answering_product, seller_server, breaker
):
    failing(answering_product, seller_server)
    for _ in range(THRESHOLD):
        attempt(place(answering_product).deliveries.get())
    client.force_login(charlie)

    response = client.get(reverse("admin:fulfillment_delivery_status"))

    assert response.status_code == 200
    body = response.content.decode()
    assert "Oldest due delivery" in body
    assert "Failed attempts per minute" in body
    assert "Open circuits (1)" in body
    assert endpoint_key_for(seller_server.url()) in body


def test_admin_index_and_delivery_list_link_the_status_page(client, charlie):
    client.force_login(charlie)
    url = reverse("admin:fulfillment_delivery_status")

    for page in ("admin:index", "admin:fulfillment_delivery_changelist"):
        assert f'href="{url}"' in client.get(reverse(page)).content.decode()


def test_staff_without_the_delivery_view_permission_are_refused(client):
    clerk = UserFactory(username="clerk", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_product"))
    client.force_login(clerk)

    response = client.get(reverse("admin:fulfillment_delivery_status"))

    assert response.status_code == 403
    index = client.get(reverse("admin:index")).content.decode()
    assert reverse("admin:fulfillment_delivery_status") not in index
