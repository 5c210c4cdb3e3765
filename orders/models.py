from __future__ import annotations

import secrets

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

MAX_QUANTITY = 100
# The seller's own data carried through checkout (`?passthrough=` on the product
# page, `passthrough` in the orders API) and sent back to them with the order.
PASSTHROUGH_MAX_LENGTH = 1000


def new_checkout_hash() -> str:
    return secrets.token_hex(16)


def new_order_token() -> str:
    # 256 bits: the customer's order page URL is the only key to it.
    return secrets.token_urlsafe(32)


class CheckoutStatus(models.TextChoices):
    OPEN = "open", "Open"
    COMPLETED = "completed", "Completed"


class Checkout(models.Model):
    hash = models.CharField(max_length=64, unique=True, default=new_checkout_hash)
    product = models.ForeignKey(
        "products.Product", on_delete=models.PROTECT, related_name="checkouts"
    )
    quantity = models.PositiveIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(MAX_QUANTITY)]
    )
    customer_email = models.EmailField()
    customer_name = models.CharField(max_length=200, blank=True)
    # Opaque text from the buyer's browser (or the provider), kept as given and
    # copied to the order; see Order.passthrough.
    passthrough = models.CharField(
        max_length=PASSTHROUGH_MAX_LENGTH, blank=True, default=""
    )
    status = models.CharField(
        max_length=10, choices=CheckoutStatus.choices, default=CheckoutStatus.OPEN
    )
    # The random nonce of the signed token the public checkout form carried. It
    # makes a double-click (the same form posted twice) one checkout, one order.
    # Null for API checkouts, and cleared when a payment is declined so the same
    # form may be posted again.
    nonce = models.CharField(
        max_length=64, unique=True, null=True, blank=True, editable=False
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.hash


class FulfillmentStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    FULFILLED = "fulfilled", "Fulfilled"
    FAILED = "failed", "Failed"
    # Manual products: the seller delivers outside this platform.
    MANUAL = "manual", "Delivered by the seller"


class OrderSource(models.TextChoices):
    CHECKOUT = "checkout", "Checkout"
    API = "api", "Orders API"


class Order(models.Model):
    checkout = models.OneToOneField(
        Checkout, on_delete=models.PROTECT, related_name="order"
    )
    transaction_id = models.CharField(max_length=200, unique=True)
    product = models.ForeignKey(
        "products.Product", on_delete=models.PROTECT, related_name="orders"
    )
    quantity = models.PositiveIntegerField()
    customer_email = models.EmailField(db_index=True)
    customer_name = models.CharField(max_length=200, blank=True)
    unit_price = models.DecimalField(max_digits=10, decimal_places=2)
    total = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    source = models.CharField(max_length=10, choices=OrderSource.choices)
    # Paid with a provider that takes no money (the test provider): never a sale.
    is_test = models.BooleanField("Test order", default=False)
    # Hash of what the API was asked, to tell a replay (200) from a conflict (409).
    request_fingerprint = models.CharField(max_length=64, blank=True)
    completed_at = models.DateTimeField()
    fulfillment_status = models.CharField(
        max_length=10,
        choices=FulfillmentStatus.choices,
        default=FulfillmentStatus.PENDING,
    )
    fulfilled_at = models.DateTimeField(null=True, blank=True)
    token = models.CharField(max_length=64, unique=True, default=new_order_token)
    # The seller's own data (say, their account id for the buyer), sent to their
    # webhook as `passthrough` and shown to them and to staff only: never to the
    # customer. It came from a URL anyone can edit, so it is text to escape and
    # to check, never proof of anything.
    passthrough = models.CharField(
        max_length=PASSTHROUGH_MAX_LENGTH, blank=True, default=""
    )

    # Not a column: the deliveries planned by the transaction that created this
    # instance, so that the orders API answers without reading them back. None
    # on an order loaded from the database.
    planned_deliveries: list | None = None

    class Meta:
        ordering = ["-completed_at"]
        indexes = [
            # Delay notices: orders by status and age.
            models.Index(
                fields=["fulfillment_status", "completed_at"],
                name="order_status_completed_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.transaction_id


class ApiScope(models.TextChoices):
    ORDERS_READ = "orders:read", "Read orders (GET /api/v1/orders/<id>)"
    ORDERS_WRITE = "orders:write", "Create orders (POST /api/v1/orders)"


# New tokens, and the tokens that existed before scopes, may do everything the
# API offers; staff narrow a token by unticking scopes when they create it.
ALL_API_SCOPES = ",".join(ApiScope.values)


class ApiToken(models.Model):
    """A payment provider's key to the orders API. Only a SHA-256 hash is stored."""

    name = models.CharField(max_length=100, help_text="Who uses it, e.g. the provider.")
    # The first characters, to recognise a token in lists without revealing it.
    prefix = models.CharField(max_length=12, editable=False)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked = models.BooleanField(default=False)
    # Comma-separated ApiScope values: a short, fixed vocabulary that needs no
    # JSON querying, and reads plainly in the database and in admin.
    scopes = models.CharField(max_length=200, default=ALL_API_SCOPES)

    class Meta:
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def scope_list(self) -> list[str]:
        return [scope for scope in self.scopes.split(",") if scope]

    def has_scope(self, scope: str) -> bool:
        return scope in self.scope_list
