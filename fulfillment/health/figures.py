"""What the health of a product is made of: plain values, no queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings


@dataclass(frozen=True)
class LastFailure:
    at: datetime
    delivery_id: str
    message: str


@dataclass(frozen=True)
class ProductHealth:
    deliveries: int = 0
    succeeded: int = 0
    failed: int = 0
    p50_ms: int | None = None
    p95_ms: int | None = None
    last_failure: LastFailure | None = None
    # Set while the endpoint's circuit is open: requests wait until then (the
    # next probe), and why it opened (the last failure that counted).
    circuit_open_until: datetime | None = None
    circuit_reason: str = ""

    @property
    def probe_seconds(self) -> int:
        """The longest wait between two tries while the server does not answer."""
        conf = settings.FULFILLMENT
        return max(conf["CIRCUIT_MAX_OPEN_SECONDS"], conf["CIRCUIT_OPEN_SECONDS"])

    @property
    def finished(self) -> int:
        return self.succeeded + self.failed

    @property
    def success_percent(self) -> int | None:
        """Whole percent of finished deliveries that succeeded, rounded down so
        that a single failure never reads as 100 %; None when none finished."""
        if not self.finished:
            return None
        return 100 * self.succeeded // self.finished

    @property
    def circuit_open(self) -> bool:
        return self.circuit_open_until is not None
