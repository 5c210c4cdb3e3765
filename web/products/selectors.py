"""Read queries for the seller dashboard."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db.models import Case, OuterRef, QuerySet, Subquery, Value, When
from django.shortcuts import get_object_or_404

from fulfillment.models import Delivery, DeliveryStatus
from products.models import Product


def product_of_seller(*, seller: User, pk: int) -> Product:
    """The seller's product; Http404 for any other, whether it exists or belongs
    to somebody else (the same answer, so ids reveal nothing)."""
    return get_object_or_404(Product, pk=pk, seller=seller)


def products_for_seller(*, seller: User) -> QuerySet[Product]:
    """The seller's products with the outcome of their latest real delivery.

    Each product gets `last_delivery_status`, `last_delivery_label` and
    `last_delivery_at` (None without orders). Test deliveries are left out: they
    say nothing about what customers received.
    """
    last_real = Delivery.objects.filter(product=OuterRef("pk"), is_test=False).order_by(
        "-created_at", "-pk"
    )
    return Product.objects.filter(seller=seller).annotate(
        last_delivery_status=Subquery(last_real.values("status")[:1]),
        last_delivery_at=Subquery(last_real.values("created_at")[:1]),
        last_delivery_label=Case(
            *[
                When(last_delivery_status=value, then=Value(label))
                for value, label in DeliveryStatus.choices
            ],
            default=Value(""),
        ),
    )
