"""An order's state after the sale, for lists that show one per row."""

from __future__ import annotations

from django import template

from orders.aftersale import OrderState, order_state
from orders.models import Order

register = template.Library()


@register.filter
def after_sale_state(order: Order) -> OrderState:
    """The order's state: `{% with state=order|after_sale_state %}`, then
    `{{ state }}` is its value (a CSS class too), `{{ state.label }}` its name."""
    return OrderState(order_state(order))
