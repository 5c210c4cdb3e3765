"""Products with their seller's webhook, orders, one delivery per unit, and every
attempt to deliver."""

from __future__ import annotations

import uuid

from django.db import models


class Product(models.Model):
    name = models.CharField(max_length=200)
    price = models.DecimalField(max_digits=10, decimal_places=2)
    currency = models.CharField(max_length=3)
    webhook_url = models.URLField()
    signing_secret = models.CharField(max_length=100)
    # Markdown, shown in the customer's email.
    instructions = models.TextField(blank=True)

    def __str__(self) -> str:
        return self.name


class Order(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        FULFILLED = "fulfilled"

    product = models.ForeignKey(Product, on_delete=models.PROTECT)
    quantity = models.PositiveIntegerField(default=1)
    customer_email = models.EmailField()
    created_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING
    )
    fulfilled_at = models.DateTimeField(null=True, blank=True)
    email_sent_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"order {self.pk}"


class Delivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        DELIVERED = "delivered"
        FAILED = "failed"

    order = models.ForeignKey(
        Order, on_delete=models.CASCADE, related_name="deliveries"
    )
    # The webhook-id the seller deduplicates on: the same for every retry.
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING
    )
    # The seller's answer: the license, in Markdown.
    license = models.TextField(blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return str(self.uuid)


class Attempt(models.Model):
    delivery = models.ForeignKey(
        Delivery, on_delete=models.CASCADE, related_name="attempts"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    succeeded = models.BooleanField(default=False)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField()
    response = models.TextField(blank=True)
    error = models.CharField(max_length=500, blank=True)

    def __str__(self) -> str:
        return f"attempt {self.pk}"
