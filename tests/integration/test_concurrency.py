"""The same delivery attempted twice at the same moment makes one HTTP request."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from fulfillment.models import Delivery
from fulfillment.services import deliveries as delivery_services
from fulfillment.services import wakeups
from fulfillment.tasks import delivery_attempt_task
from tests.factories import LiveProductFactory
from tests.httpserver import Route
from tests.integration.worker import wait_for
from web.orders.services import order_create_from_api

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def unsent_delivery(seller_server, monkeypatch) -> Delivery:
    """A planned delivery whose broker message was never sent."""
    product = LiveProductFactory(webhook_config__url=seller_server.url("/license"))
    monkeypatch.setattr(wakeups, "delivery_enqueue", lambda *a, **k: None)
    order, _ = order_create_from_api(
        data={
            "product": product.slug,
            "quantity": 1,
            "customer_email": "twice@example.com",
            "transaction_id": "txn-twice",
        }
    )
    monkeypatch.undo()
    return order.deliveries.get()


def test_two_threads_attempting_one_delivery_at_once_send_one_request(
    seller_server, monkeypatch, fulfillment_settings
):
    fulfillment_settings(ALLOWED_PRIVATE_NETWORKS=["127.0.0.0/8"])
    seller_server.set_route("/license", Route(body="KEY", delay=0.2))
    delivery = unsent_delivery(seller_server, monkeypatch)
    start = threading.Barrier(2)

    def attempt():
        start.wait()
        try:
            delivery_services.delivery_attempt(delivery_pk=delivery.pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    delivery.refresh_from_db()
    assert delivery.status == "succeeded"
    assert delivery.attempt_count == 1
    assert len(seller_server.requests_to("/license")) == 1


def test_the_same_task_enqueued_twice_on_a_real_worker_sends_one_request(
    worker, seller_server, monkeypatch
):
    seller_server.set_route("/license", Route(body="KEY", delay=0.2))
    delivery = unsent_delivery(seller_server, monkeypatch)

    delivery_attempt_task.delay(delivery.pk)
    delivery_attempt_task.delay(delivery.pk)

    wait_for(
        lambda: Delivery.objects.get(pk=delivery.pk).status == "succeeded",
        timeout=30,
        what="the delivery",
    )
    # Give the second message time to be consumed too.
    wait_for(
        lambda: worker.log().count("delivery_attempt_task") >= 4,
        timeout=15,
        what="both tasks to finish",
    )
    assert len(seller_server.requests_to("/license")) == 1
