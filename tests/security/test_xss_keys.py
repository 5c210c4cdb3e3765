"""Hostile license keys from a seller's key list are shown as text everywhere:
the key list page (unused and used), the customer's order page and email, the
seller's order page, and Django admin (the key, and the delivery it went to).

A key is the seller's literal text (the list gives it to customers as a
Markdown code span, see lib.rendering.markdown_code), so each page must show
the key's exact characters as text and must not gain any executable markup
over the same page with a harmless key (the checker of test_xss.py).
"""

from __future__ import annotations

from collections import Counter

import pytest
from django.urls import reverse

from emails.build import order_email_build
from fulfillment.services.loading import order_email_load
from keylists.models import LicenseKey
from keylists.services import KeyListError, license_keys_add
from tests.factories import ProductFactory, place
from tests.security.test_xss import PAYLOADS, Collector, _executable

pytestmark = pytest.mark.django_db

HARMLESS = "HARMLESS-KEY-0001"
# Every corpus payload a key can be (one line, no control character, nothing
# to trim), and the two the issue names.
KEY_PAYLOADS: dict[str, str] = {
    **{
        name: payload
        for name, payload in PAYLOADS.items()
        if "\n" not in payload
        and payload == payload.strip()
        and not any(ord(c) < 32 for c in payload)
    },
    "script-key": "<script>alert(1)</script>",
    "attribute-break-key": '"><img src=x onerror=alert(1)>',
}
OUTPUTS = (
    "key_list",
    "key_list_used",
    "order_page",
    "email",
    "seller_order",
    "admin_key",
    "admin_delivery",
)


def _sold(alice, key: str):
    """A live key list product whose one key is `key`, sold to one customer."""
    product = ProductFactory(seller=alice, status="live", fulfillment_method="key_list")
    license_keys_add(product_id=product.pk, text=key)
    return place(product)


def _get(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def _fetch(output: str, order, client) -> str:
    product = order.product
    if output in ("key_list", "key_list_used"):
        # The unused key: a second one added after the sale.
        query = "?show=used" if output == "key_list_used" else ""
        return _get(client, reverse("keylists:list", args=[product.pk]) + query)
    if output == "order_page":
        return _get(client, reverse("orders:order", args=[order.token]))
    if output == "email":
        loaded, licenses = order_email_load(order.pk)
        [(html, _)] = order_email_build(order=loaded, licenses=licenses).alternatives
        return html
    if output == "seller_order":
        return _get(client, reverse("orders:seller-order", args=[order.pk]))
    if output == "admin_key":
        key = LicenseKey.objects.filter(key_list__product=product).first()
        return _get(client, reverse("admin:keylists_licensekey_change", args=[key.pk]))
    delivery = order.deliveries.get()
    return _get(
        client, reverse("admin:fulfillment_delivery_change", args=[delivery.pk])
    )


def _texts(document: str) -> str:
    page = Collector(lambda element, ancestors: element.tag == "body")
    page.feed(document)
    page.close()
    return "".join(page.scoped_text)


def _executables(document: str) -> Counter:
    page = Collector(lambda element, ancestors: False)
    page.feed(document)
    page.close()
    return Counter(v for element in page.elements for v in _executable(element))


def _order_with(alice, output: str, key: str):
    order = _sold(alice, key)
    if output == "key_list":
        # The sold key is used: the unused tab shows a second, equally hostile.
        try:
            license_keys_add(product_id=order.product_id, text="2" + key)
        except KeyListError:
            pytest.skip("not a valid key twice")
    return order


@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("key", KEY_PAYLOADS.values(), ids=KEY_PAYLOADS.keys())
def test_a_hostile_key_is_shown_as_text_only(client, alice, charlie, key, output):
    client.force_login(charlie if output.startswith("admin") else alice)
    baseline = _fetch(output, _order_with(alice, output, HARMLESS), client)

    document = _fetch(output, _order_with(alice, output, key), client)

    assert key in _texts(document)
    added = _executables(document)
    added.subtract(_executables(baseline))
    assert +added == Counter(), "the key added executable markup to the page"


def test_the_corpus_has_the_keys_the_issue_names():
    assert len(KEY_PAYLOADS) >= 30
