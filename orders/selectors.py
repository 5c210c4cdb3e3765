"""Read queries of the orders app."""

from __future__ import annotations

from django.core.exceptions import ObjectDoesNotExist

from orders.models import Order
from products.models import Product, ProductStatus


def product_get_live(*, slug: str) -> Product | None:
    """A product buyers may see: live only, drafts do not exist for the public."""
    return (
        Product.objects.filter(slug=slug, status=ProductStatus.LIVE)
        .select_related("webhook_config")
        .first()
    )


def _orders_with_deliveries():
    return Order.objects.select_related("product", "checkout").prefetch_related(
        "deliveries"
    )


def order_get_by_token(*, token: str) -> Order | None:
    return _orders_with_deliveries().filter(token=token).first()


def order_get_by_transaction_id(*, transaction_id: str) -> Order | None:
    return _orders_with_deliveries().filter(transaction_id=transaction_id).first()


def order_deliveries(*, order: Order) -> list:
    """The order's deliveries in item order (test deliveries never belong here)."""
    return sorted(order.deliveries.all(), key=lambda d: (d.item_index, d.pk))


def order_instructions(*, order: Order) -> str:
    """The seller's Instructions; manual products may have no webhook config."""
    try:
        return order.product.webhook_config.instructions
    except ObjectDoesNotExist:
        return ""
