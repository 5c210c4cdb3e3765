from __future__ import annotations

import threading

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase

from downloads.models import OrderDownload, ProductFile
from downloads.services import (
    FileRefused,
    download_count,
    filename_clean,
    product_file_add,
    product_file_delete,
)
from downloads.storage import downloads_storage
from tests.factories import add_file, place

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("downloads_storage")]


def _upload(content: bytes, name: str = "app.zip") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)


def test_an_added_file_is_stored_under_a_random_name(live_product):
    file = add_file(live_product, name="../../etc/passwd", content=b"hello")

    assert file.filename == "passwd"
    assert "passwd" not in file.storage_name
    assert file.storage_name.startswith(f"products/{live_product.pk}/")
    assert file.size == 5
    with downloads_storage().open(file.storage_name, "rb") as stored:
        assert stored.read() == b"hello"


def test_files_are_listed_in_the_order_they_were_added(live_product):
    first = add_file(live_product, name="a.zip")
    second = add_file(live_product, name="b.zip")

    assert list(live_product.files.all()) == [first, second]
    assert (first.position, second.position) == (0, 1)


def test_an_empty_file_is_refused(live_product):
    with pytest.raises(FileRefused, match="empty"):
        product_file_add(product=live_product, upload=_upload(b""), filename="x")

    assert ProductFile.objects.count() == 0


def test_a_file_over_the_limit_is_refused_and_not_stored(
    live_product, settings, downloads_storage
):
    settings.DOWNLOAD_MAX_FILE_BYTES = 4

    with pytest.raises(FileRefused, match="larger than the limit of 4\xa0bytes"):
        product_file_add(product=live_product, upload=_upload(b"12345"), filename="x")

    assert ProductFile.objects.count() == 0
    assert list(downloads_storage.glob("**/*")) == []


@pytest.mark.parametrize(
    ("uploaded", "kept"),
    [
        ("C:\\Users\\me\\setup.exe", "setup.exe"),
        ("evil\r\nSet-Cookie: x=1.txt", "evilSet-Cookie: x=1.txt"),
        ("\u202egnp.exe", "gnp.exe"),
        ("...", "download"),
        ("", "download"),
        ("x" * 300 + ".tar.gz", "x" * 197 + ".gz"),
        ("Ünïcödé 文件.pdf", "Ünïcödé 文件.pdf"),
    ],
)
def test_uploaded_names_are_made_safe_to_show_and_send(uploaded, kept):
    assert filename_clean(uploaded) == kept


def test_deleting_a_file_removes_its_bytes_after_commit(live_product):
    file = add_file(live_product)
    name = file.storage_name

    with TestCase.captureOnCommitCallbacks(execute=True):
        product_file_delete(file=file)

    assert not ProductFile.objects.exists()
    assert not downloads_storage().exists(name)


def test_two_downloads_count_two(live_product):
    order = place(live_product)
    file = add_file(live_product)

    assert download_count(order_id=order.pk, file_id=file.pk)
    assert download_count(order_id=order.pk, file_id=file.pk)

    row = OrderDownload.objects.get(order=order, file=file)
    assert row.count == 2
    assert row.last_at is not None


def test_counts_are_per_order_and_per_file(live_product):
    first, second = place(live_product), place(live_product)
    app, manual = add_file(live_product), add_file(live_product, name="manual.pdf")

    download_count(order_id=first.pk, file_id=app.pk)
    download_count(order_id=second.pk, file_id=manual.pk)

    counts = OrderDownload.objects.values_list("order", "file", "count")
    assert sorted(counts) == sorted([(first.pk, app.pk, 1), (second.pk, manual.pk, 1)])


def test_a_download_past_the_limit_is_refused_and_not_counted(live_product, settings):
    settings.DOWNLOADS_PER_FILE_PER_ORDER = 2
    order = place(live_product)
    file = add_file(live_product)

    results = [download_count(order_id=order.pk, file_id=file.pk) for _ in range(3)]

    assert results == [True, True, False]
    assert OrderDownload.objects.get().count == 2


def test_a_limit_of_zero_means_no_limit(live_product, settings):
    settings.DOWNLOADS_PER_FILE_PER_ORDER = 0
    order = place(live_product)
    file = add_file(live_product)

    results = [download_count(order_id=order.pk, file_id=file.pk) for _ in range(5)]

    assert all(results)
    assert OrderDownload.objects.get().count == 5


@pytest.mark.django_db(transaction=True)
def test_downloads_at_the_same_time_all_count(live_product):
    """Threads with their own connections count the same pair at once: each
    one-statement upsert adds its 1, none is lost (SQLite and PostgreSQL)."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    order = place(live_product)
    file = add_file(live_product)
    barrier = threading.Barrier(8)

    def click() -> list[bool]:
        try:
            barrier.wait()
            return [
                download_count(order_id=order.pk, file_id=file.pk) for _ in range(5)
            ]
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = [r for rs in pool.map(lambda _: click(), range(8)) for r in rs]

    assert results == [True] * 40
    assert OrderDownload.objects.get().count == 40
