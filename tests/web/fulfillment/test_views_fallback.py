"""The Webhook Editor's "Fallback: your key list": switched on and off, its
delay checked next to the field, saved without a new config version, and the
list's stock (or its emptiness) shown beside it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from keylists.models import KeyList
from keylists.services import license_keys_add
from tests.web.fulfillment.test_views import _post_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def config(product):
    return product.webhook_config


@pytest.fixture
def editor_url(product):
    return reverse("fulfillment:config-edit", args=[product.pk])


def _with_fallback(config, *, enabled: bool, minutes: str, **changes) -> dict:
    data = _post_data(config, **changes)
    data["fallback-minutes"] = minutes
    if enabled:
        data["fallback-enabled"] = "on"
    return data


def _saved(product) -> tuple[bool, int]:
    key_list = KeyList.objects.get(product=product)
    return key_list.fallback_enabled, key_list.fallback_after_minutes


def test_the_editor_offers_the_fallback_off_with_ten_minutes(
    alice_client, editor_url, product
):
    response = alice_client.get(editor_url)

    page = response.content.decode()
    assert "Fallback: your key list" in page
    assert (
        "If my server has not answered successfully after N minutes, send a key "
        "from my list instead" in page
    )
    form = response.context["fallback_form"]
    assert form["enabled"].value() is False
    assert form["minutes"].value() == 10
    # Looking is not changing: no list is created for the page.
    assert not KeyList.objects.filter(product=product).exists()


def test_saving_the_fallback_keeps_the_webhook_config_version(
    alice_client, editor_url, config, product
):
    response = alice_client.post(
        editor_url, _with_fallback(config, enabled=True, minutes="5"), follow=True
    )

    assert _saved(product) == (True, 5)
    assert "Fallback saved." in response.content.decode()
    config.refresh_from_db()
    assert config.version == 1


def test_the_fallback_and_the_config_save_together(
    alice_client, editor_url, config, product
):
    alice_client.post(
        editor_url, _with_fallback(config, enabled=True, minutes="30", method="GET")
    )

    config.refresh_from_db()
    assert (config.method, config.version) == ("GET", 2)
    assert _saved(product) == (True, 30)


def test_unticking_the_box_switches_the_fallback_off(
    alice_client, editor_url, config, product
):
    KeyList.objects.create(product=product, fallback_enabled=True)

    alice_client.post(editor_url, _with_fallback(config, enabled=False, minutes="10"))

    assert _saved(product) == (False, 10)


@pytest.mark.parametrize("minutes", ["0", "10081", "ten", "2.5", ""])
def test_a_bad_delay_is_an_error_next_to_the_field_and_nothing_is_saved(
    alice_client, editor_url, config, product, minutes
):
    response = alice_client.post(
        editor_url, _with_fallback(config, enabled=True, minutes=minutes, method="GET")
    )

    assert response.status_code == 200
    assert response.context["fallback_form"].errors["minutes"] == [
        "Enter whole minutes, from 1 to 10080 (a week)."
    ]
    assert "Enter whole minutes, from 1 to 10080" in response.content.decode()
    assert not KeyList.objects.filter(product=product).exists()
    config.refresh_from_db()
    assert config.method == "POST"  # nothing saved at all


def test_a_post_without_the_fallback_section_leaves_it_as_saved(
    alice_client, editor_url, config, product
):
    KeyList.objects.create(
        product=product, fallback_enabled=True, fallback_after_minutes=20
    )

    response = alice_client.post(editor_url, _post_data(config, method="GET"))

    assert response.status_code == 302
    assert _saved(product) == (True, 20)


def test_a_fallback_on_with_an_empty_list_shows_a_warning(
    alice_client, editor_url, product
):
    KeyList.objects.create(product=product, fallback_enabled=True)

    page = alice_client.get(editor_url).content.decode()

    assert "the fallback has no key to send" in page
    assert 'id="fallback-stock" class="message warning"' in page


def test_the_editor_shows_the_keys_left_in_the_list(alice_client, editor_url, product):
    license_keys_add(product_id=product.pk, text="SPARE-1\nSPARE-2\n")
    KeyList.objects.filter(product=product).update(fallback_enabled=True)

    page = alice_client.get(editor_url).content.decode()

    assert "Keys left in your list: 2." in page
    assert "the fallback has no key to send" not in page
    key_list = reverse("keylists:list", args=[product.pk])
    assert f'<a href="{key_list}">Add keys on the Key list page</a>.' in page


def test_another_seller_cannot_save_a_fallback(bob_client, editor_url, config, product):
    response = bob_client.post(
        editor_url, _with_fallback(config, enabled=True, minutes="1")
    )

    assert response.status_code == 404
    assert not KeyList.objects.filter(product=product).exists()
