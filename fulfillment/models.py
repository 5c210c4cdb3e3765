from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.utils import timezone

from lib.ids import new_delivery_id, new_signing_secret

from .crypto import EncryptedTextField
from .payload import yielded_field

if TYPE_CHECKING:
    from datetime import datetime

    from orders.models import Order


class HttpMethod(models.TextChoices):
    GET = "GET", "GET"
    POST = "POST", "POST"


class BodyFormat(models.TextChoices):
    FORM = "form", "Form-encoded (application/x-www-form-urlencoded)"
    JSON = "json", "JSON (application/json)"


class WebhookConfig(models.Model):
    """The Webhook Editor's fields for one product. `version` bumps on every save."""

    product = models.OneToOneField(
        "products.Product", on_delete=models.CASCADE, related_name="webhook_config"
    )
    url = models.URLField("Webhook URL", max_length=2000, blank=True)
    method = models.CharField(
        "Request Method", max_length=4, choices=HttpMethod.choices, default="POST"
    )
    body_format = models.CharField(
        "Body format", max_length=4, choices=BodyFormat.choices, default="form"
    )
    instructions = models.TextField("Instructions", blank=True)
    separate_multibuy = models.BooleanField("Separate Multibuy", default=False)
    # Encrypted at rest (fulfillment.crypto): a database dump alone must not let
    # anyone forge our webhooks. Reads and writes see the plaintext `whsec_` value.
    signing_secret = EncryptedTextField(default=new_signing_secret)
    # During a rotation the previous secret keeps signing until it expires.
    previous_signing_secret = EncryptedTextField(blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Webhook for {self.product}"

    def active_secrets(self, *, now=None) -> list[str]:
        now = now or timezone.now()
        secrets_ = [self.signing_secret]
        if self.previous_signing_secret and (
            self.previous_secret_expires_at and self.previous_secret_expires_at > now
        ):
            secrets_.append(self.previous_signing_secret)
        return secrets_


class CustomFieldKind(models.TextChoices):
    CHECKOUT_HASH = "checkout_hash", "Checkout hash"
    TRANSACTION_ID = "transaction_id", "Transaction ID"
    CUSTOMER_EMAIL = "customer_email", "Customer email"
    CUSTOMER_NAME = "customer_name", "Customer name (if collected)"
    STATIC = "static", "Static value or message"


class CustomField(models.Model):
    config = models.ForeignKey(
        WebhookConfig, on_delete=models.CASCADE, related_name="custom_fields"
    )
    kind = models.CharField(max_length=20, choices=CustomFieldKind.choices)
    name = models.CharField("Parameter name", max_length=64)
    value = models.CharField("Static value", max_length=1000, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["config", "name"], name="custom_field_name_unique_per_config"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"

    @property
    def replaces_standard_field(self) -> str | None:
        """The standard field sent as this one instead, when it was saved before
        its name became standard (see payload.YIELDING_FIELDS)."""
        return yielded_field(self.name)


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    IN_FLIGHT = "in_flight", "In flight"
    SUCCEEDED = "succeeded", "Succeeded"
    RETRYING = "retrying", "Retrying"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


# A delivery in one of these states will be attempted (again) when it is due.
DUE_STATUSES = (DeliveryStatus.PENDING, DeliveryStatus.RETRYING)


def status_before_claim(*, attempts: int, lost: int) -> str:
    """The due status of a delivery with `attempts` attempt rows, `lost` of them
    lost with a stopped worker: pending until one that counts was made."""
    return DeliveryStatus.RETRYING if attempts - lost > 0 else DeliveryStatus.PENDING


class Delivery(models.Model):
    """One HTTP request unit: an order's item (separate multibuy) or the whole order.

    Test deliveries (`is_test`) have no order; they carry sample order data instead.
    """

    delivery_id = models.CharField(
        max_length=40, unique=True, default=new_delivery_id, editable=False
    )
    order = models.ForeignKey(
        "orders.Order",
        on_delete=models.CASCADE,
        related_name="deliveries",
        null=True,
        blank=True,
    )
    product = models.ForeignKey(
        "products.Product", on_delete=models.CASCADE, related_name="deliveries"
    )
    is_test = models.BooleanField(default=False)
    # One press of "Send test request": its delivery IDs share the first one's ID.
    test_run = models.CharField(max_length=40, blank=True, default="")
    # The config version this delivery was planned with (the checklist compares it).
    config_version = models.PositiveIntegerField()
    item_index = models.PositiveIntegerField(default=1)
    item_count = models.PositiveIntegerField(default=1)
    quantity = models.PositiveIntegerField(default=1)
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    # Attempt rows so far, including tries lost with a stopped worker.
    attempt_count = models.PositiveIntegerField(default=0)
    # Of those, tries whose worker stopped before recording an answer: they do
    # not count against the retry schedule (see wakeups.deliveries_recover_abandoned).
    lost_claims = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, default=timezone.now)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    # The seller's answer once it succeeded: the license text (Markdown).
    response_text = models.TextField(blank=True)
    last_error = models.TextField(blank=True)
    # Sample order data for test deliveries (JSON of payload.OrderFacts).
    test_facts = models.JSONField(null=True, blank=True)
    succeeded_at = models.DateTimeField(null=True, blank=True)
    # scheme://host:port of the seller's server, for the per-endpoint in-flight
    # limit and circuit breaker (see EndpointHealth).
    endpoint_key = models.CharField(max_length=300, blank=True)
    # When the seller was told about this delivery's final failure (alerts are
    # grouped: one email lists every failure since the last one).
    alerted_at = models.DateTimeField(null=True, blank=True)
    # The person who fulfilled by hand or cancelled this delivery, if anybody.
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "deliveries"
        indexes = [
            # The dispatcher's query: due deliveries by time.
            models.Index(fields=["status", "next_attempt_at"], name="delivery_due_idx"),
            # Abandoned claims: in flight with an expired lease.
            models.Index(
                fields=["status", "lease_expires_at"], name="delivery_lease_idx"
            ),
            # The per-endpoint in-flight count and the release of held deliveries.
            models.Index(
                fields=["endpoint_key", "status", "lease_expires_at"],
                name="delivery_endpoint_idx",
            ),
            # Seller alerts: failures nobody was told about yet (a small set).
            models.Index(
                fields=["product"],
                condition=models.Q(status="failed", alerted_at__isnull=True),
                name="delivery_unalerted_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.delivery_id

    @property
    def counted_attempts(self) -> int:
        """Attempts that count against the retry schedule."""
        return self.attempt_count - self.lost_claims

    # Not columns: the endpoint's breaker state, set when services.loading reads
    # it with the delivery (None: the endpoint has no health row); unset otherwise.
    endpoint_failures: int | None
    endpoint_open_until: datetime | None

    @property
    def real_order(self) -> Order:
        """The order of a real delivery. A test delivery has none, and code that
        reaches here with one has confused the two: it fails loudly."""
        if self.order is None:
            raise ValueError(f"Delivery {self.delivery_id} is a test: it has no order")
        return self.order


class ErrorKind(models.TextChoices):
    NONE = "", "None"
    REFUSED_URL = "refused_url", "URL refused"
    CONNECT = "connect", "Could not connect"
    TIMEOUT = "timeout", "Timed out"
    REDIRECT = "redirect", "Redirect not followed"
    STATUS = "status", "Non-200 status"
    EMPTY = "empty", "Empty body"
    TOO_LARGE = "too_large", "Response too large"
    NOT_TEXT = "not_text", "Not text"
    HTML = "html", "HTML response"
    CONFIG = "config", "Configuration missing"
    DNS = "dns", "Host not found"
    # The worker stopped mid-attempt; the try does not count (not a failure of
    # the seller's server).
    INTERRUPTED = "interrupted", "Worker stopped"
    ERROR = "error", "Other error"


class DeliveryAttempt(models.Model):
    """Every try, as sent and as answered. Secrets are never stored here."""

    delivery = models.ForeignKey(
        Delivery, on_delete=models.CASCADE, related_name="attempts"
    )
    number = models.PositiveIntegerField()
    # When the attempt was due by the schedule (or when its delivery was due
    # again after a lost claim); started_at - due_at is how late it went out.
    due_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    duration_ms = models.PositiveIntegerField(default=0)
    request_method = models.CharField(max_length=4)
    request_url = models.TextField()
    request_headers = models.JSONField(default=dict)
    request_body = models.TextField(blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_headers = models.JSONField(default=dict)
    response_body = models.TextField(blank=True)
    succeeded = models.BooleanField(default=False)
    error_kind = models.CharField(
        max_length=16, choices=ErrorKind.choices, blank=True, default=""
    )
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["delivery", "number"]
        indexes = [
            # Failed attempts of the last minutes (fulfillment/ops.py, /metrics):
            # the failures only, by time, so a scrape reads minutes of them and
            # not the whole history of attempts.
            models.Index(
                fields=["started_at"],
                condition=models.Q(succeeded=False),
                name="attempt_failed_started_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.delivery_id} #{self.number}"


class EndpointHealth(models.Model):
    """Circuit breaker state of one seller endpoint (scheme://host:port).

    After repeated consecutive failures the circuit opens until `open_until`: the
    endpoint's waiting deliveries are held in the database instead of occupying
    workers. Then one probe goes through; its success closes the circuit.
    """

    key = models.CharField(max_length=300, unique=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    open_until = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        verbose_name_plural = "endpoint health"

    def __str__(self) -> str:
        return self.key
