"""Read queries for the seller dashboard."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Case, OuterRef, QuerySet, Subquery, Value, When

from fulfillment.models import Delivery, DeliveryStatus

from .models import Product


def products_for_seller(*, seller: AbstractBaseUser) -> QuerySet[Product]:
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
