from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.utils import timezone

from lib.ids import new_alert_id, new_delivery_id, new_signing_secret

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


class ResponseFormat(models.TextChoices):
    """How the seller's answer is read (outcome.judge)."""

    TEXT = "text", "One license (text or Markdown)"
    LINES = "lines", "One license per line"
    JSON = "json", 'JSON: {"licenses": ["…", …]}'


class SigningSecrets(models.Model):
    """A rotatable Standard Webhooks signing secret, encrypted at rest.

    Shared by the product's WebhookConfig and the seller's AlertEndpoint: both
    sign the same way and rotate the same way (services.config).
    """

    # Encrypted at rest (fulfillment.crypto): a database dump alone must not let
    # anyone forge our webhooks. Reads and writes see the plaintext `whsec_` value.
    signing_secret = EncryptedTextField(default=new_signing_secret)
    # During a rotation the previous secret keeps signing until it expires.
    previous_signing_secret = EncryptedTextField(blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    def active_secrets(self, *, now=None) -> list[str]:
        now = now or timezone.now()
        secrets_ = [self.signing_secret]
        if self.previous_signing_secret and (
            self.previous_secret_expires_at and self.previous_secret_expires_at > now
        ):
            secrets_.append(self.previous_signing_secret)
        return secrets_


class WebhookConfig(SigningSecrets):
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
    response_format = models.CharField(
        "Response format",
        max_length=5,
        choices=ResponseFormat.choices,
        default=ResponseFormat.TEXT,
    )
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Webhook for {self.product}"


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


class DeliverySource(models.TextChoices):
    """Where a delivery's licenses come from."""

    WEBHOOK = "webhook", "Your server"
    # The product's method is "License key list": keys from the list, no request.
    KEY_LIST = "key_list", "Your key list"
    # A Webhook delivery whose server had not answered successfully after the
    # key list's fallback delay: its requests stopped and a key was sent instead.
    FALLBACK = "fallback", "Served from your key list"


# A delivery in one of these states will be attempted (again) when it is due.
DUE_STATUSES = (DeliveryStatus.PENDING, DeliveryStatus.RETRYING)


def status_before_claim(*, attempts: int, lost: int) -> str:
    """The due status of a delivery with `attempts` attempt rows, `lost` of them
    lost with a stopped worker: pending until one that counts was made."""
    return DeliveryStatus.RETRYING if attempts - lost > 0 else DeliveryStatus.PENDING


class AttemptedJob(models.Model):
    """What the engine needs of a request it sends until it is accepted: its
    state, its attempts, its lease and its endpoint. A fulfillment `Delivery` and
    an `AlertDelivery` are both one."""

    # A test is sent once, at once, with its signature kept: the seller is
    # looking at the result.
    is_test = models.BooleanField(default=False)
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
    last_error = models.TextField(blank=True)
    succeeded_at = models.DateTimeField(null=True, blank=True)
    # scheme://host:port of the seller's server, for the per-endpoint in-flight
    # limit and circuit breaker (see EndpointHealth).
    endpoint_key = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True

    @property
    def counted_attempts(self) -> int:
        """Attempts that count against the retry schedule."""
        return self.attempt_count - self.lost_claims


class Delivery(AttemptedJob):
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
    # One press of "Send test request": its delivery IDs share the first one's ID.
    test_run = models.CharField(max_length=40, blank=True, default="")
    # The config version this delivery was planned with (the checklist compares it).
    config_version = models.PositiveIntegerField()
    item_index = models.PositiveIntegerField(default=1)
    item_count = models.PositiveIntegerField(default=1)
    quantity = models.PositiveIntegerField(default=1)
    source = models.CharField(
        max_length=8, choices=DeliverySource.choices, default=DeliverySource.WEBHOOK
    )
    # The seller's answer once it succeeded: the license text (Markdown).
    response_text = models.TextField(blank=True)
    # The licenses of that answer, one per unit, when it was read as a list
    # (ResponseFormat LINES or JSON); empty: the whole `response_text` is the
    # one license (see `license_texts`).
    licenses = models.JSONField(default=list, blank=True)
    # Sample order data for test deliveries (JSON of payload.OrderFacts).
    test_facts = models.JSONField(null=True, blank=True)
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

    # Not columns: the endpoint's breaker state, set when services.loading reads
    # it with the delivery (None: the endpoint has no health row); unset otherwise.
    endpoint_failures: int | None
    endpoint_open_until: datetime | None

    @property
    def license_texts(self) -> list[str]:
        """What the customer gets from this delivery, one text per license."""
        if self.licenses:
            return list(self.licenses)
        return [self.response_text] if self.response_text else []

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
    # A list answer (ResponseFormat LINES or JSON) that cannot be read as one.
    BAD_LIST = "bad_list", "Unreadable license list"
    LICENSE_COUNT = "license_count", "Wrong number of licenses"
    CONFIG = "config", "Configuration missing"
    DNS = "dns", "Host not found"
    # The worker stopped mid-attempt; the try does not count (not a failure of
    # the seller's server).
    INTERRUPTED = "interrupted", "Worker stopped"
    ERROR = "error", "Other error"


class AttemptRecord(models.Model):
    """Every try, as sent and as answered. Secrets are never stored here.

    The columns of a delivery's attempt and of an alert's (AlertAttempt): both
    are written by `services.exchange.attempt_fields`."""

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
        abstract = True


class DeliveryAttempt(AttemptRecord):
    delivery = models.ForeignKey(
        Delivery, on_delete=models.CASCADE, related_name="attempts"
    )

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


# --- Alerts: the seller's account-wide webhook ------------------------------------


class AlertType(models.TextChoices):
    """The events a seller's Alerts URL may be told about."""

    ORDER_COMPLETED = "order.completed", "Order completed (paid)"
    ORDER_REFUNDED = "order.refunded", "Order refunded"
    ORDER_DISPUTE_OPENED = "order.dispute_opened", "Dispute opened"
    ORDER_DISPUTE_CLOSED = "order.dispute_closed", "Dispute closed"
    ORDER_CANCELLED = "order.cancelled", "Order cancelled"
    DELIVERY_FAILED = "delivery.failed", "Fulfillment delivery failed for good"
    # Only "Send test alert" sends it; a seller cannot subscribe to it.
    TEST = "test", "Test alert"


class AlertEndpoint(SigningSecrets):
    """One seller's Alerts URL, the events it receives and its own signing secret."""

    seller = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    url = models.URLField("Alerts URL", max_length=2000, blank=True)
    # AlertType values the seller chose, in AlertType's order.
    events = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Alerts of {self.seller}"


class AlertDelivery(AttemptedJob):
    """One event for one seller's Alerts URL, attempted until it is accepted.

    Its own table, not `Delivery`: an alert belongs to no order and no product, so
    the order's status, product health, the checklist and the hot path's SQL
    never have to skip it (docs/decisions.md, "Alerts").
    """

    # Sent as `webhook-id`: the same on every retry, the seller's dedupe key.
    alert_id = models.CharField(
        max_length=40, unique=True, default=new_alert_id, editable=False
    )
    seller = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    type = models.CharField(max_length=40, choices=AlertType.choices)
    # What the event is about ("order:12", "delivery:dlv_..."): with the seller
    # and the type, at most one alert per event, however often it is emitted.
    subject = models.CharField(max_length=200)
    # The JSON body exactly as sent, signed on every attempt.
    payload = models.JSONField()

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "alert deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["seller", "type", "subject"], name="alert_once_per_event"
            )
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="alert_due_idx"),
            models.Index(fields=["status", "lease_expires_at"], name="alert_lease_idx"),
            models.Index(fields=["seller", "created_at"], name="alert_seller_idx"),
        ]

    def __str__(self) -> str:
        return self.alert_id


class AlertAttempt(AttemptRecord):
    alert = models.ForeignKey(
        AlertDelivery, on_delete=models.CASCADE, related_name="attempts"
    )

    class Meta:
        ordering = ["alert", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["alert", "number"], name="alert_attempt_number_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.alert_id} #{self.number}"
