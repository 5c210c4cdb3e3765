"""Factories that build only states the application can produce."""

from __future__ import annotations

from decimal import Decimal

import factory
from django.contrib.auth import get_user_model

from fulfillment.models import CustomField, WebhookConfig
from products.models import Product


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
