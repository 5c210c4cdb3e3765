"""A product's license key list: keys the seller uploaded, each given to
exactly one unit of one order.

A key is free while `used_at` is empty. Taking one is a conditional claim
under the database's row locks (services.license_keys_claim), never a read
then a write, so two workers, a retry racing the fallback and a seller
fulfilling by hand cannot hand out the same key twice.
"""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

# The longest key accepted (a line of a pasted list, a CSV cell).
KEY_MAX_LENGTH = 500
# The fallback's delay: a minute to a week.
FALLBACK_MIN_MINUTES = 1
FALLBACK_MAX_MINUTES = 7 * 24 * 60


class KeyList(models.Model):
    """The list's settings for one product; its keys are `LicenseKey` rows."""

    product = models.OneToOneField(
        "products.Product", on_delete=models.CASCADE, related_name="key_list"
    )
    low_stock_threshold = models.PositiveIntegerField(
        "Low-stock alert at",
        default=10,
        validators=[MaxValueValidator(100_000)],
        help_text="We email you once when the keys left fall to this number.",
    )
    # The Webhook method's fallback: serve a key from this list when the
    # seller's server has not answered successfully after this many minutes.
    fallback_enabled = models.BooleanField(
        "Send a key from my list when my server does not answer", default=False
    )
    fallback_after_minutes = models.PositiveIntegerField(
        "Minutes to wait for my server",
        default=10,
        validators=[
            MinValueValidator(FALLBACK_MIN_MINUTES),
            MaxValueValidator(FALLBACK_MAX_MINUTES),
        ],
    )
    # When the seller was told that stock fell to the threshold; cleared when
    # keys added lift it above again, so each crossing is told once.
    low_stock_alerted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Key list of {self.product}"


class LicenseKey(models.Model):
    key_list = models.ForeignKey(KeyList, on_delete=models.CASCADE, related_name="keys")
    key = models.CharField(max_length=KEY_MAX_LENGTH)
    added_at = models.DateTimeField(default=timezone.now)
    # The delivery (an order's unit of fulfillment) this key went to, and which
    # unit of it (1..quantity). PROTECT: a key given to a customer stays on record.
    delivery = models.ForeignKey(
        "fulfillment.Delivery",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="license_keys",
    )
    unit_index = models.PositiveIntegerField(null=True, blank=True)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["key_list", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["key_list", "key"], name="license_key_unique_per_list"
            ),
            # A unit gets one key, however often it is served.
            models.UniqueConstraint(
                fields=["delivery", "unit_index"], name="license_key_one_per_unit"
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(used_at__isnull=True, delivery__isnull=True)
                    | models.Q(used_at__isnull=False, delivery__isnull=False)
                ),
                name="license_key_used_with_delivery",
            ),
        ]
        indexes = [
            # The claim's query: the oldest free keys of a list.
            models.Index(
                fields=["key_list", "id"],
                condition=models.Q(used_at__isnull=True),
                name="license_key_free_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"Key #{self.pk} of {self.key_list}"

    @property
    def is_used(self) -> bool:
        return self.used_at is not None
