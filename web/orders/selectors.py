"""Read queries of the orders app."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    OuterRef,
    Prefetch,
    QuerySet,
    Sum,
)

from fulfillment.models import Delivery, DeliveryAttempt, DeliverySource
from keylists.selectors import license_keys_by_unit
from orders.aftersale import (
    OrderState,
    order_closed_q,
    order_refundable,
    order_state,
    order_state_q,
)
from orders.inputs import text_problem
from orders.models import FulfillmentStatus, Order, OrderEvent, OrderEventKind
from products.models import Product, ProductStatus


def product_get_live(*, slug: str) -> Product | None:
    """A product buyers may see: live only, drafts do not exist for the public."""
    return (
        Product.objects.filter(slug=slug, status=ProductStatus.LIVE)
        .select_related("webhook_config")
        .first()
    )


def _orders_with_deliveries():
    return Order.objects.select_related(
        "product", "checkout", "email"
    ).prefetch_related("deliveries")


# Both lookups take a value from the URL path. One no field can hold (a NUL,
# which PostgreSQL refuses outright, or another control character) finds
# nothing, without a query.


def order_get_by_token(*, token: str) -> Order | None:
    if text_problem(token):
        return None
    return _orders_with_deliveries().filter(token=token).first()


def order_pending_by_token(*, token: str) -> bool | None:
    """Whether the order with this token still waits for its license (None: no
    such order); a cancelled, refunded or charged-back one waits for nothing.
    One row: the order page's script asks every second."""
    if text_problem(token):
        return None
    closed = ExpressionWrapper(order_closed_q(), output_field=BooleanField())
    found = (
        Order.objects.filter(token=token)
        .annotate(closed=closed)
        .values_list("fulfillment_status", "closed")
        .first()
    )
    if found is None:
        return None
    status, is_closed = found
    return status == FulfillmentStatus.PENDING and not is_closed


def order_get_by_transaction_id(*, transaction_id: str) -> Order | None:
    if text_problem(transaction_id):
        return None
    return _orders_with_deliveries().filter(transaction_id=transaction_id).first()


def order_get_by_pk(*, pk: int) -> Order:
    return _orders_with_deliveries().get(pk=pk)


def order_deliveries(*, order: Order) -> list:
    """The order's deliveries in item order (test deliveries never belong here)."""
    planned = order.planned_deliveries
    rows = planned if planned is not None else order.deliveries.all()
    return sorted(rows, key=lambda d: (d.item_index, d.pk))


def order_licenses(*, deliveries: list) -> list[str]:
    """The licenses the order's deliveries brought, in item order: one per
    delivery with Separate Multibuy, all of one answer's with a list format."""
    return [text for delivery in deliveries for text in delivery.license_texts]


def order_instructions(*, order: Order) -> str:
    """The seller's Instructions; manual products may have no webhook config."""
    try:
        return order.product.webhook_config.instructions
    except ObjectDoesNotExist:
        return ""


# --- Seller dashboard -----------------------------------------------------------

CENT = Decimal("0.01")


# The order list's filter for orders whose server had not answered in time and
# that got a key from the list (the Webhook method's fallback); not a state.
SERVED_FROM_LIST = "served_from_list"


def orders_for_seller(
    *, seller, product: Product | None = None, status: str = ""
) -> QuerySet[Order]:
    """The seller's orders across their products, newest first, maybe filtered
    by product and by state (`orders.aftersale.OrderState`, or SERVED_FROM_LIST).
    Each says whether a delivery of it was served from the key list
    (`served_from_list`).

    `product` must be one of the seller's own (the filter form only offers
    those); the seller condition stays regardless, so nothing else can leak.
    """
    fallback = Delivery.objects.filter(
        order=OuterRef("pk"), source=DeliverySource.FALLBACK
    )
    orders = (
        Order.objects.filter(product__seller=seller)
        .select_related("product", "email")
        .annotate(served_from_list=Exists(fallback))
    )
    if product is not None:
        orders = orders.filter(product=product)
    if status == SERVED_FROM_LIST:
        orders = orders.filter(served_from_list=True)
    elif status:
        orders = orders.filter(order_state_q(status))
    return orders.order_by("-completed_at", "-pk")


def orders_refunded_totals(*, orders: QuerySet[Order]) -> list:
    """What was refunded across these orders, per currency (a sum across
    currencies means nothing): `currency`, `refunded` and `orders`."""
    rows = list(
        orders.filter(refunded_amount__gt=0)
        .order_by()
        .values("currency")
        .annotate(refunded=Sum("refunded_amount"), orders=Count("pk"))
        .order_by("currency")
    )
    # SQLite's SUM drops the cents' zeros ("4" for 4.00): money shows two.
    for row in rows:
        row["refunded"] = Decimal(row["refunded"]).quantize(CENT)
    return rows


def order_for_seller(*, seller, pk: int) -> Order | None:
    return (
        Order.objects.filter(pk=pk, product__seller=seller)
        .select_related("product", "checkout", "email")
        .first()
    )


def order_deliveries_with_attempts(*, order: Order) -> list[Delivery]:
    """The order's deliveries in item order, each with its attempts in order."""
    deliveries = order.deliveries.filter(is_test=False).prefetch_related(
        Prefetch("attempts", queryset=DeliveryAttempt.objects.order_by("number")),
        license_keys_by_unit(),
    )
    return sorted(deliveries, key=lambda d: (d.item_index, d.pk))


def order_delivery(*, order: Order, delivery_id: str) -> Delivery | None:
    return order.deliveries.filter(delivery_id=delivery_id, is_test=False).first()


# --- After the sale -------------------------------------------------------------

# The event that leaves an order in each closed state: its time is the date
# the pages give ("refunded on 2026-12-01").
_CLOSING_KINDS = {
    OrderState.REFUNDED: OrderEventKind.REFUND,
    OrderState.CHARGED_BACK: OrderEventKind.DISPUTE_LOST,
    OrderState.CANCELLED: OrderEventKind.CANCEL,
}


@dataclass(frozen=True)
class AfterSale:
    """What the pages show of an order after the sale."""

    state: OrderState
    refunded: Decimal
    refundable: Decimal
    # When it was refunded in full, charged back or cancelled; else None.
    closed_at: datetime | None
    events: list[OrderEvent]


def order_after_sale(*, order: Order) -> AfterSale:
    """The order's state and its history of refunds, disputes and cancellation,
    oldest first (one query)."""
    events = list(order.events.order_by("created_at", "pk"))
    state = OrderState(order_state(order))
    closing = _CLOSING_KINDS.get(state)
    closed = [event.created_at for event in events if event.kind == closing]
    return AfterSale(
        state=state,
        refunded=order.refunded_amount,
        refundable=order_refundable(order),
        closed_at=closed[-1] if closed else None,
        events=events,
    )
