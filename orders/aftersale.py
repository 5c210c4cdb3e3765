"""An order's state after the sale, derived in one place: from its fulfillment
status and its after-sale columns (refunded amount, dispute, cancellation).

`order_state` reads one order; `order_state_q` is the same rule as a filter for
lists. Both follow one precedence, highest first: cancelled, charged back,
disputed, refunded, partially refunded, then the fulfillment status. Nothing
here writes (the writes are in `orders.services`) or knows of Django beyond
model fields and Q objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import models
from django.db.models import F, Q

from .models import ActorKind, DisputeStatus, FulfillmentStatus, Order

ZERO = Decimal("0.00")


class OrderState(models.TextChoices):
    PENDING = "pending", "Pending"
    FULFILLED = "fulfilled", "Fulfilled"
    FAILED = "failed", "Failed"
    MANUAL = "manual", "Delivered by the seller"
    PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"
    REFUNDED = "refunded", "Refunded"
    DISPUTED = "disputed", "Disputed"
    CHARGED_BACK = "charged_back", "Charged back"
    CANCELLED = "cancelled", "Cancelled"


# The after-sale states, highest precedence first, each with its own condition.
_AFTER_SALE: list[tuple[str, Q]] = [
    (OrderState.CANCELLED, Q(cancelled_at__isnull=False)),
    (OrderState.CHARGED_BACK, Q(dispute_status=DisputeStatus.LOST)),
    (OrderState.DISPUTED, Q(dispute_status=DisputeStatus.OPENED)),
    (OrderState.REFUNDED, Q(refunded_amount__gt=0, refunded_amount__gte=F("total"))),
    (
        OrderState.PARTIALLY_REFUNDED,
        Q(refunded_amount__gt=0, refunded_amount__lt=F("total")),
    ),
]


def _after_sale_state(order: Order) -> str | None:
    refunded = order.refunded_amount
    if order.cancelled_at is not None:
        return OrderState.CANCELLED
    if order.dispute_status == DisputeStatus.LOST:
        return OrderState.CHARGED_BACK
    if order.dispute_status == DisputeStatus.OPENED:
        return OrderState.DISPUTED
    if refunded > 0 and refunded >= order.total:
        return OrderState.REFUNDED
    if refunded > 0:
        return OrderState.PARTIALLY_REFUNDED
    return None


def order_state(order: Order) -> str:
    """The one word the pages, the API and the filters use for the order."""
    return _after_sale_state(order) or order.fulfillment_status


def order_state_q(state: str) -> Q:
    """The orders in `state`, as `order_state` decides it (same precedence)."""
    higher = Q(pk__in=[])
    for name, condition in _AFTER_SALE:
        if name == state:
            return condition & ~higher
        higher |= condition
    return Q(fulfillment_status=state) & ~higher


def order_closed_q() -> Q:
    """Orders nothing more is delivered for: cancelled, refunded in full or
    charged back. Their deliveries are stopped and no delay notice is sent."""
    return (
        Q(cancelled_at__isnull=False)
        | Q(dispute_status=DisputeStatus.LOST)
        | Q(refunded_amount__gt=0, refunded_amount__gte=F("total"))
    )


def order_is_closed(order: Order) -> bool:
    return (
        order.cancelled_at is not None
        or order.dispute_status == DisputeStatus.LOST
        or (order.refunded_amount > 0 and order.refunded_amount >= order.total)
    )


def order_refundable(order: Order) -> Decimal:
    """What can still be refunded: the total less what was refunded and what a
    lost dispute took back. An open dispute takes nothing yet."""
    charged_back = ZERO
    if order.dispute_status == DisputeStatus.LOST:
        charged_back = order.dispute_amount or ZERO
    return max(order.total - order.refunded_amount - charged_back, ZERO)


def order_cancellable(order: Order) -> bool:
    """Not cancelled yet and not delivered: the seller may still stop it."""
    return order.cancelled_at is None and order.fulfillment_status in (
        FulfillmentStatus.PENDING,
        FulfillmentStatus.FAILED,
    )


@dataclass(frozen=True)
class Actor:
    """Who changed an order after the sale, as plain values for the services."""

    kind: str
    name: str
    user_id: int | None = None
    api_token_id: int | None = None

    @classmethod
    def provider(cls, *, token_id: int, name: str) -> Actor:
        return cls(kind=ActorKind.PROVIDER, name=name, api_token_id=token_id)

    @classmethod
    def seller(cls, *, user_id: int, username: str) -> Actor:
        return cls(kind=ActorKind.SELLER, name=username, user_id=user_id)

    @classmethod
    def staff(cls, *, user_id: int, username: str) -> Actor:
        return cls(kind=ActorKind.STAFF, name=username, user_id=user_id)
