"""What an operator watches: three figures that say whether customers are waiting.

Read-only queries for `manage.py fulfillment_status` and the admin's status
page. Real deliveries only: test deliveries belong to the Webhook Editor, are
sent at once by the web process and never wait in the queue.

- **Oldest due delivery**: among deliveries that should be moving now (pending
  or retrying and due, i.e. `next_attempt_at` is past or unset, or in flight),
  the one that became due the longest ago: its `next_attempt_at` (`created_at`
  if unset). Its age is how far the workers are behind. Deliveries waiting for
  a scheduled retry or held by an open circuit are not due and do not count (an
  open circuit shows below). A few seconds is normal; minutes mean too few
  workers, a stopped beat, or a broker that loses messages.
- **Failures per minute**: failed attempts started in the last 5 and the last
  15 minutes, each divided by its minutes. A rise means sellers' servers fail
  (see the open circuits and the attempts' messages), or our network does.
- **Open circuits**: endpoints whose circuit breaker holds their deliveries
  (`EndpointHealth.open_until` in the future), with how many deliveries wait
  for each.

Two counts complete them for /metrics (fulfillment/metrics.py), where a graph
shows their trend: real deliveries in each state a delivery leaves or that
wants a person (`deliveries_by_status`), and orders whose customer is owed the
email past its grace (`orders_awaiting_email`, what the email dispatcher
re-enqueues).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from django.db.models import Count, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from emails.selectors import order_emails_owed

from .models import (
    DUE_STATUSES,
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    EndpointHealth,
    ErrorKind,
)

FAILURE_WINDOWS_MINUTES = (5, 15)
# The states `deliveries_by_status` counts: each holds a delivery that is still
# moving or wants a person, so the sets stay small, and the count reads them
# alone through an index that starts with the status (`delivery_due_idx`,
# `delivery_lease_idx`). Succeeded and cancelled deliveries only accumulate;
# counting them would read most of the table on every scrape.
COUNTED_STATUSES = (
    DeliveryStatus.PENDING,
    DeliveryStatus.RETRYING,
    DeliveryStatus.IN_FLIGHT,
    DeliveryStatus.FAILED,
)


@dataclass(frozen=True)
class OldestDue:
    delivery_id: str
    status: str
    due_since: datetime
    age: timedelta

    @property
    def age_display(self) -> str:
        return format_age(self.age)


@dataclass(frozen=True)
class FailureRate:
    minutes: int
    failures: int

    @property
    def per_minute(self) -> float:
        return self.failures / self.minutes


@dataclass(frozen=True)
class OpenCircuit:
    key: str
    open_until: datetime
    consecutive_failures: int
    last_error: str
    waiting: int  # deliveries of this endpoint pending or retrying


@dataclass(frozen=True)
class OpsStatus:
    now: datetime
    oldest_due: OldestDue | None
    failure_rates: list[FailureRate]
    open_circuits: list[OpenCircuit]

    def as_dict(self) -> dict:
        oldest = self.oldest_due
        return {
            "now": self.now.isoformat(),
            "oldest_due_delivery": oldest
            and {
                "delivery_id": oldest.delivery_id,
                "status": oldest.status,
                "due_since": oldest.due_since.isoformat(),
                "age_seconds": round(oldest.age.total_seconds(), 1),
            },
            "failures_per_minute": {
                f"last_{rate.minutes}_min": round(rate.per_minute, 2)
                for rate in self.failure_rates
            },
            "failed_attempts": {
                f"last_{rate.minutes}_min": rate.failures for rate in self.failure_rates
            },
            "open_circuits": [
                {
                    "endpoint": circuit.key,
                    "open_until": circuit.open_until.isoformat(),
                    "consecutive_failures": circuit.consecutive_failures,
                    "last_error": circuit.last_error,
                    "waiting_deliveries": circuit.waiting,
                }
                for circuit in self.open_circuits
            ],
        }


def ops_status(*, now: datetime | None = None) -> OpsStatus:
    """The three figures, as of `now`."""
    now = now or timezone.now()
    return OpsStatus(
        now=now,
        oldest_due=oldest_due_delivery(now=now),
        failure_rates=[
            failure_rate(now=now, minutes=m) for m in FAILURE_WINDOWS_MINUTES
        ],
        open_circuits=open_circuits(now=now),
    )


def oldest_due_delivery(*, now: datetime) -> OldestDue | None:
    """The delivery that became due the longest ago and has not finished (see the
    module docstring); None when nothing is due."""
    due = Q(status__in=DUE_STATUSES) & (
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )
    row = (
        Delivery.objects.filter(due | Q(status=DeliveryStatus.IN_FLIGHT))
        .filter(is_test=False)
        .annotate(due_since=Coalesce("next_attempt_at", "created_at"))
        .order_by("due_since", "pk")
        .values("delivery_id", "status", "due_since")
        .first()
    )
    if row is None:
        return None
    return OldestDue(
        delivery_id=row["delivery_id"],
        status=row["status"],
        due_since=row["due_since"],
        age=max(now - row["due_since"], timedelta(0)),
    )


def failure_rate(*, now: datetime, minutes: int) -> FailureRate:
    """Failed attempts of real deliveries started in the last `minutes`."""
    failures = (
        DeliveryAttempt.objects.filter(
            succeeded=False,
            delivery__is_test=False,
            started_at__gt=now - timedelta(minutes=minutes),
            started_at__lte=now,
        )
        # Tries lost with a stopped worker of ours are logged, not seller failures.
        .exclude(error_kind=ErrorKind.INTERRUPTED)
        .count()
    )
    return FailureRate(minutes=minutes, failures=failures)


def open_circuits(*, now: datetime) -> list[OpenCircuit]:
    """Endpoints whose circuit is open now, the longest-failing first."""
    circuits = list(
        EndpointHealth.objects.filter(open_until__gt=now).order_by(
            "-consecutive_failures", "key"
        )
    )
    waiting = dict(
        Delivery.objects.filter(
            endpoint_key__in=[c.key for c in circuits],
            status__in=DUE_STATUSES,
            is_test=False,
        )
        .order_by()  # no default ordering in the GROUP BY
        .values("endpoint_key")
        .annotate(n=Count("pk"))
        .values_list("endpoint_key", "n")
    )
    return [
        OpenCircuit(
            key=c.key,
            open_until=cast(datetime, c.open_until),  # open_until > now above
            consecutive_failures=c.consecutive_failures,
            last_error=c.last_error,
            waiting=waiting.get(c.key, 0),
        )
        for c in circuits
    ]


def deliveries_by_status() -> dict[str, int]:
    """Real deliveries in each of COUNTED_STATUSES, 0 for a state with none."""
    counts = dict(
        Delivery.objects.filter(status__in=COUNTED_STATUSES, is_test=False)
        .order_by()  # no default ordering in the GROUP BY
        .values("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    return {status: counts.get(status, 0) for status in COUNTED_STATUSES}


def orders_awaiting_email(*, now: datetime) -> int:
    """Orders whose email is owed past its grace and that nobody is sending."""
    return order_emails_owed(now=now).count()


def format_age(age: timedelta) -> str:
    """ "4 s", "3 min 12 s", "2 h 5 min": short enough for a terminal column."""
    seconds = int(age.total_seconds())
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"
