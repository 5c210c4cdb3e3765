from __future__ import annotations

import pytest
from django.core.management import call_command

from products.models import Product
from web.products.checklist import checklist_missing, product_checklist

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_env(settings, fulfillment_settings, tmp_path, downloads_storage):
    settings.VAR_DIR = tmp_path
    fulfillment_settings(ALLOWED_PRIVATE_NETWORKS=["127.0.0.0/8"])
    return tmp_path


def test_demo_setup_twice_makes_one_live_product_wired_to_the_license_server(
    demo_env,
):
    call_command("demo_setup")
    call_command("demo_setup")

    product = Product.objects.get(slug="pixel-editor-pro")
    assert product.is_live
    assert product.webhook_config.url == "http://127.0.0.1:8765/license"
    assert (demo_env / "demo_webhook_secret").read_text() == (
        product.webhook_config.signing_secret
    )
    # Only the test delivery is missing: the license server is not up yet.
    assert checklist_missing(product_checklist(product)) == ["Test delivery succeeded"]


def test_the_demo_seller_is_active_and_logs_in_with_its_password(demo_env, client):
    from django.urls import reverse

    from web.management.commands.demo_setup import DEMO_PASSWORD, DEMO_USERNAME

    call_command("demo_setup")

    response = client.post(
        reverse("login"), {"username": DEMO_USERNAME, "password": DEMO_PASSWORD}
    )
    assert response.status_code == 302
    assert response.url == reverse("products:list")


def test_the_demo_key_list_product_is_live_with_keys_and_a_file(demo_env):
    from downloads.models import ProductFile
    from keylists.selectors import key_list_free_count

    call_command("demo_setup")
    call_command("demo_setup")

    product = Product.objects.get(slug="pixel-brush-pack")
    assert product.is_live and product.uses_key_list
    assert checklist_missing(product_checklist(product)) == []
    assert key_list_free_count(product_id=product.pk) == 25
    assert list(ProductFile.objects.values_list("filename", flat=True)) == [
        "pixel-brush-pack-README.txt"
    ]
