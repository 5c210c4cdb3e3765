"""The crash suite: orders keep flowing while workers die and the broker forgets.

300 orders (400 deliveries) go through real `celery worker` processes while the
test kills the fulfillment worker with SIGKILL twice (restarting it) and empties
the broker once. The dispatchers that beat runs in production are called here
every second. At the end every order is fulfilled, every customer got exactly
one email, and every request the seller's server saw for a delivery carried that
delivery's one `webhook-id`.

Email has its own worker, as in production (`--queues email`); it loses its
messages in the broker flush like everyone else, but is not killed: what a worker
death mid-send does is decided in fulfillment/services/emails.py and tested in
tests/fulfillment/services/test_emails.py.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from urllib.parse import parse_qs

import pytest

from fulfillment.models import Delivery
from fulfillment.services.emails import order_emails_dispatch_due
from fulfillment.services.wakeups import deliveries_dispatch_due
from orders.models import Order
from tests.factories import LiveProductFactory
from tests.httpserver import Route
from tests.integration.test_full_flow import read_mail
from tests.integration.worker import (
    FAST_RECOVERY_ENV,
    Worker,
    empty_broker,
    purge_queues,
)
from web.orders.services import order_create_from_api

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

ORDERS = 300
# Orders placed per tick (0.1 s), so crashes land while work is still arriving.
BATCH = 5


def slow_license(request) -> Route:
    # A little latency keeps deliveries in flight when the worker is killed.
    return Route(body=f"KEY-{request.header('webhook-id')[-10:]}", delay=0.03)


def products(seller_server):
    url = seller_server.url("/license")
    multibuy = LiveProductFactory(
        webhook_config__url=url, webhook_config__separate_multibuy=True
    )
    single = LiveProductFactory(webhook_config__url=url)
    return multibuy, single


def place_order(i: int, multibuy, single) -> Order:
    product, quantity = (multibuy, 2) if i % 3 == 0 else (single, 1)
    order, _ = order_create_from_api(
        data={
            "product": product.slug,
            "quantity": quantity,
            "customer_email": f"customer{i}@example.com",
            "transaction_id": f"crash-{i}",
        }
    )
    return order


def fulfilled_count() -> int:
    return Order.objects.filter(fulfillment_status="fulfilled").count()


def run_until_done(place, events, *, timeout: float) -> float:
    """Place orders in small batches while firing each crash event once its
    progress threshold is reached; call the dispatchers every second; stop when
    every order's email is sent."""
    started, last_dispatch, placed = time.monotonic(), 0.0, 0
    while time.monotonic() - started < timeout:
        for _ in range(min(BATCH, ORDERS - placed)):
            place(placed)
            placed += 1
        done = fulfilled_count()
        for threshold, event in list(events):
            if done >= threshold:
                print(f"{event.__name__} at {done} fulfilled of {placed} placed")
                event()
                events.remove((threshold, event))
        if time.monotonic() - last_dispatch >= 1:
            deliveries_dispatch_due()
            order_emails_dispatch_due()
            last_dispatch = time.monotonic()
        finished = placed == ORDERS and not events
        if finished and not Order.objects.exclude(email__status="sent").exists():
            return time.monotonic() - started
        time.sleep(0.1)
    raise AssertionError(
        f"not done after {timeout} s: {fulfilled_count()} fulfilled, "
        f"{Order.objects.filter(email__status='sent').count()} emailed"
    )


def test_every_order_is_fulfilled_once_through_kills_and_a_broker_flush(
    stack, seller_server, tmp_path, fast_recovery, capsys
):
    seller_server.set_route("/license", slow_license)
    purge_queues()
    mail_dir = tmp_path / "mail"
    email_worker = Worker(
        mail_dir=mail_dir, extra_env=FAST_RECOVERY_ENV, queues=("email",), name="email"
    ).start()

    def fulfillment_worker() -> Worker:
        return Worker(
            mail_dir=mail_dir,
            extra_env=FAST_RECOVERY_ENV,
            queues=("fulfillment",),
            name="fulfillment",
            concurrency=8,
        ).start()

    workers = [fulfillment_worker()]
    counts = Counter()

    def kill_and_restart():
        workers[-1].kill()
        counts["kills"] += 1
        workers.append(fulfillment_worker())

    def flush_broker():
        empty_broker()
        counts["broker flushes"] += 1

    multibuy, single = products(seller_server)
    orders = []
    try:
        events = [
            (ORDERS // 5, kill_and_restart),
            (ORDERS // 3, flush_broker),
            (ORDERS // 2, kill_and_restart),
        ]
        elapsed = run_until_done(
            lambda i: orders.append(place_order(i, multibuy, single)),
            events,
            timeout=300,
        )
    finally:
        for worker in [*workers, email_worker]:
            worker.stop()

    deliveries = Delivery.objects.filter(is_test=False)
    requests = seller_server.requests_to("/license")
    ids_by_delivery = defaultdict(set)
    for request in requests:
        delivery_id = parse_qs(request.body.decode())["delivery_id"][0]
        ids_by_delivery[delivery_id].add(request.header("webhook-id"))
    emails = Counter(message["To"] for message in read_mail(mail_dir))
    with capsys.disabled():  # the figures belong in the test run's output
        print(
            f"\ncrash suite [{stack}]: {len(orders)} orders, {deliveries.count()} "
            f"deliveries, {len(requests)} requests seen by the seller "
            f"({len(requests) - len(ids_by_delivery)} repeats of a delivery), "
            f"{sum(emails.values())} emails, {counts['kills']} SIGKILLs, "
            f"{counts['broker flushes']} broker flush, done in {elapsed:.0f} s"
        )
    assert counts == {"kills": 2, "broker flushes": 1}
    assert fulfilled_count() == ORDERS
    assert deliveries.exclude(status="succeeded").count() == 0
    assert len(ids_by_delivery) == deliveries.count()
    assert all(ids == {delivery} for delivery, ids in ids_by_delivery.items())
    assert sorted(emails) == sorted(o.customer_email for o in orders)
    assert set(emails.values()) == {1}
