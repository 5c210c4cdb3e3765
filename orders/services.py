"""State changes of the orders app: checkouts, orders and API tokens."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from fulfillment.services.deliveries import order_fulfillment_start
from orders.errors import OrderError
from orders.forms import QUANTITY_MESSAGE, ApiOrderForm
from orders.models import (
    MAX_QUANTITY,
    ApiToken,
    Checkout,
    CheckoutStatus,
    Order,
    OrderSource,
)
from orders.payments import get_provider
from orders.tokens import token_generate
from products.models import Product

# --- Checkout -------------------------------------------------------------------


def _checkout_validate(*, product: Product, quantity: int, customer_email: str) -> None:
    if not product.is_live:
        raise OrderError(
            "product_not_live", f"{product.name} is not on sale.", status=409
        )
    fields: dict[str, list[str]] = {}
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        fields["quantity"] = ["Enter a whole number."]
    elif not 1 <= quantity <= MAX_QUANTITY:
        fields["quantity"] = [QUANTITY_MESSAGE]
    try:
        validate_email(customer_email)
    except ValidationError:
        fields["customer_email"] = ["Enter a valid email address."]
    if fields:
        raise OrderError("invalid_fields", "Some fields are invalid.", fields=fields)


def checkout_create(
    *,
    product: Product,
    quantity: int,
    customer_email: str,
    customer_name: str = "",
    checkout_hash: str | None = None,
) -> Checkout:
    """Open a checkout for a live product (quantity 1–100).

    Draft products cannot be bought, whoever asks. `checkout_hash` is the hash a
    payment provider already knows (orders API); otherwise a random one is made.
    """
    _checkout_validate(
        product=product, quantity=quantity, customer_email=customer_email
    )
    extra = {"hash": checkout_hash} if checkout_hash else {}
    return Checkout.objects.create(
        product=product,
        quantity=quantity,
        customer_email=customer_email,
        customer_name=customer_name,
        **extra,
    )


# --- Orders ---------------------------------------------------------------------


def order_complete(
    *, checkout: Checkout, transaction_id: str, source: str, fingerprint: str = ""
) -> Order:
    """Turn a paid checkout into an order and plan its fulfillment, atomically.

    The checkout row is locked, so a checkout becomes at most one order. Prices
    are copied from the product, so a later price change never rewrites history.
    The deliveries are planned in the same transaction (an order never exists
    without them); fulfillment enqueues their tasks only after commit.
    """
    with transaction.atomic():
        checkout = (
            Checkout.objects.select_for_update()
            .select_related("product")
            .get(pk=checkout.pk)
        )
        if checkout.status != CheckoutStatus.OPEN:
            raise OrderError(
                "checkout_completed", "This checkout is already paid.", status=409
            )
        order = _order_create(
            checkout=checkout,
            transaction_id=transaction_id,
            source=source,
            fingerprint=fingerprint,
        )
        checkout.status = CheckoutStatus.COMPLETED
        checkout.save(update_fields=["status"])
        order_fulfillment_start(order=order)
    return order


def _order_create(
    *, checkout: Checkout, transaction_id: str, source: str, fingerprint: str
) -> Order:
    product = checkout.product
    return Order.objects.create(
        checkout=checkout,
        transaction_id=transaction_id,
        product=product,
        quantity=checkout.quantity,
        customer_email=checkout.customer_email,
        customer_name=checkout.customer_name,
        unit_price=product.price,
        total=product.price * Decimal(checkout.quantity),
        currency=product.currency,
        source=source,
        request_fingerprint=fingerprint,
        completed_at=timezone.now(),
    )


def order_place(
    *, product: Product, quantity: int, customer_email: str, customer_name: str = ""
) -> Order:
    """The public checkout: open a checkout, charge the provider, complete the order.

    The charge happens outside any database transaction (it may be a network
    call). If it is declined, `PaymentDeclined` propagates and the checkout stays
    open, with no order.
    """
    checkout = checkout_create(
        product=product,
        quantity=quantity,
        customer_email=customer_email,
        customer_name=customer_name,
    )
    result = get_provider().charge(checkout=checkout)
    return order_complete(
        checkout=checkout,
        transaction_id=result.transaction_id,
        source=OrderSource.CHECKOUT,
    )


# --- Orders API -----------------------------------------------------------------


def _api_fields_clean(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise OrderError("invalid_json", "The body must be a JSON object.")
    fields: dict[str, list[str]] = {}
    for key in sorted(set(data) - set(ApiOrderForm.JSON_TYPES)):
        fields[key] = ["Unknown field."]
    for key, kind in ApiOrderForm.JSON_TYPES.items():
        value = data.get(key)
        wrong_type = isinstance(value, bool) or not isinstance(value, kind)
        if value is not None and wrong_type:
            fields[key] = [
                "Must be an integer." if kind is int else "Must be a string."
            ]
    form = ApiOrderForm(data={k: v for k, v in data.items() if k not in fields})
    form.is_valid()
    for key, errors in form.errors.items():
        fields.setdefault(key, list(errors))
    if fields:
        raise OrderError("invalid_fields", "Some fields are invalid.", fields=fields)
    return form.cleaned_data


def order_fingerprint(*, cleaned: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of what was asked: replay (same) or conflict.

    The email is compared case-insensitively; the transaction ID is the key, so
    it is not part of the contents.
    """
    contents = {
        "product": cleaned["product"],
        "quantity": cleaned["quantity"],
        "customer_email": cleaned["customer_email"].lower(),
        "customer_name": cleaned.get("customer_name") or "",
        "checkout_hash": cleaned.get("checkout_hash") or "",
    }
    canonical = json.dumps(
        contents, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _api_replay(*, transaction_id: str, fingerprint: str) -> Order | None:
    order = Order.objects.filter(transaction_id=transaction_id).first()
    if order is not None and order.request_fingerprint != fingerprint:
        raise OrderError(
            "transaction_conflict",
            "An order with this transaction_id exists with different contents.",
            status=409,
        )
    return order


def _api_product(*, slug: str) -> Product:
    product = Product.objects.filter(slug=slug).first()
    if product is None:
        raise OrderError(
            "product_not_found", f"No product with slug {slug!r}.", status=404
        )
    if not product.is_live:
        raise OrderError(
            "product_not_live", f"Product {slug!r} is not live.", status=409
        )
    return product


def order_create_from_api(*, data: dict) -> tuple[Order, bool]:
    """Create an order from a payment provider's JSON; returns (order, created).

    Idempotent on `transaction_id`: the same contents again return the existing
    order (created=False) and plan nothing; different contents are a
    `transaction_conflict`. Two identical calls racing each other both reach the
    insert; the unique transaction_id lets only one win, and the loser re-reads
    the winner's order after rolling back its savepoint.
    """
    cleaned = _api_fields_clean(data)
    fingerprint = order_fingerprint(cleaned=cleaned)
    transaction_id = cleaned["transaction_id"]
    existing = _api_replay(transaction_id=transaction_id, fingerprint=fingerprint)
    if existing is not None:
        return existing, False
    product = _api_product(slug=cleaned["product"])
    try:
        with transaction.atomic():
            order = _api_order_insert(
                product=product, cleaned=cleaned, fingerprint=fingerprint
            )
    except IntegrityError:
        existing = _api_replay(transaction_id=transaction_id, fingerprint=fingerprint)
        if existing is not None:
            return existing, False
        # Not our transaction_id, so the provider's checkout_hash is taken.
        raise OrderError(
            "checkout_hash_conflict",
            "A checkout with this checkout_hash already exists.",
            status=409,
            fields={"checkout_hash": ["This checkout hash is already used."]},
        ) from None
    return order, True


def _api_order_insert(
    *, product: Product, cleaned: dict[str, Any], fingerprint: str
) -> Order:
    checkout = checkout_create(
        product=product,
        quantity=cleaned["quantity"],
        customer_email=cleaned["customer_email"],
        customer_name=cleaned.get("customer_name") or "",
        checkout_hash=cleaned.get("checkout_hash") or None,
    )
    return order_complete(
        checkout=checkout,
        transaction_id=cleaned["transaction_id"],
        source=OrderSource.API,
        fingerprint=fingerprint,
    )


# --- API tokens -----------------------------------------------------------------


def api_token_create(*, name: str) -> tuple[ApiToken, str]:
    """Create a token; returns it with the raw secret, which is never stored."""
    new = token_generate()
    token = ApiToken.objects.create(
        name=name, prefix=new.prefix, token_hash=new.token_hash
    )
    return token, new.raw


def api_token_touch(*, token: ApiToken) -> None:
    # An UPDATE rather than save(): concurrent requests with the same token must
    # not overwrite each other's other fields (e.g. a revocation by staff).
    now = timezone.now()
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    token.last_used_at = now
