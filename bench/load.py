"""Making orders and waiting for their emails, as the scenarios need it.

Orders are placed through `web.orders.services.order_create_from_api`, the service of
the orders API through which payment providers create paid orders (quantity 1,
so one delivery and one email each; one transaction per order, as the peers'),
from several threads of the driver while the workers run. Each batch has a tag in
its customers' email domain (`c17@b1.bench.example`), so the database says which
orders are whose. "Done" is read from the database (the order email's status and
sent_at) and from the counting email backend's Redis counter; waiting polls
both until done or a timeout, which is reported as such.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection
from django.db.models import Max, QuerySet
from django.utils import timezone

from bench.email_backend import emails_counted
from emails.models import EmailStatus
from orders.models import Order
from products.models import Product
from web.orders.services import order_create_from_api


def batch(tag: str) -> QuerySet[Order]:
    return Order.objects.filter(customer_email__endswith=f"@{tag}.bench.example")


@dataclass
class Placed:
    """What placing a batch of orders did."""

    count: int
    started: datetime
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)
    # Paced arrivals: how late the latest order started against its schedule.
    max_lag_ms: float = 0.0

    def as_dict(self) -> dict:
        return {
            "orders": self.count,
            "seconds": round(self.seconds, 2),
            "orders_per_second": round(self.count / self.seconds, 1),
            "errors": len(self.errors),
            "first_error": self.errors[0] if self.errors else None,
            "max_lag_ms": round(self.max_lag_ms, 1),
        }


def orders_place(
    *,
    pick: Callable[[int], Product],
    count: int,
    tag: str,
    threads: int = 4,
    rate: float | None = None,
) -> Placed:
    """Place `count` orders from `threads` threads; order i is for `pick(i)`.

    Without `rate`, as fast as the threads go (a burst). With it, order i starts
    at t0 + i / rate (paced arrivals): thread k places orders k, k + threads, ...
    """
    placed = Placed(count=count, started=timezone.now())
    t0 = time.monotonic()
    lock = threading.Lock()

    def work(first: int) -> None:
        try:
            for i in range(first, count, threads):
                lag = _wait_turn(t0, i, rate)
                try:
                    # As payment providers create paid orders in production:
                    # the orders API's service, one transaction per order.
                    order_create_from_api(
                        data={
                            "product": pick(i).slug,
                            "quantity": 1,
                            "customer_email": f"c{i}@{tag}.bench.example",
                            "transaction_id": f"{tag}-{i}",
                        }
                    )
                except Exception as exc:
                    with lock:
                        placed.errors.append(f"{type(exc).__name__}: {exc}")
                with lock:
                    placed.max_lag_ms = max(placed.max_lag_ms, lag * 1000)
        finally:
            connection.close()

    pool = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    placed.seconds = time.monotonic() - t0
    return placed


def _wait_turn(t0: float, i: int, rate: float | None) -> float:
    """Sleep until order i's arrival time; returns how late it starts (s)."""
    if rate is None:
        return 0.0
    due = t0 + i / rate
    now = time.monotonic()
    if due > now:
        time.sleep(due - now)
        return 0.0
    return now - due


def emails_wait(
    orders: QuerySet[Order], *, expected: int, timeout: float, counter: int | None
) -> dict:
    """Poll until `expected` of `orders` have their email sent (and the Redis
    counter reached `counter`, if given), or `timeout` seconds passed."""
    deadline = time.monotonic() + timeout
    started = time.monotonic()
    while True:
        counted = emails_counted()
        # The database is asked only once the counter says the emails are out:
        # polling it would add the driver's statements to the run's counts.
        counter_done = counter is None or counted >= counter
        late = time.monotonic() >= deadline
        if not (counter_done or late):
            time.sleep(0.1)
            continue
        sent = orders.filter(email__status=EmailStatus.SENT).count()
        done = sent >= expected and counter_done
        if done or late:
            return {
                "done": done,
                "timed_out": not done,
                "timeout_s": timeout,
                "emails_sent_in_db": sent,
                "emails_counted": counted,
                "expected": expected,
                "waited_s": round(time.monotonic() - started, 2),
            }
        time.sleep(0.25)


def last_email_at(orders: QuerySet[Order]) -> datetime | None:
    return orders.aggregate(last=Max("email__sent_at"))["last"]


def latencies_ms(orders: QuerySet[Order]) -> list[float]:
    """Order completed (checkout) → email recorded, for each order sent."""
    rows = orders.filter(email__status=EmailStatus.SENT).values_list(
        "completed_at", "email__sent_at"
    )
    return [(sent - completed).total_seconds() * 1000 for completed, sent in rows]


def summary(values: list[float]) -> dict:
    """n, mean, p50, p95, p99 and max, rounded; empty when there are no values."""
    if not values:
        return {"n": 0}
    if len(values) == 1:
        cuts = values * 99
    else:
        cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {
        "n": len(values),
        "mean": round(statistics.fmean(values), 1),
        "p50": round(cuts[49], 1),
        "p95": round(cuts[94], 1),
        "p99": round(cuts[98], 1),
        "max": round(max(values), 1),
    }
