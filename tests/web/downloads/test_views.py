"""The seller's Files page and the customers' download links.

alice owns the product and its files; bob is another seller and gets a 404 on
every Files URL of hers; customers reach files only through signed links.
"""

from __future__ import annotations

import re
import time

import pytest
from django.core import signing
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from downloads.links import download_link_path
from downloads.models import OrderDownload, ProductFile
from fulfillment.services.aftersale import (
    order_cancel,
    order_dispute_reported,
    order_refund,
)
from orders.aftersale import Actor
from orders.services import api_token_create
from tests.factories import add_file, fulfill, place

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("downloads_storage")]

FIND = "/purchases/"


def _files_url(product) -> str:
    return reverse("downloads:files", args=[product.pk])


def _link(order, file) -> str:
    return download_link_path(order_id=order.pk, file_id=file.pk)


def _seller(product) -> Actor:
    return Actor.seller(user_id=product.seller.pk, username=product.seller.username)


def _streamed(response) -> bytes:
    return b"".join(response.streaming_content)


def _made_hours_ago(monkeypatch, hours: float) -> None:
    then = int(time.time() - hours * 3600)
    monkeypatch.setattr(
        signing.TimestampSigner, "timestamp", lambda self: signing.b62_encode(then)
    )


# --- The seller's Files page -----------------------------------------------------


def test_the_files_page_lists_name_size_and_downloads(alice_client, live_product):
    file = add_file(live_product, name="pixel-setup.dmg", content=b"x" * 2048)
    OrderDownload.objects.create(
        order=place(live_product), file=file, count=3, last_at="2026-01-01T00:00Z"
    )

    response = alice_client.get(_files_url(live_product))

    assert response.status_code == 200
    body = response.content.decode()
    assert "pixel-setup.dmg" in body
    assert "2.0\xa0KB" in body
    assert re.search(r'data-label="Downloads" class="num">3<', body)


def test_uploading_a_file_adds_it(alice_client, live_product):
    upload = SimpleUploadedFile("manual.pdf", b"%PDF-1.7", content_type="x/pdf")

    response = alice_client.post(_files_url(live_product), {"file": upload})

    assert response.status_code == 302
    file = ProductFile.objects.get()
    assert (file.filename, file.size, file.content_type) == (
        "manual.pdf",
        8,
        "x/pdf",
    )


def _field_errors(response) -> list[str]:
    return response.context["form"].errors.get("file", [])


def test_a_file_over_the_size_limit_is_an_error_next_to_the_field(
    alice_client, live_product, settings
):
    settings.DOWNLOAD_MAX_FILE_BYTES = 10
    upload = SimpleUploadedFile("big.zip", b"x" * 11)

    response = alice_client.post(_files_url(live_product), {"file": upload})

    assert response.status_code == 400
    assert _field_errors(response) == [
        "This file is larger than the limit of 10\xa0bytes."
    ]
    assert 'id="id_file_error"' in response.content.decode()
    assert not ProductFile.objects.exists()


def test_an_upload_declared_far_over_the_limit_is_refused_unread(
    alice_client, live_product, settings
):
    settings.DOWNLOAD_MAX_FILE_BYTES = 10
    upload = SimpleUploadedFile("big.zip", b"x" * 100_000)

    response = alice_client.post(_files_url(live_product), {"file": upload})

    assert response.status_code == 400
    assert _field_errors(response) == [
        "This file is larger than the limit of 10\xa0bytes."
    ]


def test_an_empty_file_is_an_error_next_to_the_field(alice_client, live_product):
    upload = SimpleUploadedFile("empty.zip", b"")

    response = alice_client.post(_files_url(live_product), {"file": upload})

    assert response.status_code == 400
    assert _field_errors(response) == ["This file is empty."]


def test_posting_no_file_is_an_error_next_to_the_field(alice_client, live_product):
    response = alice_client.post(_files_url(live_product), {})

    assert response.status_code == 400
    assert _field_errors(response) == ["This field is required."]


def test_deleting_a_file_removes_it(alice_client, live_product):
    file = add_file(live_product)
    url = reverse("downloads:file-delete", args=[live_product.pk, file.pk])

    response = alice_client.post(url)

    assert response.status_code == 302
    assert not ProductFile.objects.exists()


def test_another_seller_gets_404_on_the_files_page(bob_client, live_product):
    add_file(live_product, name="alice-only.zip")

    for response in (
        bob_client.get(_files_url(live_product)),
        bob_client.post(
            _files_url(live_product), {"file": SimpleUploadedFile("b.zip", b"b")}
        ),
    ):
        assert response.status_code == 404
        assert b"alice-only.zip" not in response.content
    assert ProductFile.objects.count() == 1


def test_another_seller_cannot_delete_a_file(bob_client, live_product):
    file = add_file(live_product)
    url = reverse("downloads:file-delete", args=[live_product.pk, file.pk])

    assert bob_client.post(url).status_code == 404
    assert ProductFile.objects.filter(pk=file.pk).exists()


def test_a_file_of_another_product_is_404_on_the_owners_product(
    alice_client, live_product, alice
):
    from tests.factories import ProductFactory

    other = ProductFactory(seller=alice, slug="other")
    file = add_file(other)
    url = reverse("downloads:file-delete", args=[live_product.pk, file.pk])

    assert alice_client.post(url).status_code == 404


def test_the_product_page_links_its_files(alice_client, live_product):
    add_file(live_product, name="pixel.zip")

    body = alice_client.get(
        reverse("products:detail", args=[live_product.pk])
    ).content.decode()

    assert "pixel.zip" in body
    assert f'href="{_files_url(live_product)}"' in body


# --- Download links ---------------------------------------------------------------


def test_a_download_is_an_attachment_that_never_renders(client, live_product):
    order = place(live_product)
    file = add_file(live_product, name="page.html", content=b"<script>x</script>")

    response = client.get(_link(order, file))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"] == 'attachment; filename="page.html"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "sandbox"
    assert response["Cache-Control"] == "private, no-store"
    assert _streamed(response) == b"<script>x</script>"


def test_a_non_ascii_name_is_sent_as_utf8(client, live_product):
    order = place(live_product)
    file = add_file(live_product, name="Ünïcödé 文件.pdf")

    response = client.get(_link(order, file))

    assert response["Content-Disposition"] == (
        "attachment; filename*=utf-8''"
        "%C3%9Cn%C3%AFc%C3%B6d%C3%A9%20%E6%96%87%E4%BB%B6.pdf"
    )


def test_each_download_is_counted_on_the_order(client, live_product):
    order = place(live_product)
    file = add_file(live_product)

    client.get(_link(order, file))
    client.get(_link(order, file))

    assert OrderDownload.objects.get(order=order, file=file).count == 2


def test_the_limit_used_up_shows_a_clear_page(client, live_product, settings):
    settings.DOWNLOADS_PER_FILE_PER_ORDER = 1
    order = place(live_product)
    file = add_file(live_product)
    client.get(_link(order, file))

    response = client.get(_link(order, file))

    assert response.status_code == 403
    assert b"Download limit reached" in response.content
    assert b"downloaded 1 time for this order" in response.content


def test_a_link_works_for_24_hours(client, live_product, monkeypatch):
    order = place(live_product)
    file = add_file(live_product)
    _made_hours_ago(monkeypatch, 23.9)
    link = _link(order, file)
    monkeypatch.undo()

    assert client.get(link).status_code == 200


def test_an_expired_link_says_so_and_how_to_get_a_fresh_one(
    client, live_product, monkeypatch
):
    order = place(live_product)
    file = add_file(live_product)
    _made_hours_ago(monkeypatch, 24.1)
    link = _link(order, file)
    monkeypatch.undo()

    response = client.get(link)

    assert response.status_code == 410
    body = response.content.decode()
    assert "This download link has expired" in body
    assert "open your order page from your order email" in body
    assert f'href="{FIND}"' in body
    assert not OrderDownload.objects.exists()


def test_an_expired_link_does_not_reveal_the_order_page(
    client, live_product, monkeypatch
):
    # A download link may be forwarded; the order page holds the license.
    order = place(live_product)
    file = add_file(live_product)
    _made_hours_ago(monkeypatch, 25)
    link = _link(order, file)
    monkeypatch.undo()

    assert order.token not in client.get(link).content.decode()


def test_the_link_lifetime_is_a_setting(client, live_product, settings, monkeypatch):
    settings.DOWNLOAD_LINK_MAX_AGE = 60
    order = place(live_product)
    file = add_file(live_product)
    _made_hours_ago(monkeypatch, 2 / 60)
    link = _link(order, file)
    monkeypatch.undo()

    assert client.get(link).status_code == 410


@pytest.mark.parametrize(
    "mangle",
    [
        lambda token: token[:-1] + ("A" if token[-1] != "A" else "B"),
        lambda token: token.split(":")[0],
        lambda token: signing.dumps([1, 1], salt="orders.purchases.link"),
        lambda token: "nonsense",
    ],
    ids=["signature", "unsigned", "other-salt", "nonsense"],
)
def test_a_tampered_link_is_404(client, live_product, mangle):
    order = place(live_product)
    file = add_file(live_product)
    token = _link(order, file).split("/")[2]

    response = client.get(reverse("downloads:download", args=[mangle(token)]))

    assert response.status_code == 404
    assert b"This download link is invalid" in response.content
    assert not OrderDownload.objects.exists()


def test_a_link_to_another_products_file_is_404(client, live_product, alice):
    from tests.factories import ProductFactory

    order = place(live_product)
    other = add_file(ProductFactory(seller=alice, slug="other"))

    assert client.get(_link(order, other)).status_code == 404


def test_a_link_to_a_deleted_file_is_404(client, live_product):
    order = place(live_product)
    file = add_file(live_product)
    link = _link(order, file)
    file.delete()

    assert client.get(link).status_code == 404


def test_a_link_whose_bytes_are_gone_is_404_and_not_counted(client, live_product):
    from downloads.storage import downloads_storage

    order = place(live_product)
    file = add_file(live_product)
    downloads_storage().delete(file.storage_name)

    assert client.get(_link(order, file)).status_code == 404
    assert not OrderDownload.objects.exists()


def _refund(order):
    order_refund(
        order_id=order.pk,
        amount=order.total,
        reason="",
        actor=_seller(order.product),
    )


def _cancel(order):
    order_cancel(order_id=order.pk, reason="", actor=_seller(order.product))


def _charge_back(order):
    token, _ = api_token_create(name="Acme Pay")
    order_dispute_reported(
        order_id=order.pk,
        status="lost",
        amount=order.total,
        reason="",
        actor=Actor.provider(token_id=token.pk, name=token.name),
        provider_event_id="dp_1",
        fingerprint="dp_1",
    )


@pytest.mark.parametrize(
    "close", [_refund, _cancel, _charge_back], ids=["refunded", "cancelled", "lost"]
)
def test_a_closed_order_is_refused_with_a_readable_page(client, live_product, close):
    order = place(live_product)
    file = add_file(live_product)
    link = _link(order, file)
    close(order)

    response = client.get(link)

    assert response.status_code == 403
    assert b"This download is no longer available" in response.content
    assert not OrderDownload.objects.exists()


# --- The customer's order page, the seller's order page, the email --------------


def _order_links(client, order) -> list[str]:
    body = client.get(reverse("orders:order", args=[order.token])).content.decode()
    return re.findall(r'href="(/d/[^"]+/)"', body)


def test_the_order_page_links_each_file(client, live_product):
    order = place(live_product)
    fulfill(order, "KEY-1")
    add_file(live_product, name="app.zip")
    add_file(live_product, name="manual.pdf")

    response = client.get(reverse("orders:order", args=[order.token]))

    body = response.content.decode()
    assert "Your files" in body
    assert body.index("app.zip") < body.index("manual.pdf")
    links = re.findall(r'href="(/d/[^"]+/)"', body)
    assert len(links) == 2
    assert _streamed(client.get(links[0])) == b"PK-bytes"


def test_the_order_page_makes_fresh_links_on_every_visit(
    client, live_product, monkeypatch
):
    order = place(live_product)
    add_file(live_product)
    _made_hours_ago(monkeypatch, 30)
    [old] = _order_links(client, order)
    monkeypatch.undo()

    [fresh] = _order_links(client, order)

    assert client.get(old).status_code == 410
    assert client.get(fresh).status_code == 200


def test_a_closed_order_page_lists_no_files(client, live_product):
    order = place(live_product)
    add_file(live_product)
    _cancel(order)

    assert _order_links(client, order) == []


def test_the_sellers_order_page_shows_the_counts(alice_client, live_product):
    order = place(live_product)
    file = add_file(live_product, name="counted.zip")
    add_file(live_product, name="never.zip")
    alice_client.get(_link(order, file))
    alice_client.get(_link(order, file))

    body = alice_client.get(
        reverse("orders:seller-order", args=[order.pk])
    ).content.decode()

    section = body[body.index('id="downloads"') :]
    assert re.search(r"counted\.zip</bdi></td>\s*<td [^>]*>2<", section)
    assert re.search(r"never\.zip</bdi></td>\s*<td [^>]*>0<", section)


def test_the_email_preview_lists_the_files(alice_client, live_product):
    add_file(live_product, name="preview-me.zip")

    response = alice_client.get(
        reverse("products:email-preview", args=[live_product.pk])
    )

    assert "preview-me.zip" in response.content.decode()


def test_a_quote_in_the_name_cannot_break_out_of_the_header(client, live_product):
    order = place(live_product)
    file = add_file(live_product, name='a"; filename="evil.exe')

    response = client.get(_link(order, file))

    assert response["Content-Disposition"] == (
        'attachment; filename="a\\"; filename=\\"evil.exe"'
    )
