"""Staff's key list admin: every key with its order, searchable by key,
filtered used or unused, read-only. charlie is staff."""

from __future__ import annotations

import pytest
from django.urls import reverse

from keylists.models import KeyList, LicenseKey
from keylists.services import license_keys_add
from tests.factories import place

pytestmark = pytest.mark.django_db


@pytest.fixture
def sold(key_list_product):
    license_keys_add(product_id=key_list_product.pk, text="USED-1\nFREE-2\nFREE-3")
    return place(key_list_product)


def _listed(response) -> list[str]:
    return [key.key for key in response.context["cl"].result_list]


def test_staff_find_a_key_by_its_text(charlie_client, sold):
    response = charlie_client.get(
        reverse("admin:keylists_licensekey_changelist"), {"q": "FREE-3"}
    )

    assert _listed(response) == ["FREE-3"]


@pytest.mark.parametrize(
    ("used", "keys"), [("yes", ["USED-1"]), ("no", ["FREE-2", "FREE-3"])]
)
def test_keys_are_filtered_used_or_unused(charlie_client, sold, used, keys):
    response = charlie_client.get(
        reverse("admin:keylists_licensekey_changelist"), {"used": used}
    )

    assert sorted(_listed(response)) == keys


def test_a_used_key_links_its_order(charlie_client, sold):
    key = LicenseKey.objects.get(key="USED-1")

    response = charlie_client.get(
        reverse("admin:keylists_licensekey_change", args=[key.pk])
    )

    body = response.content.decode()
    assert reverse("admin:orders_order_change", args=[sold.pk]) in body
    assert sold.transaction_id in body


def test_the_key_list_shows_its_keys_left(charlie_client, sold):
    response = charlie_client.get(reverse("admin:keylists_keylist_changelist"))

    [row] = response.context["cl"].result_list
    assert row.free == 2


def test_keys_cannot_be_changed_or_deleted_in_admin(charlie_client, sold):
    key = LicenseKey.objects.get(key="FREE-2")

    response = charlie_client.post(
        reverse("admin:keylists_licensekey_delete", args=[key.pk]), {"post": "yes"}
    )

    assert response.status_code == 403
    assert LicenseKey.objects.filter(pk=key.pk).exists()
    assert KeyList.objects.count() == 1
