"""State changes of the orders app that need no other app: API tokens, and
the records of what happened to an order after the sale."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.utils import timezone

from orders.aftersale import ZERO, Actor, order_cancellable, order_refundable
from orders.errors import OrderError
from orders.models import (
    ApiScope,
    ApiToken,
    DisputeStatus,
    Order,
    OrderEvent,
    OrderEventKind,
)
from orders.tokens import token_generate

# --- API tokens -----------------------------------------------------------------


def api_token_create(
    *, name: str, scopes: Iterable[str] | None = None
) -> tuple[ApiToken, str]:
    """Create a token; returns it with the raw secret, which is never stored.

    `scopes` defaults to every ApiScope. An unknown or empty set is refused: a
    token that can do nothing, or something the API does not know, is a mistake.
    """
    chosen = list(ApiScope.values) if scopes is None else sorted(set(scopes))
    unknown = set(chosen) - set(ApiScope.values)
    if not chosen or unknown:
        raise ValueError(f"API token scopes must be among {ApiScope.values}.")
    new = token_generate()
    token = ApiToken.objects.create(
        name=name,
        prefix=new.prefix,
        token_hash=new.token_hash,
        scopes=",".join(chosen),
    )
    return token, new.raw


# "Last used" is kept to this precision: a busy token is not written per request.
API_TOKEN_TOUCH_SECONDS = 60


def api_token_touch(*, token: ApiToken) -> None:
    now = timezone.now()
    last = token.last_used_at
    if last is not None and (now - last).total_seconds() < API_TOKEN_TOUCH_SECONDS:
        return
    # An UPDATE rather than save(): concurrent requests with the same token must
    # not overwrite each other's other fields (e.g. a revocation by staff).
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    token.last_used_at = now


# --- After the sale: refunds, disputes, cancellation ------------------------------
# Each records one OrderEvent and updates the order's after-sale columns, on an
# order the caller has locked (`order_lock`) in the same transaction: two
# refunds at once are serialised by that lock, so together they can never
# exceed what the order still holds.


def order_lock(*, order_id: int) -> Order:
    """The order, locked for the rest of the current transaction."""
    return Order.objects.select_for_update().select_related("product").get(pk=order_id)


def _money(amount: Decimal, order: Order) -> str:
    return f"{amount:.2f} {order.currency}"


def order_event_replay(
    *, provider_event_id: str = "", fingerprint: str = "", form_nonce: str = ""
) -> OrderEvent | None:
    """The event an earlier request with this key made, or None if none did.

    A provider event id with other contents (another order, amount, reason or
    status) is an `event_conflict` (409); so is a form nonce used for anything
    but this request, which a form posted twice never does."""
    if provider_event_id:
        event = OrderEvent.objects.filter(provider_event_id=provider_event_id).first()
        if event is not None and event.request_fingerprint != fingerprint:
            raise OrderError(
                "event_conflict",
                "An event with this event_id exists with different contents.",
                status=409,
            )
        return event
    if form_nonce:
        event = OrderEvent.objects.filter(form_nonce=form_nonce).first()
        if event is not None and event.request_fingerprint != fingerprint:
            raise OrderError(
                "event_conflict",
                "This form was already used; reload the page.",
                status=409,
            )
        return event
    return None


def _event_create(*, order: Order, actor: Actor, **fields: Any) -> OrderEvent:
    return OrderEvent.objects.create(
        order=order,
        actor_kind=actor.kind,
        actor_name=actor.name[:150],
        user_id=actor.user_id,
        api_token_id=actor.api_token_id,
        **fields,
    )


def _amount_check(amount: Decimal, *, limit: Decimal, order: Order, what: str) -> None:
    if amount <= 0:
        raise OrderError(
            "invalid_fields",
            "Some fields are invalid.",
            fields={"amount": ["Enter an amount greater than 0."]},
        )
    if amount > limit:
        message = (
            f"Only {_money(limit, order)} of this order can still be {what}."
            if limit > 0
            else f"Nothing of this order can be {what} any more."
        )
        raise OrderError("amount_too_large", message, fields={"amount": [message]})


def order_refund_check(*, order: Order, amount: Decimal) -> None:
    """Refuse (OrderError) a refund of `amount` the locked order cannot take."""
    _amount_check(amount, limit=order_refundable(order), order=order, what="refunded")


def order_refund_record(
    *,
    order: Order,
    amount: Decimal,
    reason: str,
    actor: Actor,
    provider_event_id: str = "",
    fingerprint: str = "",
    provider_refund_id: str = "",
    form_nonce: str = "",
) -> OrderEvent:
    """Record a refund of `amount` (at most what is still refundable) on the
    locked order. `amount_too_large` (400, on the field) refuses more."""
    order_refund_check(order=order, amount=amount)
    event = _event_create(
        order=order,
        actor=actor,
        kind=OrderEventKind.REFUND,
        amount=amount,
        reason=reason,
        provider_event_id=provider_event_id,
        request_fingerprint=fingerprint,
        provider_refund_id=provider_refund_id,
        form_nonce=form_nonce,
    )
    order.refunded_amount += amount
    order.save(update_fields=["refunded_amount"])
    return event


# What each reported dispute status may follow: one dispute per order, opened
# once, closed once. A close may come without its opening (a provider that
# reports outcomes only, or events that crossed on the way).
_DISPUTE_FOLLOWS = {
    DisputeStatus.OPENED: (DisputeStatus.NONE,),
    DisputeStatus.WON: (DisputeStatus.NONE, DisputeStatus.OPENED),
    DisputeStatus.LOST: (DisputeStatus.NONE, DisputeStatus.OPENED),
}
_DISPUTE_KINDS = {
    DisputeStatus.OPENED: OrderEventKind.DISPUTE_OPENED,
    DisputeStatus.WON: OrderEventKind.DISPUTE_WON,
    DisputeStatus.LOST: OrderEventKind.DISPUTE_LOST,
}


def order_dispute_record(
    *,
    order: Order,
    status: str,
    amount: Decimal,
    reason: str,
    actor: Actor,
    provider_event_id: str = "",
    fingerprint: str = "",
) -> OrderEvent:
    """Record a dispute opened, won or lost on the locked order.

    `dispute_conflict` (409) when the order's dispute is not in a state this
    one can follow (a second opening, a close after the close). The amount is
    at most what the customer paid and was not refunded."""
    if order.dispute_status not in _DISPUTE_FOLLOWS[DisputeStatus(status)]:
        current = DisputeStatus(order.dispute_status).label.lower()
        raise OrderError(
            "dispute_conflict",
            f"This order's dispute cannot become {status}: it is {current}.",
            status=409,
        )
    _amount_check(
        amount,
        limit=max(order.total - order.refunded_amount, ZERO),
        order=order,
        what="disputed",
    )
    event = _event_create(
        order=order,
        actor=actor,
        kind=_DISPUTE_KINDS[DisputeStatus(status)],
        amount=amount,
        reason=reason,
        provider_event_id=provider_event_id,
        request_fingerprint=fingerprint,
    )
    order.dispute_status = status
    order.dispute_amount = amount
    order.save(update_fields=["dispute_status", "dispute_amount"])
    return event


def order_cancel_record(*, order: Order, reason: str, actor: Actor) -> OrderEvent:
    """Record the cancellation of the locked order, which must not be delivered
    yet (`order_not_cancellable`, 409, otherwise)."""
    if order.cancelled_at is not None:
        raise OrderError(
            "order_not_cancellable", "This order is already cancelled.", status=409
        )
    if not order_cancellable(order):
        raise OrderError(
            "order_not_cancellable",
            "This order is already delivered: refund it instead.",
            status=409,
        )
    event = _event_create(
        order=order, actor=actor, kind=OrderEventKind.CANCEL, reason=reason
    )
    order.cancelled_at = event.created_at
    order.save(update_fields=["cancelled_at"])
    return event
