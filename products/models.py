from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models


class Currency(models.TextChoices):
    USD = "USD", "US dollar (USD)"
    EUR = "EUR", "Euro (EUR)"
    GBP = "GBP", "Pound sterling (GBP)"
    CAD = "CAD", "Canadian dollar (CAD)"
    AUD = "AUD", "Australian dollar (AUD)"
    JPY = "JPY", "Japanese yen (JPY)"


class FulfillmentMethod(models.TextChoices):
    # The seed calls it both "Webhook" and "Send a HTTP Request to my Server".
    WEBHOOK = "webhook", "Webhook (Send a HTTP Request to my Server)"
    MANUAL = "manual", "Manual (I deliver it myself)"
    # Keys the seller uploaded (keylists), one per unit sold, no request.
    KEY_LIST = "key_list", "License key list (keys I upload)"


class ProductStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    LIVE = "live", "Live"


class Product(models.Model):
    seller = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="products"
    )
    name = models.CharField(max_length=200)
    # Public: /p/<slug>/. Unique across sellers.
    slug = models.SlugField(max_length=80, unique=True)
    description = models.TextField(blank=True)
    price = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        default=Decimal("0.00"),
        validators=[MinValueValidator(Decimal("0.00"))],
    )
    currency = models.CharField(
        max_length=3, choices=Currency.choices, default=Currency.USD
    )
    fulfillment_method = models.CharField(
        max_length=16,
        choices=FulfillmentMethod.choices,
        default=FulfillmentMethod.WEBHOOK,
    )
    # The seed's switch: "Order emails can be disabled when you're editing your
    # product".
    send_order_emails = models.BooleanField(
        "Send order emails",
        default=True,
        help_text="Email the customer their license and your instructions.",
    )
    collect_customer_name = models.BooleanField(
        "Ask for the customer's name at checkout", default=False
    )
    status = models.CharField(
        max_length=8, choices=ProductStatus.choices, default=ProductStatus.DRAFT
    )
    # The checklist's "email preview seen" item: when the seller last looked at it.
    email_preview_seen_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_live(self) -> bool:
        return self.status == ProductStatus.LIVE

    @property
    def uses_webhook(self) -> bool:
        return self.fulfillment_method == FulfillmentMethod.WEBHOOK

    @property
    def is_manual(self) -> bool:
        """The seller delivers outside this platform: no licenses from us."""
        return self.fulfillment_method == FulfillmentMethod.MANUAL

    @property
    def uses_key_list(self) -> bool:
        return self.fulfillment_method == FulfillmentMethod.KEY_LIST
