from __future__ import annotations

import secrets

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

MAX_QUANTITY = 100


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


class EmailStatus(models.TextChoices):
    NOT_SENT = "not_sent", "Not sent yet"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    DISABLED = "disabled", "Order emails off"


class EmailDelivery(models.TextChoices):
    """What the ESP reported about the order email last sent (see email_tracking)."""

    # Nothing sent yet, or sent through a backend that reports nothing (SMTP, files).
    UNKNOWN = "unknown", "No delivery report"
    AWAITING = "awaiting", "Sent, awaiting the provider's report"
    DELIVERED = "delivered", "Delivered"
    # Bounced, or rejected by the ESP (e.g. a suppressed address): undeliverable.
    BOUNCED = "bounced", "Bounced"
    COMPLAINED = "complained", "Marked as spam"


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
    email_status = models.CharField(
        max_length=10, choices=EmailStatus.choices, default=EmailStatus.NOT_SENT
    )
    email_sent_at = models.DateTimeField(null=True, blank=True)
    # When a worker claimed the email (status `sending`); a claim older than
    # FULFILLMENT["EMAIL_CLAIM_TIMEOUT_SECONDS"] belongs to a dead worker.
    email_claimed_at = models.DateTimeField(null=True, blank=True)
    # The order email last sent: the ESP's id for it (Anymail backends report one;
    # SMTP and file backends do not, so it stays empty) and the address it went to.
    # Tracking events about any other message never change the delivery status.
    email_message_id = models.CharField(max_length=255, blank=True, db_index=True)
    email_sent_to = models.EmailField(blank=True)
    # What the ESP reported about that message, when (the event's own time) and
    # why (the receiving server's answer for a bounce).
    email_delivery = models.CharField(
        max_length=12, choices=EmailDelivery.choices, default=EmailDelivery.UNKNOWN
    )
    email_delivery_at = models.DateTimeField(null=True, blank=True)
    email_delivery_detail = models.CharField(max_length=500, blank=True)
    # The short "your license is on its way" email, sent once to a customer whose
    # order is still unfulfilled some minutes after purchase.
    delay_notice_sent_at = models.DateTimeField(null=True, blank=True)
    token = models.CharField(max_length=64, unique=True, default=new_order_token)

    # Not a column: the deliveries planned by the transaction that created this
    # instance, so that the orders API answers without reading them back. None
    # on an order loaded from the database.
    planned_deliveries: list | None = None

    class Meta:
        ordering = ["-completed_at"]
        indexes = [
            # Delay notices and owed emails: orders by status and age.
            models.Index(
                fields=["fulfillment_status", "completed_at"],
                name="order_status_completed_idx",
            ),
            # Orders whose email is still owed (the email dispatcher, /metrics):
            # a few rows, where the index above holds every fulfilled order.
            models.Index(
                fields=["fulfillment_status", "completed_at"],
                condition=models.Q(email_status__in=["not_sent", "sending"]),
                name="order_email_owed_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.transaction_id


class EmailEventType(models.TextChoices):
    """Anymail's normalized event types, and our own record of each send."""

    SUBMITTED = "submitted", "Handed to the email provider"
    QUEUED = "queued", "Queued"
    SENT = "sent", "Sent by the provider"
    REJECTED = "rejected", "Rejected by the provider"
    FAILED = "failed", "Failed"
    BOUNCED = "bounced", "Bounced"
    DEFERRED = "deferred", "Deferred"
    DELIVERED = "delivered", "Delivered"
    AUTORESPONDED = "autoresponded", "Autoresponded"
    OPENED = "opened", "Opened"
    CLICKED = "clicked", "Clicked"
    COMPLAINED = "complained", "Marked as spam"
    UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
    SUBSCRIBED = "subscribed", "Subscribed"
    UNKNOWN = "unknown", "Other"


class EmailEvent(models.Model):
    """One thing the ESP reported about an order email, or one send of ours.

    Every tracking event for a known order is kept once (a repeated webhook is
    dropped), including reports about an earlier send and types that change
    nothing (deferred, opened): the log says what happened, `Order.email_delivery`
    is the verdict.
    """

    order = models.ForeignKey(
        Order, on_delete=models.CASCADE, related_name="email_events"
    )
    # Anymail's name of the ESP ("Postmark"); empty for our own `submitted` rows.
    esp_name = models.CharField(max_length=40, blank=True)
    # The ESP's id of the event, when it gives one: a retried webhook repeats it.
    event_id = models.CharField(max_length=255, blank=True)
    message_id = models.CharField(max_length=255, blank=True, db_index=True)
    event_type = models.CharField(max_length=20, choices=EmailEventType.choices)
    recipient = models.CharField(max_length=254, blank=True)
    # The ESP's time of the event (our receipt time if it gives none).
    timestamp = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)
    description = models.CharField(max_length=500, blank=True)
    mta_response = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-timestamp", "-pk"]
        constraints = [
            # The dedup rule, kept by the database too.
            models.UniqueConstraint(
                fields=["esp_name", "event_id"],
                condition=~models.Q(event_id=""),
                name="emailevent_esp_event_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.recipient} ({self.message_id or 'no id'})"


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
