"""The hot path's precompiled reads give what the ORM gives."""

from __future__ import annotations

import pytest

from fulfillment.models import Delivery, EndpointHealth
from fulfillment.services.deliveries import delivery_test_send
from fulfillment.services.endpoints import endpoint_record_failure
from fulfillment.services.loading import (
    delivery_load,
    order_email_load,
    product_load_by_slug,
)
from tests.factories import CustomFieldFactory, DeliveryFactory, ProductFactory
from web.orders.services import order_place

pytestmark = pytest.mark.django_db


def _fields(instance) -> dict:
    return {
        f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields
    }


@pytest.fixture
def placed(wired_product):
    CustomFieldFactory(
        config=wired_product.webhook_config, kind="static", name="b", value="2"
    )
    CustomFieldFactory(
        config=wired_product.webhook_config, kind="customer_email", name="a"
    )
    order = order_place(
        product=wired_product, quantity=2, customer_email="jo@example.com"
    )
    return order.deliveries.get()


def test_every_field_and_relation_is_as_the_orm_loads_it(placed):
    orm = Delivery.objects.select_related(
        "order__checkout", "product__webhook_config"
    ).get(pk=placed.pk)

    loaded = delivery_load(placed.pk)

    assert _fields(loaded) == _fields(orm)
    assert _fields(loaded.order) == _fields(orm.order)
    assert _fields(loaded.order.checkout) == _fields(orm.order.checkout)
    assert _fields(loaded.product) == _fields(orm.product)
    # The signing secrets come back decrypted, as through the ORM.
    assert _fields(loaded.product.webhook_config) == _fields(orm.product.webhook_config)
    assert loaded.product.webhook_config.signing_secret.startswith("whsec_")


def test_relations_and_custom_fields_need_no_further_query(
    placed, django_assert_num_queries
):
    loaded = delivery_load(placed.pk)

    with django_assert_num_queries(0):
        config = loaded.product.webhook_config
        names = [field.name for field in config.custom_fields.all()]
        hash_ = loaded.order.checkout.hash

    assert names == ["b", "a"]  # in the editor's order
    assert hash_


def test_the_delivery_and_its_custom_fields_are_one_statement(
    placed, django_assert_num_queries
):
    with django_assert_num_queries(1):
        delivery_load(placed.pk)


def test_custom_fields_come_back_exactly_as_stored(wired_product):
    config = wired_product.webhook_config
    # Values that JSON must carry unchanged: quotes, backslashes, a newline-free
    # unicode text, digits that look like a number, an empty value.
    for position, value in enumerate(['say "hi" \\ there', "ümlaut ✓ 日本", "007", ""]):
        CustomFieldFactory(
            config=config,
            kind="static",
            name=f"f{position}",
            value=value,
            position=3 - position,
        )
    order = order_place(
        product=wired_product, quantity=1, customer_email="jo@example.com"
    )

    loaded = delivery_load(order.deliveries.get().pk)

    got = [_fields(f) for f in loaded.product.webhook_config.custom_fields.all()]
    assert got == [_fields(f) for f in config.custom_fields.order_by("position", "id")]
    assert [f["name"] for f in got] == ["f3", "f2", "f1", "f0"]


def test_a_config_without_custom_fields_has_none(wired_product):
    order = order_place(
        product=wired_product, quantity=1, customer_email="jo@example.com"
    )

    loaded = delivery_load(order.deliveries.get().pk)

    assert list(loaded.product.webhook_config.custom_fields.all()) == []


def test_the_endpoint_breaker_state_comes_along(placed):
    healthy = delivery_load(placed.pk)
    assert (healthy.endpoint_failures, healthy.endpoint_open_until) == (None, None)
    endpoint_record_failure(key=placed.endpoint_key, message="timed out")

    loaded = delivery_load(placed.pk)

    health = EndpointHealth.objects.get(key=placed.endpoint_key)
    assert loaded.endpoint_failures == health.consecutive_failures == 1
    assert loaded.endpoint_open_until is None


def test_a_test_delivery_has_no_order(wired_product, seller_server):
    delivery = delivery_test_send(product=wired_product)

    assert delivery_load(delivery.pk).order is None


def test_a_product_without_a_config_is_known_to_have_none(
    db, django_assert_num_queries
):
    product = ProductFactory()
    delivery = DeliveryFactory(product=product, is_test=False, config_version=0)

    loaded = delivery_load(delivery.pk)

    with django_assert_num_queries(0):
        assert getattr(loaded.product, "webhook_config", None) is None


def test_a_missing_delivery_is_does_not_exist(db):
    with pytest.raises(Delivery.DoesNotExist):
        delivery_load(10**9)


def test_a_product_by_slug_comes_with_its_config_but_not_its_secrets(
    wired_product, django_assert_num_queries
):
    orm = (
        type(wired_product)
        .objects.select_related("webhook_config")
        .get(pk=wired_product.pk)
    )

    loaded = product_load_by_slug(wired_product.slug)

    assert _fields(loaded) == _fields(orm)
    config = loaded.webhook_config
    assert {"signing_secret", "previous_signing_secret"} <= config.get_deferred_fields()
    assert (config.url, config.version) == (
        orm.webhook_config.url,
        orm.webhook_config.version,
    )
    assert product_load_by_slug("no-such-product") is None


def test_an_order_for_its_email_comes_with_product_config_and_licenses(
    placed, django_assert_num_queries
):
    Delivery.objects.filter(pk=placed.pk).update(response_text="KEY-1")
    orm = type(placed.order).objects.get(pk=placed.order_id)

    with django_assert_num_queries(2):
        order, licenses = order_email_load(placed.order_id)
        instructions = order.product.webhook_config.instructions

    assert _fields(order) == _fields(orm)
    assert instructions == orm.product.webhook_config.instructions
    assert licenses == ["KEY-1"]
