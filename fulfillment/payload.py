"""What is sent to the seller's server: the standard fields plus the seller's custom fields."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class OrderFacts:
    """The order data a delivery may send, independent of the database.

    Real deliveries build it from their Order; test deliveries store a sample of it
    (`Delivery.test_facts`) so that they go through exactly the same code path.
    """

    order_id: str
    transaction_id: str
    checkout_hash: str
    customer_email: str
    customer_name: str
    product_id: int
    product_name: str
    quantity: int
    unit_price: str  # Decimal as a string, e.g. "19.00"
    currency: str
    event_time: datetime
    is_test: bool = False

    def to_json(self) -> dict:
        data = asdict(self)
        data["event_time"] = self.event_time.isoformat()
        return data

    @classmethod
    def from_json(cls, data: dict) -> OrderFacts:
        return cls(**{**data, "event_time": datetime.fromisoformat(data["event_time"])})


@dataclass(frozen=True)
class OutboundRequest:
    """One HTTP request exactly as it goes out (GET: the query string is in `url`)."""

    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
