"""State changes of products. Views call these; nothing else writes a Product."""

from __future__ import annotations

from decimal import Decimal
from typing import cast

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from fulfillment.services.config import webhook_config_get_or_create
from products.models import FulfillmentMethod, Product, ProductStatus

from .checklist import checklist_missing, product_checklist

# The fields a seller edits on the product form; everything else (status, seller,
# timestamps) changes only through the services below.
EDITABLE_FIELDS = (
    "name",
    "slug",
    "description",
    "price",
    "currency",
    "fulfillment_method",
    "send_order_emails",
    "collect_customer_name",
)

_SLUG_MAX = cast(int, Product._meta.get_field("slug").max_length)


def product_slug_available(*, slug: str, exclude_pk: int | None = None) -> bool:
    taken = Product.objects.filter(slug=slug)
    if exclude_pk is not None:
        taken = taken.exclude(pk=exclude_pk)
    return not taken.exists()


def product_slug_from_name(*, name: str, exclude_pk: int | None = None) -> str:
    """A free slug made from the name: `pixel-editor`, then `pixel-editor-2`, ..."""
    base = slugify(name)[: _SLUG_MAX - 4].strip("-") or "product"
    slug, n = base, 1
    while not product_slug_available(slug=slug, exclude_pk=exclude_pk):
        n += 1
        slug = f"{base}-{n}"
    return slug


@transaction.atomic
def product_create(
    *,
    seller: User,
    name: str,
    slug: str = "",
    description: str = "",
    price: Decimal = Decimal("0.00"),
    currency: str = "USD",
    fulfillment_method: str = FulfillmentMethod.WEBHOOK,
    send_order_emails: bool = True,
    collect_customer_name: bool = False,
) -> Product:
    """Create a draft product; a webhook product gets its (empty) WebhookConfig."""
    product = Product.objects.create(
        seller=seller,
        name=name,
        slug=slug or product_slug_from_name(name=name),
        description=description,
        price=price,
        currency=currency,
        fulfillment_method=fulfillment_method,
        send_order_emails=send_order_emails,
        collect_customer_name=collect_customer_name,
    )
    if product.uses_webhook:
        webhook_config_get_or_create(product=product)
    return product


@transaction.atomic
def product_update(*, product: Product, **changes: object) -> Product:
    """Apply the seller's edits (only EDITABLE_FIELDS).

    Switching to the webhook method creates the config if the product never had
    one; switching away keeps it, so switching back loses nothing.
    """
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"Not editable: {', '.join(sorted(unknown))}")
    for field, value in changes.items():
        setattr(product, field, value)
    if not product.slug:
        product.slug = product_slug_from_name(name=product.name, exclude_pk=product.pk)
    product.save()
    if product.uses_webhook:
        webhook_config_get_or_create(product=product)
    return product


def product_publish(*, product: Product) -> list[str]:
    """Make the product live if its release checklist is complete.

    Returns the labels of the required items still missing; the product changes
    only when that list is empty.
    """
    missing = checklist_missing(product_checklist(product))
    if missing:
        return missing
    if not product.is_live:
        product.status = ProductStatus.LIVE
        product.published_at = timezone.now()
        product.save(update_fields=["status", "published_at", "updated_at"])
    return []


def product_unpublish(*, product: Product) -> None:
    """Back to draft: the public page and checkout disappear; orders stay."""
    if product.is_live:
        product.status = ProductStatus.DRAFT
        product.save(update_fields=["status", "updated_at"])


def product_email_preview_seen(*, product: Product) -> None:
    """Record that the seller looked at the customer email (a checklist item)."""
    product.email_preview_seen_at = timezone.now()
    product.save(update_fields=["email_preview_seen_at"])
