"""The seller's key list page: stock, keys pasted or uploaded (refusals next to
the field, with their lines), unused keys removed, used keys with their orders,
the low-stock threshold, pagination, and nobody else's list.

Who may see what: alice owns the products; bob gets a 404 on every URL of hers.
"""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from keylists.models import KeyList, LicenseKey
from keylists.services import license_keys_add
from tests.factories import place

pytestmark = pytest.mark.django_db


def _url(product, name: str = "keylists:list", *args) -> str:
    return reverse(name, args=[product.pk, *args])


def _add(product, *keys: str) -> None:
    license_keys_add(product_id=product.pk, text="\n".join(keys))


def _free(product) -> list[str]:
    return list(
        LicenseKey.objects.filter(
            key_list__product=product, used_at__isnull=True
        ).values_list("key", flat=True)
    )


def test_the_page_shows_the_stock_and_the_unused_keys(alice_client, key_list_product):
    _add(key_list_product, "AAA-1", "BBB-2")

    response = alice_client.get(_url(key_list_product))

    assert response.status_code == 200
    assert response.context["stock"].free == 2
    body = response.content.decode()
    assert 'id="keys-left">2<' in body
    assert "AAA-1" in body and "BBB-2" in body


def test_pasted_keys_are_added_and_the_seller_is_told_how_many(
    alice_client, key_list_product
):
    response = alice_client.post(
        _url(key_list_product), {"keys": "K-1\nK-2\n\nK-3\n"}, follow=True
    )

    assert _free(key_list_product) == ["K-1", "K-2", "K-3"]
    assert "3 keys added." in response.content.decode()


def test_keys_added_on_the_page_serve_the_orders_waiting_for_them(
    alice_client, key_list_product, django_capture_on_commit_callbacks
):
    waiting = place(key_list_product, quantity=2).deliveries.get()
    assert waiting.status == "pending"

    with django_capture_on_commit_callbacks(execute=True):
        alice_client.post(_url(key_list_product), {"keys": "K-1\nK-2\nK-3\n"})

    waiting.refresh_from_db()
    assert waiting.status == "succeeded"
    assert waiting.license_texts == ["`K-1`", "`K-2`"]
    assert _free(key_list_product) == ["K-3"]


def test_a_txt_file_adds_one_key_per_line(alice_client, key_list_product):
    upload = SimpleUploadedFile("keys.txt", b"\xef\xbb\xbfT-1\r\nT-2\r\n")

    alice_client.post(_url(key_list_product), {"file": upload})

    assert _free(key_list_product) == ["T-1", "T-2"]


def test_a_csv_file_adds_its_first_column(alice_client, key_list_product):
    upload = SimpleUploadedFile("keys.csv", b'key,note\nC-1,first\n"C-2",x\n')

    alice_client.post(_url(key_list_product), {"file": upload})

    assert _free(key_list_product) == ["C-1", "C-2"]


def test_refused_lines_are_all_named_next_to_the_field_and_nothing_is_added(
    alice_client, key_list_product
):
    _add(key_list_product, "OLD-1")

    response = alice_client.post(
        _url(key_list_product), {"keys": "NEW-1\nOLD-1\nNEW-1\n" + "x" * 501}
    )

    assert response.status_code == 400
    assert response.context["upload"].errors["keys"] == [
        "Line 2 is already in your list.",
        "Line 3 repeats the key of line 1.",
        "Line 4: a key has at most 500 characters.",
    ]
    assert 'id="id_keys_error"' in response.content.decode()
    assert _free(key_list_product) == ["OLD-1"]


def test_a_refused_file_shows_its_errors_next_to_the_file_field(
    alice_client, key_list_product
):
    upload = SimpleUploadedFile("keys.txt", b"A\nA\n")

    response = alice_client.post(_url(key_list_product), {"file": upload})

    assert response.context["upload"].errors["file"] == [
        "Line 2 repeats the key of line 1."
    ]


def test_a_file_over_the_size_limit_is_refused_with_a_form_error(
    alice_client, key_list_product, settings
):
    settings.KEY_LIST_UPLOAD_MAX_BYTES = 10
    upload = SimpleUploadedFile("keys.txt", b"A-1\nB-2\nC-3\nD-4\n")

    response = alice_client.post(_url(key_list_product), {"file": upload})

    assert response.status_code == 400
    [error] = response.context["upload"].errors["file"]
    assert error.startswith("The file is 16") and "largest accepted is 10" in error
    assert _free(key_list_product) == []


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("keys.xlsx", b"A", "Upload a .txt or a .csv file."),
        ("keys.txt", b"\xff\xfeA", "The file is not UTF-8 text"),
    ],
    ids=["other-type", "not-utf8"],
)
def test_a_file_that_is_not_text_is_refused_with_a_form_error(
    alice_client, key_list_product, name, content, message
):
    upload = SimpleUploadedFile(name, content)

    response = alice_client.post(_url(key_list_product), {"file": upload})

    assert response.context["upload"].errors["file"][0].startswith(message)


def test_an_empty_post_asks_for_keys(alice_client, key_list_product):
    response = alice_client.post(_url(key_list_product), {"keys": "  "})

    assert response.context["upload"].errors["keys"] == [
        "Paste at least one key, or upload a file."
    ]


def test_an_unused_key_is_removed(alice_client, key_list_product):
    _add(key_list_product, "GONE-1", "STAY-2")
    key = LicenseKey.objects.get(key="GONE-1")

    response = alice_client.post(
        _url(key_list_product, "keylists:key-remove", key.pk), follow=True
    )

    assert _free(key_list_product) == ["STAY-2"]
    assert "Key removed." in response.content.decode()


def test_a_used_key_cannot_be_removed_and_the_seller_is_told_why(
    alice_client, key_list_product
):
    _add(key_list_product, "USED-1")
    place(key_list_product)
    key = LicenseKey.objects.get(key="USED-1")

    response = alice_client.post(
        _url(key_list_product, "keylists:key-remove", key.pk), follow=True
    )

    assert LicenseKey.objects.filter(pk=key.pk).exists()
    assert "a key given to an order stays on record" in response.content.decode()


def test_used_keys_show_the_order_they_went_to_and_when(alice_client, key_list_product):
    _add(key_list_product, "USED-1", "FREE-2")
    order = place(key_list_product)

    response = alice_client.get(_url(key_list_product) + "?show=used")

    body = response.content.decode()
    assert "USED-1" in body and "FREE-2" not in body
    assert reverse("orders:seller-order", args=[order.pk]) in body
    assert order.transaction_id in body
    assert "1 of 1" in body


def test_a_long_list_is_paginated(alice_client, key_list_product):
    _add(key_list_product, *[f"K-{i:05d}" for i in range(120)])

    first = alice_client.get(_url(key_list_product)).content.decode()
    last = alice_client.get(_url(key_list_product) + "?page=3").content.decode()

    assert "Page 1 of 3 (120 keys)" in first
    assert "K-00049" in first and "K-00050" not in first
    assert "K-00119" in last and "K-00099" not in last


def test_the_threshold_is_saved(alice_client, key_list_product):
    response = alice_client.post(
        _url(key_list_product, "keylists:threshold"),
        {"low_stock_threshold": "3"},
        follow=True,
    )

    assert KeyList.objects.get(product=key_list_product).low_stock_threshold == 3
    assert "Low-stock alert saved." in response.content.decode()


def test_a_bad_threshold_is_a_form_error(alice_client, key_list_product):
    response = alice_client.post(
        _url(key_list_product, "keylists:threshold"), {"low_stock_threshold": "-1"}
    )

    assert response.status_code == 400
    assert response.context["threshold"].errors["low_stock_threshold"]


@pytest.mark.parametrize(
    ("name", "method"),
    [
        ("keylists:list", "get"),
        ("keylists:list", "post"),
        ("keylists:threshold", "post"),
        ("keylists:key-remove", "post"),
    ],
)
def test_another_seller_gets_404(bob_client, key_list_product, name, method):
    _add(key_list_product, "ALICE-1")
    key = LicenseKey.objects.get()
    args = [key.pk] if name == "keylists:key-remove" else []
    data = {"keys": "BOB-1", "low_stock_threshold": "1"}

    response = getattr(bob_client, method)(_url(key_list_product, name, *args), data)

    assert response.status_code == 404
    assert _free(key_list_product) == ["ALICE-1"]


def test_a_key_of_another_product_is_not_removed_through_this_one(
    alice_client, alice, key_list_product
):
    from tests.factories import ProductFactory

    other = ProductFactory(seller=alice, fulfillment_method="key_list")
    _add(other, "OTHER-1")
    key = LicenseKey.objects.get()

    alice_client.post(_url(key_list_product, "keylists:key-remove", key.pk))

    assert _free(other) == ["OTHER-1"]


@pytest.mark.parametrize(
    ("method", "linked"), [("key_list", True), ("webhook", True), ("manual", False)]
)
def test_the_product_nav_links_the_key_list_where_it_is_used(
    alice_client, key_list_product, method, linked
):
    key_list_product.fulfillment_method = method
    key_list_product.save()

    body = alice_client.get(reverse("products:detail", args=[key_list_product.pk]))

    assert (_url(key_list_product) in body.content.decode()) is linked
