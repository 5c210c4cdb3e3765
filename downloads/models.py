"""A product's files and how often each order downloaded each of them.

The file's bytes live in the "downloads" storage (settings.STORAGES): the local
file system on the embedded default, an S3-compatible bucket in production. A
row keeps the storage's name for them, not a FileField: a FileField fixes its
storage when the model class loads, so neither a setting nor a test could swap
it (docs/decisions.md).
"""

from __future__ import annotations

from django.db import models

# Long enough for any name a customer's file system shows; longer ones are cut
# (keeping the extension) when the file is uploaded.
FILENAME_MAX_LENGTH = 200


class ProductFile(models.Model):
    product = models.ForeignKey(
        "products.Product", on_delete=models.CASCADE, related_name="files"
    )
    # The storage's name: random, never derived from the uploaded name, so it
    # can neither be guessed nor carry a hostile path.
    storage_name = models.CharField(max_length=255, unique=True, editable=False)
    # As uploaded, made safe for a Content-Disposition header (no control
    # characters, no path): what the customer's browser saves it as.
    filename = models.CharField(max_length=FILENAME_MAX_LENGTH)
    size = models.PositiveBigIntegerField()
    # What the seller's browser said; kept for the seller, never sent to the
    # customer (files are always served as application/octet-stream).
    content_type = models.CharField(max_length=200, blank=True)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return self.filename


class OrderDownload(models.Model):
    """How often one order downloaded one file: one row per pair, counted up in
    one statement (`downloads.services.download_count`)."""

    order = models.ForeignKey(
        "orders.Order", on_delete=models.CASCADE, related_name="downloads"
    )
    file = models.ForeignKey(
        ProductFile, on_delete=models.CASCADE, related_name="downloads"
    )
    count = models.PositiveIntegerField(default=0)
    last_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["order", "file"], name="orderdownload_order_file_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.file} × {self.count} (order {self.order_id})"
