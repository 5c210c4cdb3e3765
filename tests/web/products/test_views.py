from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from fulfillment.models import WebhookConfig
from products.models import Product
from tests.factories import DeliveryFactory, ProductFactory

PAGE_URLS = [
    "products:detail",
    "products:edit",
    "products:checklist",
    "products:email-preview",
    "fulfillment:config-edit",
]
POST_ONLY_URLS = [
    "products:publish",
    "products:unpublish",
    "fulfillment:config-test",
    "fulfillment:config-secret-regenerate",
]


def _product_data(**overrides):
    return {
        "name": "Pixel Painter",
        "slug": "",
        "description": "Paint pixels.",
        "price": "12.50",
        "currency": "EUR",
        "fulfillment_method": "webhook",
        "send_order_emails": "on",
        **overrides,
    }


@pytest.fixture
def test_delivery(product):
    return DeliveryFactory(product=product, status="failed")


@pytest.mark.parametrize("name", PAGE_URLS)
def test_another_seller_gets_404_on_get(bob_client, product, name):
    assert bob_client.get(reverse(name, args=[product.pk])).status_code == 404


@pytest.mark.parametrize("name", PAGE_URLS + POST_ONLY_URLS)
def test_another_seller_gets_404_on_post(bob_client, product, name, monkeypatch):
    def must_not_send(**kwargs):
        raise AssertionError("another seller's request must not send anything")

    monkeypatch.setattr("web.fulfillment.views.webhook_test_run", must_not_send)

    response = bob_client.post(reverse(name, args=[product.pk]), _product_data())

    assert response.status_code == 404
    product.refresh_from_db()
    assert product.name == "Pixel Editor"


@pytest.mark.parametrize("method", ["get", "post"])
def test_another_seller_gets_404_on_test_result(bob_client, test_delivery, method):
    url = reverse(
        "fulfillment:config-test-result",
        args=[test_delivery.product_id, test_delivery.delivery_id],
    )
    assert getattr(bob_client, method)(url).status_code == 404


def test_dashboard_requires_login(client, db):
    response = client.get(reverse("products:list"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_dashboard_lists_only_own_products(alice_client, product, bob):
    ProductFactory(seller=bob, name="Bob's Tool")

    response = alice_client.get(reverse("products:list"))

    assert list(response.context["products"]) == [product]
    assert b"Pixel Editor" in response.content
    assert b"Bob&#x27;s Tool" not in response.content


def test_dashboard_shows_last_real_delivery_outcome_not_tests(alice_client, product):
    DeliveryFactory(product=product, is_test=False, status="failed")
    DeliveryFactory(product=product, status="succeeded")

    response = alice_client.get(reverse("products:list"))

    assert response.context["products"][0].last_delivery_status == "failed"
    assert b'<span class="badge failed">Failed</span>' in response.content


def test_product_create_view_makes_a_webhook_config(alice_client, alice):
    response = alice_client.post(reverse("products:create"), _product_data())

    product = Product.objects.get(seller=alice)
    assert response.status_code == 302
    assert product.slug == "pixel-painter"
    assert product.price == Decimal("12.50")
    assert product.status == "draft"
    assert WebhookConfig.objects.filter(product=product).exists()


def test_product_create_with_a_taken_slug_is_a_form_error(alice_client, product):
    response = alice_client.post(
        reverse("products:create"), _product_data(slug="pixel-editor")
    )

    assert response.status_code == 200
    assert response.context["form"].errors["slug"] == [
        "Another product already uses this address."
    ]


def test_product_create_makes_a_free_slug_from_a_taken_name(alice_client, product):
    alice_client.post(reverse("products:create"), _product_data(name="Pixel Editor"))

    assert Product.objects.filter(slug="pixel-editor-2").exists()


def test_product_edit_saves_and_can_disable_order_emails(alice_client, product):
    data = _product_data(name="Pixel Editor Pro", slug="pixel-editor")
    del data["send_order_emails"]

    response = alice_client.post(reverse("products:edit", args=[product.pk]), data)

    assert response.status_code == 302
    product.refresh_from_db()
    assert product.name == "Pixel Editor Pro"
    assert product.send_order_emails is False


def test_product_detail_links_to_the_webhook_editor(alice_client, product):
    response = alice_client.get(reverse("products:detail", args=[product.pk]))

    assert reverse("fulfillment:config-edit", args=[product.pk]).encode() in (
        response.content
    )


def test_checklist_page_links_to_the_webhook_editor(alice_client, product):
    response = alice_client.get(reverse("products:checklist", args=[product.pk]))

    assert reverse("fulfillment:config-edit", args=[product.pk]).encode() in (
        response.content
    )


def test_publish_view_lists_the_missing_items(alice_client, product):
    response = alice_client.post(
        reverse("products:publish", args=[product.pk]), follow=True
    )

    product.refresh_from_db()
    assert product.status == "draft"
    assert b"Test delivery succeeded" in response.content
    assert b"Email preview seen" in response.content


def test_email_preview_shows_both_quantities_and_records_it_was_seen(
    alice_client, product
):
    response = alice_client.get(reverse("products:email-preview", args=[product.pk]))

    assert response.status_code == 200
    assert [q for q, _ in response.context["previews"]] == [1, 3]
    assert b'<iframe class="email" sandbox srcdoc="' in response.content
    product.refresh_from_db()
    assert product.email_preview_seen_at is not None


def test_email_preview_html_is_escaped_inside_the_iframe_attribute(
    alice_client, product
):
    # The email's HTML has its own quotes; unescaped, it would end the srcdoc
    # attribute early and spill the email's markup into the dashboard page.
    product.webhook_config.instructions = 'Say "hi" <b>now</b>'
    product.webhook_config.save()

    response = alice_client.get(reverse("products:email-preview", args=[product.pk]))

    html = response.content.decode()
    start = html.index('srcdoc="') + len('srcdoc="')
    attribute = html[start : html.index('"', start)]
    assert "&lt;!doctype html&gt;" in attribute
    assert "&lt;/html&gt;" in attribute
    assert "<b>" not in attribute


def test_email_preview_never_puts_the_sellers_markup_into_the_page(
    alice_client, product
):
    product.webhook_config.instructions = (
        "<script>alert(1)</script> <img src=x onerror=alert(2)>"
    )
    product.webhook_config.save()

    response = alice_client.get(reverse("products:email-preview", args=[product.pk]))

    html = response.content.decode()
    assert "<script>alert" not in html
    assert "<img src=x" not in html


def test_live_manual_product_cannot_switch_to_a_webhook_without_url(
    alice_client, alice
):
    from web.products.services import product_create

    product = product_create(seller=alice, name="Manual", fulfillment_method="manual")
    product.status = "live"
    product.save()
    data = {
        "name": "Manual",
        "slug": product.slug,
        "description": "",
        "price": "5.00",
        "currency": "USD",
        "fulfillment_method": "webhook",
        "send_order_emails": "on",
    }

    response = alice_client.post(reverse("products:edit", args=[product.pk]), data)

    assert "set its Webhook URL in the Webhook Editor" in response.content.decode()
    product.refresh_from_db()
    assert product.fulfillment_method == "manual"


# --- The license key list method ------------------------------------------------


def test_creating_a_key_list_product_opens_its_key_list(alice_client):
    response = alice_client.post(
        reverse("products:create"), _product_data(fulfillment_method="key_list")
    )

    product = Product.objects.get()
    assert product.uses_key_list
    assert response["Location"] == reverse("keylists:list", args=[product.pk])


def test_the_product_list_names_the_key_list_method(alice_client, key_list_product):
    response = alice_client.get(reverse("products:list"))

    assert '<td data-label="Fulfillment">Key list</td>' in response.content.decode()


def test_the_product_page_shows_the_keys_left_and_links_the_list(
    alice_client, key_list_product
):
    from keylists.services import license_keys_add

    license_keys_add(product_id=key_list_product.pk, text="K-1\nK-2")

    response = alice_client.get(reverse("products:detail", args=[key_list_product.pk]))

    body = response.content.decode()
    assert "<strong>2</strong> keys left, 0 used" in body
    assert reverse("keylists:list", args=[key_list_product.pk]) in body
    assert response.context["health"] is None


def test_the_email_preview_of_a_key_list_shows_one_key_per_unit(
    alice_client, key_list_product
):
    response = alice_client.get(
        reverse("products:email-preview", args=[key_list_product.pk])
    )

    [(_, single), (_, multibuy)] = response.context["previews"]
    assert "Your license" in single.html and "DEMO-0001-ABCD-EFGH" in single.text
    assert "License 1 of 3" in multibuy.html and "License 3 of 3" in multibuy.html


def test_a_live_product_cannot_switch_to_an_empty_key_list(alice_client, live_product):
    response = alice_client.post(
        reverse("products:edit", args=[live_product.pk]),
        _product_data(name=live_product.name, fulfillment_method="key_list"),
    )

    assert "add keys on its Key list page" in response.content.decode()
    live_product.refresh_from_db()
    assert live_product.uses_webhook


def test_a_live_key_list_product_with_an_empty_list_can_still_be_edited(
    alice_client, key_list_product
):
    response = alice_client.post(
        reverse("products:edit", args=[key_list_product.pk]),
        _product_data(name="Renamed", fulfillment_method="key_list"),
    )

    assert response.status_code == 302
