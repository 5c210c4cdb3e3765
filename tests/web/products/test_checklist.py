"""The Release Checklist's key list items: keys required for the list method,
a warning for a webhook product whose fallback is on with an empty list."""

from __future__ import annotations

import pytest

from keylists.models import KeyList
from keylists.services import license_keys_add
from web.products.checklist import product_checklist
from web.products.services import product_publish

pytestmark = pytest.mark.django_db


def _item(product, key: str):
    [item] = [item for item in product_checklist(product) if item.key == key]
    return item


@pytest.fixture
def draft_list_product(key_list_product):
    key_list_product.status = "draft"
    key_list_product.description = "Keys."
    key_list_product.save()
    return key_list_product


def test_an_empty_list_blocks_publishing_with_an_add_keys_action(draft_list_product):
    item = _item(draft_list_product, "keys")

    assert (item.label, item.done, item.required) == ("Keys in your list", False, True)
    assert item.action == "Add keys"
    assert item.url == f"/dashboard/products/{draft_list_product.pk}/keys/"
    assert "Keys in your list" in product_publish(product=draft_list_product)


def test_keys_in_the_list_tick_the_item(draft_list_product):
    license_keys_add(product_id=draft_list_product.pk, text="K-1")

    assert _item(draft_list_product, "keys").done


def test_the_list_method_counts_as_fulfillment_configured(draft_list_product):
    assert _item(draft_list_product, "fulfillment").done


def test_a_list_product_has_no_webhook_items(draft_list_product):
    keys = [item.key for item in product_checklist(draft_list_product)]

    assert "test_delivery" not in keys and "fallback_keys" not in keys


def test_a_fallback_with_an_empty_list_is_an_optional_warning(product):
    KeyList.objects.create(product=product, fallback_enabled=True)

    item = _item(product, "fallback_keys")

    assert (item.done, item.required) == (False, False)
    assert "Keys for the fallback" not in product_publish(product=product)


def test_a_webhook_product_without_the_fallback_has_no_key_item(product):
    KeyList.objects.create(product=product, fallback_enabled=False)

    keys = [item.key for item in product_checklist(product)]

    assert "fallback_keys" not in keys and "keys" not in keys
