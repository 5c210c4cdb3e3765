"""The one place that knows where the files' bytes live: the "downloads"
storage of settings.STORAGES, looked up on every call (so a changed setting,
in a test or a shell, takes effect at once)."""

from __future__ import annotations

import secrets

from django.core.files.storage import FileSystemStorage, Storage, storages

STORAGE_ALIAS = "downloads"


def downloads_storage() -> Storage:
    return storages[STORAGE_ALIAS]


def storage_name_new(*, product_id: int) -> str:
    """A fresh random name: 192 bits, so nobody finds a file by guessing, and
    nothing of the uploaded name (which could hold a path) reaches the storage."""
    return f"products/{product_id}/{secrets.token_urlsafe(24)}"


def storage_streams_itself(storage: Storage) -> bool:
    """True for the local file system: the app streams the file. Any other
    storage is S3-compatible (the only other one we support) and hands the
    customer a short presigned URL instead."""
    return isinstance(storage, FileSystemStorage)
