"""Key lists: what a paste or a file adds, what is refused (with the lines),
what can be removed."""

from __future__ import annotations

import pytest

from keylists.models import LicenseKey
from keylists.services import (
    KeyListError,
    license_key_remove,
    license_keys_add,
    license_keys_parse,
)
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def product(alice):
    return ProductFactory(seller=alice, fulfillment_method="key_list")


def _keys(product) -> list[str]:
    return list(
        LicenseKey.objects.filter(key_list__product=product).values_list(
            "key", flat=True
        )
    )


def test_a_paste_adds_one_key_per_line_trimmed_without_blank_lines(product):
    added = license_keys_add(product_id=product.pk, text=" AAA-1 \n\nBBB-2\r\nCCC-3\n")

    assert added == 3
    assert _keys(product) == ["AAA-1", "BBB-2", "CCC-3"]


def test_a_csv_adds_its_first_column_and_skips_a_header(product):
    text = 'license_key,note\nAAA-1,first\n"BB,B-2",second\n'

    license_keys_add(product_id=product.pk, text=text, is_csv=True)

    assert _keys(product) == ["AAA-1", "BB,B-2"]


def test_a_key_twice_in_one_upload_is_refused_with_both_lines(product):
    with pytest.raises(KeyListError) as refused:
        license_keys_add(product_id=product.pk, text="AAA\nBBB\nAAA\n")

    assert refused.value.messages == ["Line 3 repeats the key of line 1."]
    assert _keys(product) == []


def test_a_key_already_in_the_list_refuses_the_whole_upload(product):
    license_keys_add(product_id=product.pk, text="AAA\n")

    with pytest.raises(KeyListError) as refused:
        license_keys_add(product_id=product.pk, text="NEW-1\nAAA\nNEW-2\n")

    assert refused.value.messages == ["Line 2 is already in your list."]
    assert _keys(product) == ["AAA"]


def test_errors_come_in_line_order(product):
    long_key = "X" * 501
    with pytest.raises(KeyListError) as refused:
        license_keys_add(product_id=product.pk, text=f"A\n{long_key}\nB\nA\n")

    assert refused.value.messages == [
        "Line 2: a key has at most 500 characters.",
        "Line 4 repeats the key of line 1.",
    ]


def test_an_upload_without_keys_is_refused(product):
    with pytest.raises(KeyListError) as refused:
        license_keys_add(product_id=product.pk, text="\n  \n")

    assert refused.value.messages == ["There are no keys in it: put one key per line."]


def test_the_same_key_in_two_products_is_allowed(product, alice):
    other = ProductFactory(seller=alice, fulfillment_method="key_list")
    license_keys_add(product_id=product.pk, text="SHARED\n")

    license_keys_add(product_id=other.pk, text="SHARED\n")

    assert _keys(other) == ["SHARED"]


def test_parse_reports_control_characters_by_line():
    parsed = license_keys_parse(text="OK\nBAD\x07KEY\n")

    assert [line.key for line in parsed.keys] == ["OK"]
    assert parsed.errors == ["Line 2: the key has a control character."]


def test_an_unused_key_can_be_removed(product):
    license_keys_add(product_id=product.pk, text="AAA\nBBB\n")
    key = LicenseKey.objects.get(key="AAA")

    assert license_key_remove(product_id=product.pk, key_id=key.pk) is True
    assert _keys(product) == ["BBB"]


def test_another_products_key_is_not_removed(product, alice):
    other = ProductFactory(seller=alice, fulfillment_method="key_list")
    license_keys_add(product_id=other.pk, text="THEIRS\n")
    key = LicenseKey.objects.get(key="THEIRS")

    assert license_key_remove(product_id=product.pk, key_id=key.pk) is False
    assert _keys(other) == ["THEIRS"]
