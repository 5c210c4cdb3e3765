"""An order's state after the sale: one rule, read for one order
(`order_state`) and as a filter for lists (`order_state_q`), which must agree."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from django.utils import timezone

from orders.aftersale import (
    OrderState,
    order_closed_q,
    order_is_closed,
    order_refundable,
    order_state,
    order_state_q,
)
from orders.models import Order
from tests.factories import place

pytestmark = pytest.mark.django_db

REFUNDED = [Decimal("0"), Decimal("5.00"), Decimal("19.00")]
DISPUTES = ["", "opened", "won", "lost"]
CANCELLED = [False, True]
FULFILLMENT = ["pending", "fulfilled", "failed"]


@pytest.fixture
def order(live_product) -> Order:
    return place(live_product)


def _set(order: Order, refunded, dispute, cancelled, fulfillment) -> Order:
    Order.objects.filter(pk=order.pk).update(
        refunded_amount=refunded,
        dispute_status=dispute,
        dispute_amount=Decimal("19.00") if dispute else None,
        cancelled_at=timezone.now() if cancelled else None,
        fulfillment_status=fulfillment,
    )
    order.refresh_from_db()
    return order


@pytest.mark.parametrize(
    "combination",
    list(itertools.product(REFUNDED, DISPUTES, CANCELLED, FULFILLMENT)),
    ids=str,
)
def test_the_filter_finds_exactly_the_orders_in_that_state(order, combination):
    _set(order, *combination)
    state = order_state(order)

    matching = [s for s in OrderState.values if Order.objects.filter(order_state_q(s))]

    assert matching == [state]
    closed = Order.objects.filter(order_closed_q()).exists()
    assert closed is order_is_closed(order)


@pytest.mark.parametrize(
    ("combination", "state"),
    [
        ((Decimal("19.00"), "lost", True, "failed"), OrderState.CANCELLED),
        ((Decimal("19.00"), "lost", False, "fulfilled"), OrderState.CHARGED_BACK),
        ((Decimal("19.00"), "opened", False, "fulfilled"), OrderState.DISPUTED),
        ((Decimal("19.00"), "won", False, "fulfilled"), OrderState.REFUNDED),
        ((Decimal("5.00"), "", False, "fulfilled"), OrderState.PARTIALLY_REFUNDED),
        ((Decimal("0"), "won", False, "fulfilled"), OrderState.FULFILLED),
    ],
)
def test_the_most_serious_state_wins(order, combination, state):
    assert order_state(_set(order, *combination)) == state


def test_refundable_is_the_total_less_refunds_and_a_lost_dispute(order):
    assert order_refundable(_set(order, Decimal("5.00"), "", False, "pending")) == 14
    # An open dispute may still be won: it takes nothing yet.
    assert (
        order_refundable(_set(order, Decimal("5.00"), "opened", False, "pending")) == 14
    )
    lost = _set(order, Decimal("5.00"), "lost", False, "pending")
    assert order_refundable(lost) == 0
