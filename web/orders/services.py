"""Placing orders: checkouts, payments and API orders, each with its
fulfillment started in the same transaction; and the seller's retry."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from fulfillment.models import AlertType, Delivery
from fulfillment.services.alerts import alert_order_event
from fulfillment.services.deliveries import order_fulfillment_start
from fulfillment.services.loading import product_load_by_slug
from fulfillment.services.wakeups import delivery_retry_now
from keylists.selectors import key_list_free_count
from lib.fingerprint import request_fingerprint
from orders.checkout_tokens import CheckoutTokenInvalid, checkout_token_nonce
from orders.errors import OrderError
from orders.inputs import text_problem
from orders.models import (
    MAX_QUANTITY,
    Checkout,
    CheckoutStatus,
    Order,
    OrderSource,
)
from orders.payments import PaymentDeclined, get_provider
from products.models import Product
from web.orders.forms import (
    QUANTITY_MESSAGE,
    ApiOrderForm,
    ApiRefundForm,
    passthrough_problem,
)

# --- Checkout -------------------------------------------------------------------


def _checkout_validate(
    *, product: Product, quantity: int, customer_email: str, passthrough: str
) -> None:
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
    # The forms check it too; this is the check nothing can go around.
    problem = passthrough_problem(passthrough)
    if problem:
        fields["passthrough"] = [problem]
    if fields:
        raise OrderError("invalid_fields", "Some fields are invalid.", fields=fields)


def checkout_create(
    *,
    product: Product,
    quantity: int,
    customer_email: str,
    customer_name: str = "",
    passthrough: str = "",
    checkout_hash: str | None = None,
    nonce: str | None = None,
    status: str = CheckoutStatus.OPEN,
) -> Checkout:
    """Open a checkout for a live product (quantity 1–100).

    Draft products cannot be bought, whoever asks. `checkout_hash` is the hash a
    payment provider already knows (orders API); otherwise a random one is made.
    `nonce` is the public checkout form's identity (unique; see `checkout_submit`).
    `passthrough` is the seller's own data, refused unless `passthrough_problem`
    finds nothing wrong with it.
    """
    _checkout_validate(
        product=product,
        quantity=quantity,
        customer_email=customer_email,
        passthrough=passthrough,
    )
    extra = {"hash": checkout_hash} if checkout_hash else {}
    return Checkout.objects.create(
        status=status,
        product=product,
        quantity=quantity,
        customer_email=customer_email,
        customer_name=customer_name,
        passthrough=passthrough,
        nonce=nonce,
        **extra,
    )


# --- Orders ---------------------------------------------------------------------


def order_complete(
    *,
    checkout: Checkout,
    transaction_id: str,
    source: str,
    fingerprint: str = "",
    is_test: bool = False,
) -> Order:
    """Turn a paid checkout into an order and plan its fulfillment, atomically.

    The checkout row is locked, so a checkout becomes at most one order. Prices
    are copied from the product, so a later price change never rewrites history.
    The deliveries are planned in the same transaction (an order never exists
    without them); fulfillment enqueues their tasks only after commit.
    """
    with transaction.atomic():
        checkout = (
            # The product and its webhook config are read, not locked.
            Checkout.objects.select_for_update(of=("self",))
            .select_related("product__webhook_config")
            .get(pk=checkout.pk)
        )
        if checkout.status != CheckoutStatus.OPEN:
            raise OrderError(
                "checkout_completed", "This checkout is already paid.", status=409
            )
        return _order_complete_locked(
            checkout=checkout,
            transaction_id=transaction_id,
            source=source,
            fingerprint=fingerprint,
            is_test=is_test,
        )


def _order_complete_locked(*, checkout: Checkout, **fields: Any) -> Order:
    """The order of an open checkout that this transaction holds: locked by
    `order_complete`, or inserted by this very transaction (the orders API)."""
    order = _order_create(checkout=checkout, **fields)
    if checkout.status != CheckoutStatus.COMPLETED:
        checkout.status = CheckoutStatus.COMPLETED
        checkout.save(update_fields=["status"])
    order.planned_deliveries = order_fulfillment_start(order=order)
    # Paid and created: the seller's `order.completed` alert, in this transaction.
    alert_order_event(order=order, type=AlertType.ORDER_COMPLETED)
    return order


def _order_create(
    *,
    checkout: Checkout,
    transaction_id: str,
    source: str,
    fingerprint: str,
    is_test: bool,
) -> Order:
    product = checkout.product
    return Order.objects.create(
        checkout=checkout,
        transaction_id=transaction_id,
        product=product,
        quantity=checkout.quantity,
        customer_email=checkout.customer_email,
        customer_name=checkout.customer_name,
        passthrough=checkout.passthrough,
        unit_price=product.price,
        total=product.price * Decimal(checkout.quantity),
        currency=product.currency,
        source=source,
        request_fingerprint=fingerprint,
        is_test=is_test,
        completed_at=timezone.now(),
    )


def order_place(
    *,
    product: Product,
    quantity: int,
    customer_email: str,
    customer_name: str = "",
    passthrough: str = "",
    nonce: str | None = None,
    refuse_beyond_stock: bool = False,
) -> Order:
    """The public checkout: open a checkout, charge the provider, complete the order.

    The charge happens outside any database transaction (it may be a network
    call). If it is declined, `PaymentDeclined` propagates and the checkout stays
    open, with no order (and gives its nonce back). With a `nonce`, a checkout
    that already carries it is not charged again: its order is returned (see
    `checkout_submit`). The provider's `is_test` marks the order. `passthrough`
    is the seller's own data from the product page's link. `refuse_beyond_stock`
    (the public form): a key list product refuses a quantity above its keys
    left before anything is charged (`checkout_stock_check`).
    """
    provider = get_provider()
    if nonce:
        earlier = _checkout_replay(
            product=product,
            nonce=nonce,
            customer_email=customer_email,
            passthrough=passthrough,
        )
        if earlier is not None:
            return earlier
    if refuse_beyond_stock:
        checkout_stock_check(product=product, quantity=quantity)
    checkout = _checkout_claim(
        product=product,
        quantity=quantity,
        customer_email=customer_email,
        customer_name=customer_name,
        passthrough=passthrough,
        nonce=nonce,
    )
    if isinstance(checkout, Order):
        return checkout
    try:
        result = provider.charge(checkout=checkout)
    except PaymentDeclined:
        # Nothing was charged: let the buyer post the same form again.
        Checkout.objects.filter(pk=checkout.pk).update(nonce=None)
        raise
    return order_complete(
        checkout=checkout,
        transaction_id=result.transaction_id,
        source=OrderSource.CHECKOUT,
        is_test=provider.is_test,
    )


def checkout_stock_check(*, product: Product, quantity: int) -> None:
    """Refuse a key list product's quantity above the keys left, next to the
    quantity field. A check, not a reservation: two buyers racing for the last
    key may both pay, and the later order waits for keys (with its reason) and
    is served when the seller adds some. Orders paid elsewhere (the orders API)
    never come here: they wait the same way."""
    if not product.uses_key_list:
        return
    left = key_list_free_count(product_id=product.pk)
    if quantity > left:
        message = f"Only {left} left." if left else "Sold out."
        raise OrderError(
            "sold_out", message, status=409, fields={"quantity": [message]}
        )


# --- Public checkout form: one order per form shown ------------------------------

CHECKOUT_EXPIRED_MESSAGE = "Your checkout expired; please try again."
CHECKOUT_USED_MESSAGE = "This checkout was already used; reload the page."
CHECKOUT_BUSY_MESSAGE = (
    "This checkout is still being processed; reload the page in a moment."
)
# How long a repeated post waits for its twin, still being charged, to finish.
CHECKOUT_REPLAY_WAIT_SECONDS = 10.0
CHECKOUT_REPLAY_POLL_SECONDS = 0.2


def checkout_submit(
    *,
    product: Product,
    checkout_token: str,
    quantity: int,
    customer_email: str,
    customer_name: str = "",
    passthrough: str = "",
) -> Order:
    """The public checkout form, posted: at most one order per form shown.

    The form carries a signed token whose nonce becomes the checkout's identity.
    Posting the same form again (a double-click, a browser retry) returns the
    order the first post made instead of charging and fulfilling twice, provided
    the email and the passthrough are the same; different ones are refused. A
    missing, tampered or expired token is refused, never guessed at.
    """
    try:
        nonce = checkout_token_nonce(token=checkout_token, product_pk=product.pk)
    except CheckoutTokenInvalid:
        raise OrderError("checkout_expired", CHECKOUT_EXPIRED_MESSAGE) from None
    return order_place(
        product=product,
        quantity=quantity,
        customer_email=customer_email,
        customer_name=customer_name,
        passthrough=passthrough,
        nonce=nonce,
        refuse_beyond_stock=True,
    )


def _checkout_claim(*, nonce: str | None, **fields: Any) -> Checkout | Order:
    """Create the checkout; if a twin post inserted the nonce first, its order."""
    try:
        with transaction.atomic():
            return checkout_create(nonce=nonce, **fields)
    except IntegrityError:
        if not nonce:
            raise
    earlier = _checkout_replay(
        product=fields["product"],
        nonce=nonce,
        customer_email=fields["customer_email"],
        passthrough=fields["passthrough"],
    )
    if earlier is None:
        raise OrderError("checkout_used", CHECKOUT_USED_MESSAGE, status=409)
    return earlier


def _checkout_replay(
    *, product: Product, nonce: str, customer_email: str, passthrough: str
) -> Order | None:
    """The order an earlier post of this form made; None when there was none.

    A twin still being charged is waited for, briefly: the browser shows the
    answer to the last click, and that must be the order, not an error.
    """
    deadline = time.monotonic() + CHECKOUT_REPLAY_WAIT_SECONDS
    while True:
        checkout = Checkout.objects.filter(product=product, nonce=nonce).first()
        if checkout is None:
            return None
        if (
            checkout.customer_email.lower() != customer_email.lower()
            or checkout.passthrough != passthrough
        ):
            # Not a repeat of the same form: another buyer's, or edited.
            raise OrderError("checkout_used", CHECKOUT_USED_MESSAGE, status=409)
        if checkout.status == CheckoutStatus.COMPLETED:
            return Order.objects.get(checkout=checkout)
        if time.monotonic() >= deadline:
            raise OrderError("checkout_busy", CHECKOUT_BUSY_MESSAGE, status=409)
        time.sleep(CHECKOUT_REPLAY_POLL_SECONDS)


# --- Orders API -----------------------------------------------------------------


def _api_json_problem(value: Any, kind: type) -> str | None:
    """What is wrong with a JSON value before form cleaning, or None.

    Text that no field may hold (NUL, lone surrogates, control characters) is
    refused here, before it can reach an encoder or the database.
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, kind):
        return "Must be an integer." if kind is int else "Must be a string."
    return text_problem(value) if isinstance(value, str) else None


ApiForm = type[ApiOrderForm] | type[ApiRefundForm]


def api_fields_clean(data: Any, form_class: ApiForm = ApiOrderForm) -> dict[str, Any]:
    """The cleaned fields of a JSON object, or `invalid_json`/`invalid_fields`."""
    if not isinstance(data, dict):
        raise OrderError("invalid_json", "The body must be a JSON object.")
    fields: dict[str, list[str]] = {}
    for key in sorted(set(data) - set(form_class.JSON_TYPES)):
        fields[key] = ["Unknown field."]
    hints = getattr(form_class, "JSON_HINTS", {})
    for key, kind in form_class.JSON_TYPES.items():
        problem = _api_json_problem(data.get(key), kind)
        if problem:
            fields[key] = [hints.get(key, problem)]
    form = form_class(data={k: v for k, v in data.items() if k not in fields})
    form.is_valid()
    for key, errors in form.errors.items():
        fields.setdefault(key, [str(error) for error in errors])
    if fields:
        raise OrderError("invalid_fields", "Some fields are invalid.", fields=fields)
    return form.cleaned_data


def order_fingerprint(*, cleaned: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of what was asked: replay (same) or conflict.

    The email is compared case-insensitively; the transaction ID is the key, so
    it is not part of the contents. The passthrough is, exactly, but only when
    given: orders stored before it existed keep the fingerprint they have, so
    their replays without one still answer 200.
    """
    contents = {
        "product": cleaned["product"],
        "quantity": cleaned["quantity"],
        "customer_email": cleaned["customer_email"].lower(),
        "customer_name": cleaned.get("customer_name") or "",
        "checkout_hash": cleaned.get("checkout_hash") or "",
    }
    if cleaned.get("passthrough"):
        contents["passthrough"] = cleaned["passthrough"]
    return request_fingerprint(contents)


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
    # With its Webhook config, whose URL and version planning needs; without its
    # signing secrets (each one a decryption), in one precompiled statement.
    product = product_load_by_slug(slug)
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
    `transaction_conflict`. The insert comes first (a replay is the rare case):
    the unique transaction_id refuses a second order, and the caller then reads
    the existing one after rolling back. Two identical calls racing each other
    end the same way: one wins, the other returns the winner's order.
    """
    cleaned = api_fields_clean(data)
    fingerprint = order_fingerprint(cleaned=cleaned)
    transaction_id = cleaned["transaction_id"]
    # Insert first, the product read included (one transaction, one commit): a
    # replay is rare, and the unique transaction_id finds it.
    try:
        with transaction.atomic():
            order = _api_order_insert(cleaned=cleaned, fingerprint=fingerprint)
    except OrderError:
        # A retry of an order made while the product was live still gets it.
        existing = _api_replay(transaction_id=transaction_id, fingerprint=fingerprint)
        if existing is not None:
            return existing, False
        raise
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


def _api_order_insert(*, cleaned: dict[str, Any], fingerprint: str) -> Order:
    product = _api_product(slug=cleaned["product"])
    # Paid already (the provider calls us after the payment): born completed.
    checkout = checkout_create(
        product=product,
        quantity=cleaned["quantity"],
        customer_email=cleaned["customer_email"],
        customer_name=cleaned.get("customer_name") or "",
        passthrough=cleaned.get("passthrough") or "",
        checkout_hash=cleaned.get("checkout_hash") or None,
        status=CheckoutStatus.COMPLETED,
    )
    # Inserted by this transaction: nobody else can see it, let alone pay it.
    return _order_complete_locked(
        checkout=checkout,
        transaction_id=cleaned["transaction_id"],
        source=OrderSource.API,
        fingerprint=fingerprint,
        is_test=False,
    )


# --- Seller dashboard -----------------------------------------------------------


def order_delivery_retry(*, delivery: Delivery) -> bool:
    """Seller: attempt a failed or retrying delivery of their order now.

    False when its state does not allow it (succeeded, in flight, a test); the
    caller shows the status it has now.
    """
    retried = delivery_retry_now(delivery=delivery)
    delivery.refresh_from_db(fields=["status"])
    return retried
