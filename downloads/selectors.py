"""Read queries of the downloads app: a product's files, an order's links and
counts, and what a download link opens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet, Sum

from orders.aftersale import order_is_closed
from orders.models import Order

from .links import download_link_path, download_link_url
from .models import OrderDownload, ProductFile


@dataclass(frozen=True)
class DownloadLink:
    """One file of an order, as the order page and the email list it."""

    filename: str
    size: int
    url: str


def product_files(*, product_id: int) -> QuerySet[ProductFile]:
    return ProductFile.objects.filter(product_id=product_id)


def product_files_with_totals(*, product_id: int) -> QuerySet[ProductFile]:
    """The product's files, each with `downloads_total` across its orders."""
    return product_files(product_id=product_id).annotate(
        downloads_total=Sum("downloads__count")
    )


def product_file_of_product(*, product_id: int, pk: int) -> ProductFile | None:
    return ProductFile.objects.filter(product_id=product_id, pk=pk).first()


def order_download_links(*, order: Order, absolute: bool = False) -> list[DownloadLink]:
    """Fresh links to the order's files (one query); none for a closed order
    (cancelled, refunded in full or charged back)."""
    if order_is_closed(order):
        return []
    make = download_link_url if absolute else download_link_path
    return [
        DownloadLink(
            filename=file.filename,
            size=file.size,
            url=make(order_id=order.pk, file_id=file.pk),
        )
        for file in product_files(product_id=order.product_id)
    ]


def product_download_samples(*, product_id: int, url: str) -> list[DownloadLink]:
    """The product's files as an email preview lists them, each linking to
    `url` (a sample order has no real links)."""
    return [
        DownloadLink(filename=file.filename, size=file.size, url=url)
        for file in product_files(product_id=product_id)
    ]


@dataclass(frozen=True)
class FileCount:
    """One file of the order's product and how often the order downloaded it."""

    filename: str
    size: int
    count: int
    last_at: datetime | None


def order_download_counts(*, order: Order) -> list[FileCount]:
    """For the seller: each file of the product with the order's count (two
    queries)."""
    counts = {row.file_id: row for row in OrderDownload.objects.filter(order=order)}
    rows = []
    for file in product_files(product_id=order.product_id):
        found = counts.get(file.pk)
        rows.append(
            FileCount(
                filename=file.filename,
                size=file.size,
                count=found.count if found else 0,
                last_at=found.last_at if found else None,
            )
        )
    return rows


def download_target(*, order_id: int, file_id: int) -> tuple[Order, ProductFile] | None:
    """The order and the file a valid link names, if both still exist and the
    file belongs to the order's product."""
    order = Order.objects.filter(pk=order_id).first()
    if order is None:
        return None
    file = ProductFile.objects.filter(pk=file_id, product_id=order.product_id).first()
    if file is None:
        return None
    return order, file
