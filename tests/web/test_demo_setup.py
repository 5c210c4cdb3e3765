from __future__ import annotations

import pytest
from django.core.management import call_command

from products.models import Product
from web.products.checklist import checklist_missing, product_checklist

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_env(settings, fulfillment_settings, tmp_path):
    settings.VAR_DIR = tmp_path
    fulfillment_settings(ALLOWED_PRIVATE_NETWORKS=["127.0.0.0/8"])
    return tmp_path


def test_demo_setup_twice_makes_one_live_product_wired_to_the_license_server(
    demo_env,
):
    call_command("demo_setup")
    call_command("demo_setup")

    product = Product.objects.get()
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
