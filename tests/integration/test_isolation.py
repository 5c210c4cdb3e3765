"""One seller's hanging server must not slow anybody else's deliveries.

A real Celery worker (4 threads) takes deliveries for two sellers on two servers:
one hangs far past the total timeout, the other answers at once. The per-endpoint
in-flight limit keeps the hanging server from taking every worker slot, so the
healthy seller's customers get their emails while the hanging ones still wait.
"""

from __future__ import annotations

import time

import pytest

from orders.models import Order
from tests.factories import LiveProductFactory
from tests.httpserver import Route, SellerServer
from tests.integration.worker import Worker, purge_queues, wait_for
from web.orders.services import order_create_from_api

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

HANG_SECONDS = 60  # far past the worker's total timeout
TOTAL_TIMEOUT = 5
MAX_IN_FLIGHT = 2  # of the worker's 4 slots


@pytest.fixture
def isolated_worker(stack, transactional_db, tmp_path):
    purge_queues()
    worker = Worker(
        mail_dir=tmp_path / "mail",
        extra_env={
            "FULFILLMENT_TOTAL_TIMEOUT": str(TOTAL_TIMEOUT),
            "FULFILLMENT_ENDPOINT_MAX_IN_FLIGHT": str(MAX_IN_FLIGHT),
        },
    ).start()
    yield worker
    worker.stop()


@pytest.fixture
def healthy_server():
    with SellerServer() as server:
        server.set_route(
            "/license", lambda r: Route(body=f"KEY-{r.header('webhook-id')[-8:]}")
        )
        yield server


def place_orders(url: str, prefix: str, count: int) -> list[int]:
    product = LiveProductFactory(webhook_config__url=url)
    return [
        order_create_from_api(
            data={
                "product": product.slug,
                "quantity": 1,
                "customer_email": f"{prefix}{i}@example.com",
                "transaction_id": f"txn-{prefix}-{i}",
            }
        )[0].pk
        for i in range(count)
    ]


def _most_at_once(requests) -> int:
    """The most requests on the wire together. The server never answers, so each
    is on the wire from its arrival until our deadline (TOTAL_TIMEOUT) cuts it;
    once cut, its slot goes to the next delivery (that is not a breach). The
    half-second margin absorbs a new request that arrives as the old one ends."""
    times = sorted(r.received_at for r in requests)
    window = TOTAL_TIMEOUT - 0.5
    return max(sum(1 for t in times if end - window < t <= end) for end in times)


def test_a_hanging_seller_does_not_hold_up_another_sellers_deliveries(
    isolated_worker, seller_server, healthy_server, capsys
):
    seller_server.set_route("/license", Route(delay=HANG_SECONDS, body="LATE"))
    hanging = place_orders(seller_server.url("/license"), "hang", 6)
    started = time.monotonic()
    healthy = place_orders(healthy_server.url("/license"), "ok", 5)

    def healthy_emails_sent():
        sent = Order.objects.filter(pk__in=healthy, email__status="sent")
        return sent.count() == len(healthy)

    wait_for(
        healthy_emails_sent,
        timeout=TOTAL_TIMEOUT * 2,
        what=f"the healthy seller's emails; log:\n{isolated_worker.log()[-3000:]}",
    )
    elapsed = time.monotonic() - started

    waiting = Order.objects.filter(pk__in=hanging).exclude(fulfillment_status="pending")
    assert list(waiting) == []
    hung = seller_server.requests_to("/license")
    assert hung  # they were tried, and hang
    # Soft limit: on PostgreSQL two simultaneous claims may exceed it by one.
    assert _most_at_once(hung) <= MAX_IN_FLIGHT + 1
    assert len(healthy_server.requests_to("/license")) == len(healthy)
    with capsys.disabled():  # the figures belong in the test run's output
        print(
            f"\nisolation: healthy: {len(healthy)} orders emailed in "
            f"{elapsed:.1f} s; hanging: {len(seller_server.requests)} requests "
            "on the wire, none fulfilled"
        )
    # Sooner than one hanging attempt's deadline: no healthy delivery waited for
    # a worker slot a hanging one held (without the limit this takes > 6 s).
    assert elapsed < TOTAL_TIMEOUT
