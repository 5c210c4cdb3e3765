"""Refunds and disputes a payment provider reports through the orders API:
the request's fields checked and turned into the arguments of
`fulfillment.services.aftersale`, where the rules and the writes are (the
seller's pages and admin call those services directly)."""

from __future__ import annotations

from typing import Any

from fulfillment.services.aftersale import (
    event_fingerprint,
    order_dispute_reported,
    order_refund_reported,
)
from orders.aftersale import Actor
from orders.errors import OrderError
from orders.inputs import text_problem
from orders.models import ApiToken, Order, OrderEvent
from web.orders.forms import ApiDisputeForm, ApiRefundForm
from web.orders.services import api_fields_clean

# --- Orders API: refunds and disputes the provider reports -----------------------


def _api_order_pk(*, transaction_id: str, currency: str) -> int:
    """The order's key, or `order_not_found` (404); a `currency` given with the
    event must be the order's."""
    row = None
    if not text_problem(transaction_id):
        row = (
            Order.objects.filter(transaction_id=transaction_id)
            .values_list("pk", "currency")
            .first()
        )
    if row is None:
        raise OrderError(
            "order_not_found", "No order with this transaction_id.", status=404
        )
    pk, order_currency = row
    if currency and currency.upper() != order_currency.upper():
        message = f"This order is in {order_currency}."
        raise OrderError(
            "invalid_fields", "Some fields are invalid.", fields={"currency": [message]}
        )
    return pk


def _api_actor(token: ApiToken) -> Actor:
    return Actor.provider(token_id=token.pk, name=token.name)


def order_refund_from_api(
    *, transaction_id: str, data: Any, token: ApiToken
) -> tuple[OrderEvent, bool]:
    """A refund the provider reports; returns (event, created).

    Idempotent on `event_id`: the same event again returns the first (created
    False) and changes nothing; the same id with other contents is an
    `event_conflict` (409)."""
    cleaned = api_fields_clean(data, ApiRefundForm)
    order_pk = _api_order_pk(
        transaction_id=transaction_id, currency=cleaned.get("currency") or ""
    )
    fingerprint = event_fingerprint(
        kind="refund",
        transaction_id=transaction_id,
        amount=cleaned["amount"],
        reason=cleaned.get("reason") or "",
    )
    return order_refund_reported(
        order_id=order_pk,
        amount=cleaned["amount"],
        reason=cleaned.get("reason") or "",
        actor=_api_actor(token),
        provider_event_id=cleaned["event_id"],
        fingerprint=fingerprint,
    )


def order_dispute_from_api(
    *, transaction_id: str, data: Any, token: ApiToken
) -> tuple[OrderEvent, bool]:
    """A dispute opened, won or lost, as the provider reports it; idempotent on
    `event_id` like a refund. A state the dispute cannot move to is a
    `dispute_conflict` (409)."""
    cleaned = api_fields_clean(data, ApiDisputeForm)
    order_pk = _api_order_pk(
        transaction_id=transaction_id, currency=cleaned.get("currency") or ""
    )
    fingerprint = event_fingerprint(
        kind="dispute",
        transaction_id=transaction_id,
        status=cleaned["status"],
        amount=cleaned["amount"],
        reason=cleaned.get("reason") or "",
    )
    return order_dispute_reported(
        order_id=order_pk,
        status=cleaned["status"],
        amount=cleaned["amount"],
        reason=cleaned.get("reason") or "",
        actor=_api_actor(token),
        provider_event_id=cleaned["event_id"],
        fingerprint=fingerprint,
    )
