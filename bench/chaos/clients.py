"""The payment provider's side: orders through `POST /api/v1/orders`, paced, from
several client threads, each retried until it is answered.

Even-numbered clients keep their connection alive between orders (a busy
provider's connection pool); odd-numbered ones open a new connection for each
request (`Connection: close`, a provider calling from short-lived workers), so
that a restarted gunicorn is met both ways. A client retries a connection
error, a timeout, a 5xx or a 429 (after its Retry-After) with the same body and
`transaction_id` until it gets 201 (created) or 200 (the order existed: an
earlier try was created but its answer lost). Any other answer is a harness
error, recorded and not retried. Times are wall-clock (`time.time()`),
comparable with the database's and the seller's.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import requests

from bench.chaos.catalogue import Catalogue

# Seconds to connect and to read an answer; a try past them is retried.
TIMEOUTS = (3.05, 15)
RETRY_PAUSE = 0.5
# A client that still has no answer after this long gives up on that order.
GIVE_UP_SECONDS = 180


@dataclass(frozen=True)
class OrderPlan:
    transaction_id: str
    product: str  # slug
    quantity: int
    customer_email: str
    offset: float  # seconds after the start of the load

    def body(self) -> dict:
        return {
            "product": self.product,
            "quantity": self.quantity,
            "customer_email": self.customer_email,
            "transaction_id": self.transaction_id,
        }


@dataclass
class OrderSent:
    plan: OrderPlan
    first_try_at: float = 0.0
    answered_at: float = 0.0
    status: int | None = None
    retries: Counter[str] = field(default_factory=Counter)
    error: str = ""
    # How late its first try went out against its plan (its client was busy).
    lag: float = 0.0

    @property
    def repeat(self) -> bool:
        """Answered 200: an earlier try had created it."""
        return self.status == 200


def orders_plan(
    catalogue: Catalogue,
    *,
    tag: str,
    count: int,
    seconds: float,
    products: list[str] | None = None,
    start: float = 0.0,
) -> list[OrderPlan]:
    """`count` orders evenly over `seconds`, cycling through `products` (all by
    default) and, per product, through its quantities."""
    slugs = products or list(catalogue.specs)
    plans = []
    for i in range(count):
        spec = catalogue.specs[slugs[i % len(slugs)]]
        quantity = spec.quantities[(i // len(slugs)) % len(spec.quantities)]
        plans.append(
            OrderPlan(
                transaction_id=f"{tag}-{i:04d}",
                product=spec.slug,
                quantity=quantity,
                customer_email=f"buyer-{tag}-{i:04d}@example.com",
                offset=start + i * seconds / count,
            )
        )
    return plans


def orders_send(
    *, base_url: str, token: str, plans: list[OrderPlan], t0: float, clients: int
) -> list[OrderSent]:
    """Send every plan at t0 + its offset (or as soon as its client is free)."""
    ordered = sorted(plans, key=lambda plan: plan.offset)
    sent = [OrderSent(plan) for plan in ordered]
    threads = [
        threading.Thread(
            target=_client,
            args=(base_url, token, sent[k::clients], t0, k % 2 == 0),
            daemon=True,
        )
        for k in range(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sent


def _client(
    base_url: str, token: str, mine: list[OrderSent], t0: float, keep_alive: bool
) -> None:
    with requests.Session() as session:
        session.headers.update(
            {
                "Authorization": f"Bearer {token}",
                # We play the https proxy in front of gunicorn.
                "X-Forwarded-Proto": "https",
            }
        )
        if not keep_alive:
            session.headers["Connection"] = "close"
        for order in mine:
            due = t0 + order.plan.offset
            time.sleep(max(0.0, due - time.time()))
            order.lag = max(0.0, time.time() - due)
            _send(session, f"{base_url}/api/v1/orders", order)


def _send(session: requests.Session, url: str, order: OrderSent) -> None:
    order.first_try_at = time.time()
    while time.time() - order.first_try_at < GIVE_UP_SECONDS:
        try:
            answer = session.post(url, json=order.plan.body(), timeout=TIMEOUTS)
        except requests.RequestException as exc:
            order.retries[type(exc).__name__] += 1
            time.sleep(RETRY_PAUSE)
            continue
        if answer.status_code in (200, 201):
            order.status, order.answered_at = answer.status_code, time.time()
            return
        if answer.status_code < 500 and answer.status_code != 429:
            order.status, order.error = answer.status_code, answer.text[:300]
            return
        order.retries[str(answer.status_code)] += 1
        time.sleep(float(answer.headers.get("Retry-After") or RETRY_PAUSE))
    order.error = f"no answer after {GIVE_UP_SECONDS} s"


def clients_summary(sent: list[OrderSent]) -> dict:
    """What the clients saw: answers, retries by reason, repeats, lag."""
    retries: Counter[str] = Counter()
    for order in sent:
        retries.update(order.retries)
    return {
        "orders": len(sent),
        "created_201": sum(order.status == 201 for order in sent),
        "repeats_200": sum(order.repeat for order in sent),
        "errors": [f"{o.plan.transaction_id}: {o.error}" for o in sent if o.error],
        "orders_retried": sum(bool(order.retries) for order in sent),
        "retries": sum(retries.values()),
        "retries_by_reason": dict(retries),
        "longest_answer_s": round(
            max(
                (o.answered_at - o.first_try_at for o in sent if o.answered_at),
                default=0,
            ),
            2,
        ),
        "max_lag_s": round(max((o.lag for o in sent), default=0), 2),
    }
