"""What happened in a run, read back: the orders, deliveries and attempts in
PostgreSQL, the emails the file backend wrote, the requests the sellers' servers
recorded and the lines the processes logged.

Every time is a wall-clock float (seconds since the epoch), so the database's,
the seller's and the harness's times compare directly (one machine, one clock).
"""

from __future__ import annotations

import email
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from emails.models import EmailStatus
from fulfillment.models import Delivery, DeliveryAttempt
from orders.models import FulfillmentStatus, Order

# Django's file email backend ends every message with this line.
MAIL_SEPARATOR = b"\n" + b"-" * 79 + b"\n"
# The recovery lines the issue asks to count, by what they mean.
LOG_PATTERNS = {
    "dispatcher_reenqueued": "Dispatcher re-enqueued",
    "worker_stopped_during_attempt": "worker stopped during attempt",
    "email_dispatcher_reenqueued": "Email dispatcher re-enqueued",
    "lease_lost": "lease lost; result recorded only",
    "enqueue_failed": "Could not enqueue",
    "email_send_failed": "sending the email failed",
    "error_lines": '"level": "ERROR"',
    "critical_lines": '"level": "CRITICAL"',
}


def _epoch(value: datetime | None) -> float | None:
    return value.timestamp() if value else None


@dataclass
class OrderFacts:
    transaction_id: str
    pk: int
    product: str
    quantity: int
    customer_email: str
    completed_at: float
    fulfillment_status: str
    email_status: str
    email_sent_at: float | None
    deliveries: list[dict] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return (
            self.fulfillment_status == FulfillmentStatus.FULFILLED
            and self.email_status == EmailStatus.SENT
        )

    @property
    def latency(self) -> float | None:
        """Order completed → email recorded, in seconds."""
        if self.email_sent_at is None:
            return None
        return self.email_sent_at - self.completed_at

    @property
    def last_due(self) -> float | None:
        """When the last attempt of its slowest delivery was due (the latest
        `DeliveryAttempt.due_at` among its deliveries' last attempts)."""
        dues = [d["attempts"][-1]["due_at"] for d in self.deliveries if d["attempts"]]
        dues = [due for due in dues if due is not None]
        return max(dues) if dues else None

    @property
    def last_due_to_email(self) -> float | None:
        if self.email_sent_at is None or self.last_due is None:
            return None
        return self.email_sent_at - self.last_due

    @property
    def last_scheduled_to_email(self) -> float | None:
        """As `last_due_to_email`, but an attempt made after lost claims counts
        from the first lost claim of that run (its row's start, the claim's
        time: the interrupted row stores no due time), not from the recovery
        that made it due again."""
        dues = [_scheduled_due(d["attempts"]) for d in self.deliveries]
        dues = [due for due in dues if due is not None]
        if self.email_sent_at is None or not dues:
            return None
        return self.email_sent_at - max(dues)


def _scheduled_due(attempts: list[dict]) -> float | None:
    if not attempts:
        return None
    first = len(attempts) - 1
    while first > 0 and attempts[first - 1]["error_kind"] == "interrupted":
        first -= 1
    if first == len(attempts) - 1:
        return attempts[first]["due_at"]
    return attempts[first]["started_at"]


def orders_read(tag: str) -> list[OrderFacts]:
    """The run's orders (transaction ids `tag-…`) with deliveries and attempts."""
    rows = Order.objects.filter(transaction_id__startswith=f"{tag}-").values(
        "pk", "transaction_id", "product__slug", "quantity", "customer_email",
        "completed_at", "fulfillment_status", "email__status", "email__sent_at",
    )  # fmt: skip
    orders = {
        row["pk"]: OrderFacts(
            transaction_id=row["transaction_id"],
            pk=row["pk"],
            product=row["product__slug"],
            quantity=row["quantity"],
            customer_email=row["customer_email"],
            completed_at=_epoch(row["completed_at"]),
            fulfillment_status=row["fulfillment_status"],
            email_status=row["email__status"] or EmailStatus.NOT_SENT,
            email_sent_at=_epoch(row["email__sent_at"]),
        )
        for row in rows
    }
    for delivery in _deliveries_read(list(orders)):
        orders[delivery.pop("order_id")].deliveries.append(delivery)
    return sorted(orders.values(), key=lambda order: order.transaction_id)


def _deliveries_read(order_pks: list[int]) -> list[dict]:
    deliveries = list(
        Delivery.objects.filter(order__in=order_pks)
        .order_by("pk")
        .values(
            "pk", "delivery_id", "order_id", "status", "attempt_count",
            "lost_claims", "created_at", "succeeded_at",
        )
    )  # fmt: skip
    attempts = defaultdict(list)
    for attempt in (
        DeliveryAttempt.objects.filter(delivery__order__in=order_pks)
        .order_by("delivery_id", "number")
        .values(
            "delivery_id", "number", "error_kind", "response_status",
            "due_at", "started_at", "duration_ms", "succeeded",
        )
    ):  # fmt: skip
        pk = attempt.pop("delivery_id")
        attempt["due_at"] = _epoch(attempt["due_at"])
        attempt["started_at"] = _epoch(attempt["started_at"])
        attempts[pk].append(attempt)
    for delivery in deliveries:
        delivery["created_at"] = _epoch(delivery["created_at"])
        delivery["succeeded_at"] = _epoch(delivery["succeeded_at"])
        delivery["attempts"] = attempts[delivery.pop("pk")]
    return deliveries


def orders_wait(
    tag: str, *, expected: int, not_before: float, timeout: float, log
) -> dict:
    """Poll until `expected` orders of the run are fulfilled and emailed, and
    `not_before` has passed (so that a late second email would be on disk), or
    until `timeout` seconds."""
    started = time.time()
    run = Order.objects.filter(transaction_id__startswith=f"{tag}-")
    last_said = 0.0
    while True:
        emailed = run.filter(email__status=EmailStatus.SENT).count()
        done = emailed >= expected and time.time() >= not_before
        if done or time.time() - started > timeout:
            return {
                "done": done,
                "waited_s": round(time.time() - started, 1),
                "emailed": emailed,
            }
        if time.time() - last_said > 10:
            log(f"waiting: {emailed} of {expected} orders emailed")
            last_said = time.time()
        time.sleep(1.0)


def mail_read(folder: Path) -> list[dict]:
    """Every message the file backend wrote: To, Message-ID, Subject."""
    messages = []
    for path in sorted(folder.glob("*.log")) if folder.exists() else []:
        for chunk in path.read_bytes().split(MAIL_SEPARATOR):
            if not chunk.strip():
                continue
            message = email.message_from_bytes(chunk.lstrip(b"\n"))
            messages.append(
                {
                    "to": message["To"],
                    "message_id": message["Message-ID"],
                    "subject": message["Subject"],
                    "file": path.name,
                }
            )
    return messages


def logs_count(folder: Path) -> dict[str, int]:
    """How many lines of the processes' logs match each of LOG_PATTERNS."""
    counts = Counter({name: 0 for name in LOG_PATTERNS})
    for path in folder.glob("*.log"):
        for line in path.read_text(errors="replace").splitlines():
            for name, pattern in LOG_PATTERNS.items():
                if pattern in line:
                    counts[name] += 1
    return dict(counts)


def log_lines(folder: Path, needle: str, *, limit: int = 20) -> list[str]:
    """The first `limit` log lines mentioning `needle` (a delivery or order id),
    each prefixed with its file's name, for the report of a failed bound."""
    found = []
    for path in sorted(folder.glob("*.log")):
        for line in path.read_text(errors="replace").splitlines():
            if needle in line:
                found.append(f"{path.stem}: {line[:400]}")
                if len(found) >= limit:
                    return found
    return found
