from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from fulfillment.models import Delivery, WebhookConfig
from tests.factories import DeliveryFactory
from web.products import services
from web.products.checklist import checklist_missing, product_checklist


def _done(product) -> dict[str, bool]:
    return {item.key: item.done for item in product_checklist(product)}


def _succeed_test_delivery(product) -> Delivery:
    # The state delivery_test_send leaves behind after a 200 with a body.
    return DeliveryFactory(
        product=product,
        config_version=product.webhook_config.version,
        status="succeeded",
        response_text="LICENSE-1",
    )


def _complete(product) -> None:
    _succeed_test_delivery(product)
    services.product_email_preview_seen(product=product)


def test_product_create_with_webhook_method_creates_its_config(alice):
    product = services.product_create(
        seller=alice, name="Sync Tool", fulfillment_method="webhook"
    )

    assert product.slug == "sync-tool"
    assert WebhookConfig.objects.filter(product=product).count() == 1


def test_product_create_with_manual_method_has_no_config(alice):
    product = services.product_create(
        seller=alice, name="Consulting", fulfillment_method="manual"
    )

    assert not WebhookConfig.objects.filter(product=product).exists()


def test_product_update_to_webhook_creates_the_config(alice):
    product = services.product_create(
        seller=alice, name="Consulting", fulfillment_method="manual"
    )

    services.product_update(product=product, fulfillment_method="webhook")

    assert WebhookConfig.objects.filter(product=product).exists()


def test_publish_is_refused_with_the_missing_items_listed(product):
    missing = services.product_publish(product=product)

    assert missing == ["Test delivery succeeded", "Email preview seen"]
    product.refresh_from_db()
    assert product.status == "draft"
    assert product.published_at is None


def test_publish_is_allowed_when_the_checklist_is_complete(product):
    _complete(product)

    assert services.product_publish(product=product) == []

    product.refresh_from_db()
    assert product.status == "live"
    assert product.published_at is not None


def test_publish_refuses_a_free_product_without_description(product):
    _complete(product)
    services.product_update(product=product, price=Decimal("0"), description="")

    missing = services.product_publish(product=product)

    assert missing == ["Product details", "Price set"]


def test_webhook_without_url_is_not_configured(product):
    WebhookConfig.objects.filter(product=product).update(url="")

    assert _done(product)["fulfillment"] is False


def test_manual_product_needs_no_test_delivery(alice):
    product = services.product_create(
        seller=alice,
        name="Consulting",
        description="An hour of help.",
        price=Decimal("90"),
        fulfillment_method="manual",
    )
    assert checklist_missing(product_checklist(product)) == ["Email preview seen"]

    services.product_email_preview_seen(product=product)

    assert services.product_publish(product=product) == []


def test_test_delivery_for_an_older_config_version_does_not_count(product):
    _succeed_test_delivery(product)
    WebhookConfig.objects.filter(product=product).update(version=2)

    assert _done(product)["test_delivery"] is False


def test_failed_test_delivery_does_not_count(product):
    DeliveryFactory(product=product, status="failed")

    assert _done(product)["test_delivery"] is False


def test_email_preview_seen_before_the_last_config_change_does_not_count(product):
    services.product_email_preview_seen(product=product)
    config = product.webhook_config
    WebhookConfig.objects.filter(pk=config.pk).update(
        updated_at=product.email_preview_seen_at + timedelta(seconds=1)
    )
    product.refresh_from_db()

    assert _done(product)["email_preview"] is False


def test_unpublish_returns_the_product_to_draft(product):
    _complete(product)
    services.product_publish(product=product)

    services.product_unpublish(product=product)

    product.refresh_from_db()
    assert product.status == "draft"
