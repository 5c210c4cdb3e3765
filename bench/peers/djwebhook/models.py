"""The one model whose creation sends a webhook: an order, with the fields our
payload carries, so both peers send about the same body."""

from __future__ import annotations

from django.db import models


class Order(models.Model):
    event = models.CharField(max_length=40, default="order.fulfillment")
    product_id = models.PositiveIntegerField()
    product_name = models.CharField(max_length=200)
    quantity = models.PositiveIntegerField(default=1)
    price = models.DecimalField(max_digits=10, decimal_places=2)
    currency = models.CharField(max_length=3)
    customer_email = models.EmailField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"order {self.pk}"
