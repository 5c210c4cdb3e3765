"""After the sale: refunds, disputes and cancellation, with what they mean for
the order's deliveries and the customer's emails.

Each runs in one transaction under the order's row lock: the event and the
order's after-sale columns (`orders.services`), then the deliveries. An order
that is cancelled, refunded in full or charged back is closed: its deliveries
still waiting (pending, retrying, failed) are cancelled in that transaction, so
a worker's claim, a compare-and-set on `pending`/`retrying`, can no longer take
them, and nothing more reaches the seller's server. A cancel goes further: it
is refused while a request is on the wire, so after a cancel nothing at all is
sent (a refund reported by the provider cannot be refused; a request already on
the wire then finishes, see docs/decisions.md). Every refund tells the customer
in one short email (`emails.refunds`), enqueued after the commit.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from lib.fingerprint import request_fingerprint
from orders.aftersale import Actor, order_is_closed
from orders.errors import OrderError
from orders.models import Order, OrderEvent, OrderEventKind, OrderSource
from orders.payments import PaymentDeclined, refund_provider_for
from orders.services import (
    order_cancel_record,
    order_dispute_record,
    order_event_replay,
    order_lock,
    order_refund_check,
    order_refund_record,
)

from ..models import Delivery, DeliveryStatus
from .actions import CANCELLABLE_STATUSES
from .alerts import alert_order_aftersale
from .orders import order_fulfillment_refresh

IN_FLIGHT_MESSAGE = (
    "A request to the seller's server is on its way for this order right now; "
    "try again in a few seconds, once it is answered."
)
REFUND_ELSEWHERE_MESSAGE = (
    "This order came from a payment provider through the orders API: refund it "
    "with that provider, which reports the refund here."
)


def event_fingerprint(**contents: object) -> str:
    """The fingerprint of what a request asked, every value as its text (an
    amount is the same whether it came as "5.00" or Decimal("5.00"))."""
    return request_fingerprint({k: str(v) for k, v in contents.items()})


def _deliveries_stop(order: Order, actor: Actor) -> int:
    """Cancel the closed order's deliveries that are still waiting; returns how
    many. Its fulfillment status follows them."""
    stopped = Delivery.objects.filter(
        order=order, is_test=False, status__in=CANCELLABLE_STATUSES
    ).update(
        status=DeliveryStatus.CANCELLED,
        handled_by_id=actor.user_id,
        next_attempt_at=None,
        lease_expires_at=None,
        updated_at=timezone.now(),
    )
    if stopped:
        order_fulfillment_refresh(order_id=order.pk)
    return stopped


def _after(order: Order, event: OrderEvent, actor: Actor) -> None:
    """What the event means beyond its own record (inside its transaction):
    the deliveries of a closed order stop, the seller's Alerts URL hears of it,
    the customer hears of a refund."""
    if order_is_closed(order):
        _deliveries_stop(order, actor)
    alert_order_aftersale(order=order, event=event)
    if event.kind == OrderEventKind.REFUND:
        _refund_notice_on_commit(event.pk)


def _refund_notice_on_commit(event_id: int) -> None:
    from emails.tasks import order_refund_notice_send_task

    # A lost message is taken over by the beat sweep (emails.refunds).
    transaction.on_commit(lambda: order_refund_notice_send_task.delay(event_id))


def _idempotent(
    *,
    order_id: int,
    key: dict[str, str],
    record: Callable[[Order], OrderEvent],
    actor: Actor,
) -> tuple[OrderEvent, bool]:
    """Record once per key: (the event, whether this call made it).

    The replay check runs under the order's lock, so a twin request waits for
    the first and then finds its event. A key taken on another order at the
    same moment fails the unique constraint; it is a replay or a conflict."""
    try:
        with transaction.atomic():
            order = order_lock(order_id=order_id)
            replay = order_event_replay(**key)
            if replay is not None:
                return replay, False
            event = record(order)
            _after(order, event, actor)
    except IntegrityError:
        replay = order_event_replay(**key)
        if replay is None:
            raise
        return replay, False
    return event, True


# --- Reported by the payment provider (the orders API) ---------------------------


def order_refund_reported(
    *,
    order_id: int,
    amount: Decimal,
    reason: str,
    actor: Actor,
    provider_event_id: str,
    fingerprint: str,
) -> tuple[OrderEvent, bool]:
    """The provider refunded `amount`: record it once per provider event id.
    Returns (event, created); a replay returns the first event."""

    def record(order: Order) -> OrderEvent:
        return order_refund_record(
            order=order,
            amount=amount,
            reason=reason,
            actor=actor,
            provider_event_id=provider_event_id,
            fingerprint=fingerprint,
        )

    key = {"provider_event_id": provider_event_id, "fingerprint": fingerprint}
    return _idempotent(order_id=order_id, key=key, record=record, actor=actor)


def order_dispute_reported(
    *,
    order_id: int,
    status: str,
    amount: Decimal,
    reason: str,
    actor: Actor,
    provider_event_id: str,
    fingerprint: str,
) -> tuple[OrderEvent, bool]:
    """The provider reports a dispute opened, won or lost: record it once per
    provider event id. A lost dispute closes the order like a full refund."""

    def record(order: Order) -> OrderEvent:
        return order_dispute_record(
            order=order,
            status=status,
            amount=amount,
            reason=reason,
            actor=actor,
            provider_event_id=provider_event_id,
            fingerprint=fingerprint,
        )

    key = {"provider_event_id": provider_event_id, "fingerprint": fingerprint}
    return _idempotent(order_id=order_id, key=key, record=record, actor=actor)


# --- Made by the seller or staff --------------------------------------------------


def order_refund_preview(*, order: Order, amount: Decimal) -> None:
    """What `order_refund` would refuse before the provider is asked (an API
    order, more than is left), for the page that asks to confirm it: raises
    the same OrderError. Takes no lock; the refund itself checks again."""
    if order.source != OrderSource.CHECKOUT:
        raise OrderError("refund_elsewhere", REFUND_ELSEWHERE_MESSAGE, status=409)
    order_refund_check(order=order, amount=amount)


def order_refund(
    *,
    order_id: int,
    amount: Decimal,
    reason: str,
    actor: Actor,
    form_nonce: str = "",
) -> tuple[OrderEvent, bool]:
    """Seller or staff: give `amount` back through the payment provider that
    took it, and record the refund. Returns (event, created); the same form
    posted again (`form_nonce`) returns the first refund and refunds nothing.

    Only checkout orders: an API order was paid at a provider we cannot ask,
    which reports its refunds itself (`refund_elsewhere`). The provider is
    asked under the order's lock, so two refunds at once never both reach it
    when together they would exceed the order (a test order's provider
    answers at once; see docs/decisions.md for a real one). A refusal is
    `refund_declined` with the provider's message, and nothing is recorded."""
    fingerprint = event_fingerprint(
        kind=OrderEventKind.REFUND, order=order_id, amount=amount, reason=reason
    )

    def record(order: Order) -> OrderEvent:
        order_refund_preview(order=order, amount=amount)
        try:
            result = refund_provider_for(is_test=order.is_test).refund(
                transaction_id=order.transaction_id,
                amount=amount,
                currency=order.currency,
            )
        except PaymentDeclined as exc:
            raise OrderError("refund_declined", exc.message, status=409) from None
        return order_refund_record(
            order=order,
            amount=amount,
            reason=reason,
            actor=actor,
            fingerprint=fingerprint,
            provider_refund_id=result.refund_id,
            form_nonce=form_nonce,
        )

    key = {"form_nonce": form_nonce, "fingerprint": fingerprint}
    return _idempotent(order_id=order_id, key=key, record=record, actor=actor)


def order_cancel(*, order_id: int, reason: str, actor: Actor) -> OrderEvent:
    """Seller or staff: cancel an order not delivered yet, and stop its
    deliveries. After it commits nothing more reaches the seller's server and
    the customer is sent no license.

    Refused while one of its deliveries is in flight (`delivery_in_flight`,
    409): that request may be on the wire, and its license would follow. The
    deliveries are cancelled before that check, in the same transaction, so a
    claim racing the cancel either took its delivery first (the check sees it
    and the cancel rolls back) or finds it cancelled."""
    with transaction.atomic():
        order = order_lock(order_id=order_id)
        event = order_cancel_record(order=order, reason=reason, actor=actor)
        _deliveries_stop(order, actor)
        alert_order_aftersale(order=order, event=event)
        in_flight = Delivery.objects.filter(
            order=order, status=DeliveryStatus.IN_FLIGHT
        ).exists()
        if in_flight:
            raise OrderError("delivery_in_flight", IN_FLIGHT_MESSAGE, status=409)
    return event
