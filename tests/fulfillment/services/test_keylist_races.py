"""Each key goes to exactly one unit, whatever races the fallback: a worker's
attempt in flight, a seller fulfilling by hand, a second sweep, and a worker
whose claim was lost and whose answer comes late.

Real concurrency: threads with their own database connections (started
together by a Barrier), and a real seller server on 127.0.0.1 that answers
slowly. They run on the configured stack: SQLite by default, PostgreSQL with
DATABASE_URL (SKIP LOCKED there).
"""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection
from django.utils import timezone

from fulfillment.models import AlertDelivery, Delivery, DeliverySource, DeliveryStatus
from fulfillment.services import alert_engine, wakeups
from fulfillment.services.actions import delivery_fulfill_manually
from fulfillment.services.alerts import (
    alert_endpoint_get_or_create,
    alert_endpoint_save,
)
from fulfillment.services.deliveries import delivery_attempt
from fulfillment.services.keylist import (
    deliveries_serve_from_lists,
    delivery_serve_from_list,
)
from keylists.models import LicenseKey
from tests.fulfillment.fallback import fallback_on, overdue
from tests.httpserver import Route

pytestmark = pytest.mark.django_db(transaction=True)

SLOW = 1.5  # seconds the seller's server takes to answer


@pytest.fixture(autouse=True)
def _no_broker_wakeups(monkeypatch):
    """Only the test's own threads attempt: no eager task runs an attempt when
    an order is placed or a retry is scheduled."""
    monkeypatch.setattr(wakeups, "delivery_enqueue", lambda *a, **k: None)


@pytest.fixture
def product(wired_product, seller_server, fulfillment_settings):
    fulfillment_settings(TOTAL_TIMEOUT=10.0)
    seller_server.set_route("/license", Route(body="LICENSE-FROM-SERVER", delay=SLOW))
    fallback_on(wired_product, *[f"SPARE-{i}" for i in range(1, 11)])
    return wired_product


def _due(delivery: Delivery) -> Delivery:
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    return delivery


def _in_thread(target, *args) -> threading.Thread:
    def run() -> None:
        try:
            target(*args)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _wait_until(predicate, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def _keys_used(product) -> list[tuple[int, str]]:
    return list(
        LicenseKey.objects.filter(key_list__product=product, used_at__isnull=False)
        .order_by("delivery_id", "unit_index")
        .values_list("delivery_id", "key")
    )


def test_the_sweep_skips_an_attempt_in_flight_and_the_servers_license_stands(
    product, seller_server
):
    delivery = _due(overdue(product))
    worker = _in_thread(lambda: delivery_attempt(delivery_pk=delivery.pk))
    _wait_until(lambda: seller_server.requests_to("/license"))

    # The request is on the wire: the delivery is its worker's.
    assert Delivery.objects.get(pk=delivery.pk).status == DeliveryStatus.IN_FLIGHT
    assert deliveries_serve_from_lists() == 0
    assert delivery_serve_from_list(delivery_pk=delivery.pk) is False
    worker.join(timeout=30)

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert delivery.source == DeliverySource.WEBHOOK
    assert delivery.response_text == "LICENSE-FROM-SERVER"
    assert _keys_used(product) == []


def _race_hand_and_list(delivery: Delivery, by) -> dict[str, bool]:
    barrier = threading.Barrier(2)
    won: dict[str, bool] = {}

    def by_hand() -> None:
        barrier.wait(timeout=10)
        won["hand"] = delivery_fulfill_manually(
            delivery=delivery, license_text="TYPED-BY-HAND", by=by
        )

    def from_list() -> None:
        barrier.wait(timeout=10)
        won["list"] = delivery_serve_from_list(delivery_pk=delivery.pk)

    threads = [_in_thread(by_hand), _in_thread(from_list)]
    for thread in threads:
        thread.join(timeout=30)
    return won


def test_fulfilling_by_hand_racing_the_fallback_has_one_winner(product, alice):
    """Run a few times: either may win, never both, and a key is used only
    when the list won."""
    for _ in range(6):
        delivery = overdue(product)

        won = _race_hand_and_list(delivery, alice)

        assert sorted(won.values()) == [False, True]
        delivery.refresh_from_db()
        assert delivery.status == DeliveryStatus.SUCCEEDED
        keys = LicenseKey.objects.filter(delivery=delivery)
        if won["hand"]:
            assert delivery.response_text == "TYPED-BY-HAND"
            assert delivery.source == DeliverySource.WEBHOOK
            assert not keys.exists()
        else:
            assert delivery.source == DeliverySource.FALLBACK
            assert keys.count() == 1
    used = [key for _, key in _keys_used(product)]
    assert len(used) == len(set(used))


def test_two_sweeps_at_once_serve_each_overdue_delivery_once(product):
    deliveries = [overdue(product, email=f"b{i}@example.com") for i in range(6)]
    barrier = threading.Barrier(2)
    served: list[int] = []

    def sweep() -> None:
        barrier.wait(timeout=10)
        served.append(deliveries_serve_from_lists())

    threads = [_in_thread(sweep), _in_thread(sweep)]
    for thread in threads:
        thread.join(timeout=60)

    assert sum(served) == 6
    used = _keys_used(product)
    assert sorted(pk for pk, _ in used) == sorted(d.pk for d in deliveries)
    assert len({key for _, key in used}) == 6
    assert all(
        d.status == DeliveryStatus.SUCCEEDED and d.source == DeliverySource.FALLBACK
        for d in Delivery.objects.filter(pk__in=[d.pk for d in deliveries])
    )


def test_a_lost_claim_then_the_fallback_and_the_late_answer_changes_nothing(
    product, seller_server, fulfillment_settings
):
    """The worker's lease runs out while its request waits on the server; the
    dispatcher gives the delivery back, the fallback serves it, and then the
    server's 200 arrives: recorded as an attempt, it overwrites nothing."""
    fulfillment_settings(LEASE_SECONDS=0.5)
    delivery = _due(overdue(product))
    worker = _in_thread(lambda: delivery_attempt(delivery_pk=delivery.pk))
    _wait_until(lambda: seller_server.requests_to("/license"))
    time.sleep(0.6)  # the lease has run out; the request is still waiting

    assert wakeups.deliveries_recover_abandoned(now=timezone.now()) == [
        delivery.delivery_id
    ]
    assert deliveries_serve_from_lists() == 1
    worker.join(timeout=30)

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert delivery.source == DeliverySource.FALLBACK
    assert delivery.license_texts == ["`SPARE-1`"]
    assert _keys_used(product) == [(delivery.pk, "SPARE-1")]
    [late] = delivery.attempts.filter(succeeded=True)
    assert late.response_body == "LICENSE-FROM-SERVER"


def test_an_old_workers_late_failure_after_the_fallback_alerts_nothing(
    product, alice, seller_server, fulfillment_settings, monkeypatch
):
    """The seller chose `delivery.failed` alerts. A worker's claim is lost, the
    fallback serves the delivery, then that worker's last attempt fails (a
    final 500): the delivery stays served and no `delivery.failed` is sent."""
    monkeypatch.setattr(alert_engine, "alerts_enqueue_on_commit", lambda ids: None)
    alert_endpoint_save(
        endpoint=alert_endpoint_get_or_create(seller_id=alice.pk),
        url="https://alerts.example.com/in",
        events=["delivery.failed"],
    )
    fulfillment_settings(LEASE_SECONDS=0.5, RETRY_SCHEDULE=[1])
    seller_server.set_route("/license", Route(status=500, body="down", delay=SLOW))
    delivery = _due(overdue(product))
    worker = _in_thread(lambda: delivery_attempt(delivery_pk=delivery.pk))
    _wait_until(lambda: seller_server.requests_to("/license"))
    time.sleep(0.6)

    wakeups.deliveries_recover_abandoned(now=timezone.now())
    assert deliveries_serve_from_lists() == 1
    worker.join(timeout=30)

    delivery.refresh_from_db()
    assert (delivery.status, delivery.source) == ("succeeded", "fallback")
    assert delivery.attempts.filter(response_status=500).exists()
    assert not AlertDelivery.objects.filter(type="delivery.failed").exists()
