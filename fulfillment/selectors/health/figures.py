"""What the health of a product is made of: plain values, no queries."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from datetime import date, datetime

from django.conf import settings


@dataclass(frozen=True)
class LastFailure:
    at: datetime
    delivery_id: str
    message: str


@dataclass(frozen=True, kw_only=True)
class Tally:
    """Real deliveries created in a span of time, by where they stand now."""

    deliveries: int = 0
    succeeded: int = 0
    # Failed for good, or fulfilled by hand (the server did not deliver).
    failed: int = 0
    # Pending, in flight or retrying: no outcome yet.
    in_progress: int = 0
    # Failed for good and nobody has fulfilled, retried or cancelled them yet:
    # customers are waiting for the seller.
    needs_attention: int = 0

    @property
    def finished(self) -> int:
        return self.succeeded + self.failed

    @property
    def cancelled(self) -> int:
        return self.deliveries - self.finished - self.in_progress

    @property
    def success_percent(self) -> int | None:
        """Whole percent of finished deliveries that succeeded, rounded down so
        that a single failure never reads as 100 %; None when none finished."""
        if not self.finished:
            return None
        return 100 * self.succeeded // self.finished


TALLY_FIELDS = tuple(item.name for item in fields(Tally))


def summed(tallies: Iterable[Tally]) -> dict[str, int]:
    """The counts of `tallies` added up, as keyword arguments for any Tally."""
    tallies = list(tallies)
    return {name: sum(getattr(t, name) for t in tallies) for name in TALLY_FIELDS}


@dataclass(frozen=True, kw_only=True)
class DayTally(Tally):
    day: date


@dataclass(frozen=True, kw_only=True)
class DayHealth(DayTally):
    # Of the attempts started that day that got an answer; None without any.
    p95_ms: int | None = None


@dataclass(frozen=True, kw_only=True)
class ProductHealth(Tally):
    p50_ms: int | None = None
    p95_ms: int | None = None
    last_failure: LastFailure | None = None
    # Set while the endpoint's circuit is open: requests wait until then (the
    # next probe), and why it opened (the last failure that counted).
    circuit_open_until: datetime | None = None
    circuit_reason: str = ""
    # The window's days, oldest first; the counts above are their sums.
    days: tuple[DayHealth, ...] = ()

    @property
    def probe_seconds(self) -> int:
        """The longest wait between two tries while the server does not answer."""
        conf = settings.FULFILLMENT
        return max(conf["CIRCUIT_MAX_OPEN_SECONDS"], conf["CIRCUIT_OPEN_SECONDS"])

    @property
    def circuit_open(self) -> bool:
        return self.circuit_open_until is not None


@dataclass(frozen=True, kw_only=True)
class SellerHealth(Tally):
    """All of a seller's products together, for the top of the product list."""

    # Of all the products' answered attempts in the window (not an average of
    # the products' own p95s, which would weigh a quiet product like a busy one).
    p95_ms: int | None = None
    webhook_products: int = 0
    days: tuple[DayTally, ...] = ()
    products: dict[int, ProductHealth] = field(default_factory=dict)
