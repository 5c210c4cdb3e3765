"""Factories that build only states the application can produce."""

from __future__ import annotations

from decimal import Decimal

import factory
from django.contrib.auth import get_user_model

from fulfillment.models import CustomField, Delivery, WebhookConfig
from orders.models import Order
from products.models import Product
from web.orders.services import order_place


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"seller{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("correct horse 42")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    seller = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"Product {n}")
    slug = factory.Sequence(lambda n: f"product-{n}")
    description = "A useful app."
    price = Decimal("19.00")
    currency = "USD"


class WebhookConfigFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebhookConfig

    product = factory.SubFactory(ProductFactory)
    url = "https://licenses.example.com/issue"
    method = "POST"
    body_format = "form"
    instructions = "Open the app and paste your **license key**."


class CustomFieldFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomField

    config = factory.SubFactory(WebhookConfigFactory)
    kind = "static"
    name = factory.Sequence(lambda n: f"field_{n}")
    value = "hello"


class LiveProductFactory(ProductFactory):
    """A live product with its webhook config: buyers may order it.

    Set the config through `webhook_config__<field>`, for example
    `LiveProductFactory(webhook_config__url=server.url("/license"))`.
    """

    class Meta:
        skip_postgeneration_save = True

    status = "live"
    webhook_config = factory.RelatedFactory(
        WebhookConfigFactory, factory_related_name="product"
    )


class OrderFactory(factory.Factory):
    """A paid order placed through the public checkout, `order_place`: the
    checkout, the order and its planned deliveries exist as in production."""

    class Meta:
        model = Order

    product = factory.SubFactory(LiveProductFactory)
    quantity = 1
    customer_email = "buyer@example.com"

    @classmethod
    def _create(cls, model_class, **kwargs) -> Order:
        return order_place(**kwargs)


def place(product, quantity: int = 1, email: str = "buyer@example.com", **kwargs):
    """Place an order of `product` (see OrderFactory); kwargs go to order_place."""
    return OrderFactory(
        product=product, quantity=quantity, customer_email=email, **kwargs
    )


class DeliveryFactory(factory.django.DjangoModelFactory):
    """A delivery as "Send test request" leaves it, without the network call.

    Deliveries of real orders are planned by placing the order (`place`).
    """

    class Meta:
        model = Delivery

    product = factory.SubFactory(LiveProductFactory)
    is_test = True
    config_version = 1
