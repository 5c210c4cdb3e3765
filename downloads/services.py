"""Every write of the downloads app: a product's files (add, delete) and the
count of an order's downloads."""

from __future__ import annotations

import logging
import unicodedata
from pathlib import PurePosixPath

from django.conf import settings
from django.core.files import File
from django.db import connection, transaction
from django.db.models import Max
from django.template.defaultfilters import filesizeformat
from django.utils import timezone

from products.models import Product

from .models import FILENAME_MAX_LENGTH, OrderDownload, ProductFile
from .storage import downloads_storage, storage_name_new

logger = logging.getLogger(__name__)


class FileRefused(Exception):
    """An upload we do not keep; `message` says why, for the form."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def too_large_message() -> str:
    limit = filesizeformat(settings.DOWNLOAD_MAX_FILE_BYTES)
    return f"This file is larger than the limit of {limit}."


def filename_clean(name: str) -> str:
    """The uploaded name made safe to show and to send back in a header: its
    last path segment, without control or format characters (bidi overrides
    included), at most FILENAME_MAX_LENGTH long with its extension kept."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = name.strip().strip(".") or "download"
    if len(name) > FILENAME_MAX_LENGTH:
        suffix = PurePosixPath(name).suffix[:20]
        name = name[: FILENAME_MAX_LENGTH - len(suffix)] + suffix
    return name


def product_file_add(
    *, product: Product, upload: File, filename: str, content_type: str = ""
) -> ProductFile:
    """Store an uploaded file for `product` and list it last.

    Refuses an empty file and one over DOWNLOAD_MAX_FILE_BYTES (FileRefused).
    The bytes are saved first, under a fresh random name; if the row then
    fails, they are removed again.
    """
    size = upload.size or 0
    if size == 0:
        raise FileRefused("This file is empty.")
    if size > settings.DOWNLOAD_MAX_FILE_BYTES:
        raise FileRefused(too_large_message())
    storage = downloads_storage()
    name = storage.save(storage_name_new(product_id=product.pk), upload)
    try:
        return _file_row_create(product, name, filename, size, content_type)
    except Exception:
        storage.delete(name)
        raise


def _file_row_create(product, name, filename, size, content_type) -> ProductFile:
    with transaction.atomic():
        last = product.files.aggregate(last=Max("position"))["last"]
        return ProductFile.objects.create(
            product=product,
            storage_name=name,
            filename=filename_clean(filename),
            size=size,
            content_type=content_type[:200],
            position=0 if last is None else last + 1,
        )


def product_file_delete(*, file: ProductFile) -> None:
    """Remove the file, its download counts and, once that committed, its
    bytes (a rolled-back delete must not lose them)."""
    name = file.storage_name
    file.delete()
    transaction.on_commit(lambda: _bytes_delete(name))


def _bytes_delete(name: str) -> None:
    try:
        downloads_storage().delete(name)
    except Exception:
        # The row is gone, so nothing links to them: an orphan, not a leak.
        logger.exception("Could not delete the stored file %s", name)


# Counts one download in one statement, so that two at once both count: the
# first of an (order, file) pair inserts 1, every later one adds 1 to the row,
# unless the limit is reached (then no row changes). SQLite (3.24+) and
# PostgreSQL both read it.
_COUNT = """
INSERT INTO {table} (order_id, file_id, count, last_at)
VALUES (%(order)s, %(file)s, 1, %(now)s)
ON CONFLICT (order_id, file_id) DO UPDATE
SET count = {table}.count + 1, last_at = excluded.last_at
WHERE %(limit)s = 0 OR {table}.count < %(limit)s
"""


def download_count(*, order_id: int, file_id: int) -> bool:
    """Count one download of the file by the order: True, or False when the
    order already used its DOWNLOADS_PER_FILE_PER_ORDER (0 = no limit)."""
    params = {
        "order": order_id,
        "file": file_id,
        "now": connection.ops.adapt_datetimefield_value(timezone.now()),
        "limit": settings.DOWNLOADS_PER_FILE_PER_ORDER,
    }
    sql = _COUNT.format(table=OrderDownload._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount == 1
