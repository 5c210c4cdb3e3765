"""Alerts: the seller's account-wide webhook, told about events after the sale.

A seller sets one Alerts URL and chooses events. `alert_emit`, called inside the
transaction of the change it reports, records one `AlertDelivery` per event
(never two: the seller, the type and the subject are unique together) and wakes a
worker after commit; the engine (`alert_engine`) then sends it like a fulfillment
delivery, by the same transport, signing, retries and sweep. An alert's answer
is never emailed to anybody and never touches an order.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from lib.ids import new_alert_id
from orders.models import OrderEventKind

from ..models import AlertDelivery, AlertEndpoint, AlertType
from ..payload import ALERT_API_VERSION as ALERT_API_VERSION
from ..payload import TEST_PASSTHROUGH, alert_body, utc_iso
from .config import SECRET_FIELDS, signing_secret_rotate
from .endpoints import endpoint_key_for

# The events a seller may choose, in the order the Alerts page lists them.
ALERT_EVENTS: tuple[AlertType, ...] = tuple(
    kind for kind in AlertType if kind != AlertType.TEST
)


def alert_endpoint_get_or_create(*, seller_id: int) -> AlertEndpoint:
    endpoint, _ = AlertEndpoint.objects.get_or_create(seller_id=seller_id)
    return endpoint


@transaction.atomic
def alert_endpoint_save(
    *, endpoint: AlertEndpoint, url: str, events: Sequence[str]
) -> bool:
    """Save the Alerts page's URL and events (validated by its form); True if
    anything changed. Events are kept in the page's order, unknown ones refused."""
    unknown = set(events) - set(ALERT_EVENTS)
    if unknown:
        raise ValueError(f"Unknown alert events: {sorted(unknown)}")
    chosen = [kind.value for kind in ALERT_EVENTS if kind in events]
    stored = AlertEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    if stored.url == url and stored.events == chosen:
        return False
    endpoint.url, endpoint.events = url, chosen
    endpoint.save(update_fields=["url", "events", "updated_at"])
    return True


@transaction.atomic
def alert_endpoint_secret_regenerate(*, endpoint: AlertEndpoint) -> AlertEndpoint:
    """Rotate the Alerts signing secret; the old one keeps signing for 24 hours,
    as the Webhook Editor's does."""
    stored = AlertEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    signing_secret_rotate(holder=endpoint, current=stored.signing_secret)
    endpoint.save(update_fields=[*SECRET_FIELDS, "updated_at"])
    return endpoint


def alert_emit(
    *,
    seller_id: int,
    type: str,  # noqa: A002 - the event's name in the payload and the brief
    subject: str,
    data: dict,
    occurred_at: datetime | None = None,
) -> str | None:
    """Record one event for the seller's Alerts URL; call it inside the
    transaction of the change, so a rolled-back change sends nothing and a
    committed one is never lost. A worker is woken after commit.

    `subject` names what the event is about ("order:12"): the same seller, type
    and subject again (a retried caller) records nothing new. Returns the new
    alert's ID (its `webhook-id`), or None when nothing was recorded: the seller
    has no Alerts URL, did not choose this event, or it was recorded already.
    (Two twins emitted at the very same moment both pass the look-up; the
    constraint keeps one, and the other's ID names no alert: its wake-up finds
    nothing to send.)
    """
    from .alert_engine import alerts_enqueue_on_commit

    if type not in ALERT_EVENTS:
        raise ValueError(f"Unknown alert event: {type!r}")
    endpoint = AlertEndpoint.objects.filter(seller_id=seller_id).first()
    if endpoint is None or not endpoint.url or type not in endpoint.events:
        return None
    duplicate = AlertDelivery.objects.filter(
        seller_id=seller_id, type=type, subject=subject
    )
    if duplicate.exists():
        return None
    alert_id = new_alert_id()
    body = alert_body(
        alert_type=type, created_at=occurred_at or timezone.now(), data=data
    )
    # A twin emitted at this very moment loses to the unique constraint quietly
    # (no error that would break the caller's transaction).
    AlertDelivery.objects.bulk_create(
        [
            AlertDelivery(
                alert_id=alert_id,
                seller_id=seller_id,
                type=type,
                subject=subject,
                payload=body,
                endpoint_key=endpoint_key_for(endpoint.url),
            )
        ],
        ignore_conflicts=True,
    )
    alerts_enqueue_on_commit([alert_id])
    return alert_id


def alert_order_event(
    *,
    order,
    type: str,
    subject: str = "",
    extra: dict | None = None,  # noqa: A002
) -> str | None:
    """An event about an order (`order.completed`, `order.refunded`,
    `order.dispute_opened`, `order.dispute_closed`, `order.cancelled`); call it
    inside the transaction that changes the order.

    `subject` defaults to the order, so each event happens once per order; an
    event that can happen again for the same order (a second partial refund, a
    second dispute) names what it is about instead ("refund:12"). `extra` adds
    keys to the data (e.g. {"refund": {"amount": "5.00"}})."""
    return alert_emit(
        seller_id=order.product.seller_id,
        type=type,
        subject=subject or f"order:{order.pk}",
        data={**alert_order_data(order=order), **(extra or {})},
    )


# Each event after the sale, as the alert that tells the seller of it.
_AFTERSALE_ALERTS = {
    OrderEventKind.REFUND: (AlertType.ORDER_REFUNDED, "refund"),
    OrderEventKind.DISPUTE_OPENED: (AlertType.ORDER_DISPUTE_OPENED, "dispute"),
    OrderEventKind.DISPUTE_WON: (AlertType.ORDER_DISPUTE_CLOSED, "dispute"),
    OrderEventKind.DISPUTE_LOST: (AlertType.ORDER_DISPUTE_CLOSED, "dispute"),
    OrderEventKind.CANCEL: (AlertType.ORDER_CANCELLED, "cancellation"),
}
_DISPUTE_STATUS = {
    OrderEventKind.DISPUTE_OPENED: "opened",
    OrderEventKind.DISPUTE_WON: "won",
    OrderEventKind.DISPUTE_LOST: "lost",
}


def alert_order_aftersale(*, order, event) -> str | None:
    """`order.refunded`, `order.dispute_opened`, `order.dispute_closed` or
    `order.cancelled` for an `orders.OrderEvent`; call it in the transaction
    that records the event. Once per event (a provider's replay records no
    new event, so it alerts nothing)."""
    type_, key = _AFTERSALE_ALERTS[OrderEventKind(event.kind)]
    detail: dict = {
        "event_id": f"oev_{event.pk}",
        "reason": event.reason,
        "by": event.actor_kind,
        "created_at": utc_iso(event.created_at),
    }
    if event.amount is not None:
        detail["amount"] = str(event.amount)
        detail["currency"] = order.currency
    if key == "refund":
        detail["refunded_total"] = str(order.refunded_amount)
        detail["fully_refunded"] = order.refunded_amount >= order.total
    if key == "dispute":
        detail["status"] = _DISPUTE_STATUS[OrderEventKind(event.kind)]
    return alert_order_event(
        order=order, type=type_, subject=f"event:{event.pk}", extra={key: detail}
    )


def alert_delivery_failed(*, delivery) -> str | None:
    """`delivery.failed`: a delivery of a real order failed for good; call it in
    the transaction that settles it. Once per failure: a delivery the seller
    retries and that fails again is a new event (its attempt count differs)."""
    return alert_emit(
        seller_id=delivery.product.seller_id,
        type=AlertType.DELIVERY_FAILED,
        subject=f"delivery:{delivery.delivery_id}:{delivery.attempt_count}",
        data=alert_delivery_failed_data(delivery=delivery, order=delivery.real_order),
    )


def alert_order_data(*, order) -> dict:
    """What an order event tells the seller: enough to find the order in their
    own books and act on it (the transaction ID their provider knows, the
    product, the money and the customer), as the one place that says so."""
    data = {
        "order_id": str(order.pk),
        "transaction_id": order.transaction_id,
        "product": {"id": order.product_id, "name": order.product.name},
        "quantity": order.quantity,
        "unit_price": str(order.unit_price),
        "total": str(order.total),
        "currency": order.currency,
        "customer": {"email": order.customer_email, "name": order.customer_name},
        "test": order.is_test,
        "completed_at": utc_iso(order.completed_at),
    }
    # The seller's own data from checkout, echoed back to the seller alone.
    data["passthrough"] = order.passthrough
    return data


def alert_delivery_failed_data(*, delivery, order) -> dict:
    """`delivery.failed`: the order, and which request failed and why."""
    return {
        **alert_order_data(order=order),
        "delivery": {
            "delivery_id": delivery.delivery_id,
            "item_index": delivery.item_index,
            "item_count": delivery.item_count,
            "attempts": delivery.counted_attempts,
            "last_error": delivery.last_error,
        },
    }


def alert_sample_data() -> dict:
    """The data of "Send test alert": an `order.completed` order, marked test,
    with every key a real one has (`alert_order_data`)."""
    now = utc_iso(timezone.now())
    return {
        "order_id": "test",
        "transaction_id": "test_txn_0001",
        "product": {"id": 0, "name": "Sample product"},
        "quantity": 1,
        "unit_price": "19.00",
        "total": "19.00",
        "currency": "USD",
        "customer": {"email": "customer@example.com", "name": "Sam Sample"},
        "test": True,
        "completed_at": now,
        "passthrough": TEST_PASSTHROUGH,
    }
