"""Read queries of the orders app."""

from __future__ import annotations

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Prefetch, QuerySet

from fulfillment.models import Delivery, DeliveryAttempt
from orders.inputs import text_problem
from orders.models import FulfillmentStatus, Order
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
    such order). One column of one row: the order page's script asks every second."""
    if text_problem(token):
        return None
    status = Order.objects.filter(token=token).values_list(
        "fulfillment_status", flat=True
    )
    found = status.first()
    return None if found is None else found == FulfillmentStatus.PENDING


def order_get_by_transaction_id(*, transaction_id: str) -> Order | None:
    if text_problem(transaction_id):
        return None
    return _orders_with_deliveries().filter(transaction_id=transaction_id).first()


def order_deliveries(*, order: Order) -> list:
    """The order's deliveries in item order (test deliveries never belong here)."""
    planned = order.planned_deliveries
    rows = planned if planned is not None else order.deliveries.all()
    return sorted(rows, key=lambda d: (d.item_index, d.pk))


def order_instructions(*, order: Order) -> str:
    """The seller's Instructions; manual products may have no webhook config."""
    try:
        return order.product.webhook_config.instructions
    except ObjectDoesNotExist:
        return ""


# --- Seller dashboard -----------------------------------------------------------


def orders_for_seller(
    *, seller, product: Product | None = None, status: str = ""
) -> QuerySet[Order]:
    """The seller's orders across their products, newest first, maybe filtered.

    `product` must be one of the seller's own (the filter form only offers
    those); the seller condition stays regardless, so nothing else can leak.
    """
    orders = Order.objects.filter(product__seller=seller).select_related(
        "product", "email"
    )
    if product is not None:
        orders = orders.filter(product=product)
    if status:
        orders = orders.filter(fulfillment_status=status)
    return orders.order_by("-completed_at", "-pk")


def order_for_seller(*, seller, pk: int) -> Order | None:
    return (
        Order.objects.filter(pk=pk, product__seller=seller)
        .select_related("product", "checkout", "email")
        .first()
    )


def order_deliveries_with_attempts(*, order: Order) -> list[Delivery]:
    """The order's deliveries in item order, each with its attempts in order."""
    deliveries = order.deliveries.filter(is_test=False).prefetch_related(
        Prefetch("attempts", queryset=DeliveryAttempt.objects.order_by("number"))
    )
    return sorted(deliveries, key=lambda d: (d.item_index, d.pk))


def order_delivery(*, order: Order, delivery_id: str) -> Delivery | None:
    return order.deliveries.filter(delivery_id=delivery_id, is_test=False).first()
