"""The conventional peer as bench/peers/place.py drives it."""

from __future__ import annotations

from decimal import Decimal

from django.core.management import call_command

from .models import Product
from .services import order_place


def setup(args, catalog: list[dict]) -> None:
    """Migrate, then the same products (ids, URLs, secrets) as ours."""
    call_command("migrate", verbosity=0)
    Product.objects.bulk_create(
        Product(
            id=p["id"],
            name=p["name"],
            price=Decimal(p["price"]),
            currency=p["currency"],
            webhook_url=p["url"],
            signing_secret=p["secret"],
            instructions=p["instructions"],
        )
        for p in catalog
    )


def products(catalog: list[dict]) -> list[Product]:
    """From the database, as a shop's checkout would find them."""
    return list(Product.objects.order_by("id"))


def place(*, product: Product, customer_email: str) -> None:
    order_place(product=product, customer_email=customer_email)
