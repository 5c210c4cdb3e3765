"""Factories that build only states the application can produce."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from fulfillment.models import (
    CustomField,
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    WebhookConfig,
)
from fulfillment.services.orders import order_fulfillment_refresh
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


# --- States the engine leaves: fulfilled orders, deliveries and attempt rows ---


def fulfill(order, *texts: str) -> None:
    """Succeed the order's deliveries with these license texts, as workers would."""
    deliveries = order.deliveries.order_by("item_index")
    for delivery, text in zip(deliveries, texts, strict=True):
        Delivery.objects.filter(pk=delivery.pk).update(
            status=DeliveryStatus.SUCCEEDED, response_text=text
        )
    order_fulfillment_refresh(order_id=order.pk)


def make_delivery(product, status: str = DeliveryStatus.PENDING, **fields) -> Delivery:
    """A real order's delivery, moved to `status` as the retry engine would."""
    order = order_place(product=product, quantity=1, customer_email="b@example.com")
    delivery = order.deliveries.get()
    Delivery.objects.filter(pk=delivery.pk).update(status=status, **fields)
    delivery.refresh_from_db()
    return delivery


def make_attempt(
    delivery: Delivery,
    *,
    duration_ms: int,
    status: int | None = 200,
    succeeded: bool = True,
    message: str = "",
):
    """The row the engine records for one try."""
    return DeliveryAttempt.objects.create(
        delivery=delivery,
        number=delivery.attempts.count() + 1,
        duration_ms=duration_ms,
        request_method="POST",
        request_url="https://licenses.example.com/issue",
        response_status=status,
        succeeded=succeeded,
        error_kind="" if succeeded else ("status" if status else "timeout"),
        message=message,
    )


def make_succeeded(product, duration_ms: int = 100) -> Delivery:
    delivery = make_delivery(
        product, DeliveryStatus.SUCCEEDED, attempt_count=1, succeeded_at=timezone.now()
    )
    make_attempt(delivery, duration_ms=duration_ms)
    return delivery


def make_failed(product, message: str = "Your server answered 500.") -> Delivery:
    delivery = make_delivery(
        product,
        DeliveryStatus.FAILED,
        attempt_count=1,
        next_attempt_at=None,
        last_error=message,
    )
    make_attempt(delivery, duration_ms=50, status=500, succeeded=False, message=message)
    return delivery


def at(delivery: Delivery, when: datetime) -> Delivery:
    """The delivery was created, and its attempts started, at `when`."""
    Delivery.objects.filter(pk=delivery.pk).update(created_at=when)
    DeliveryAttempt.objects.filter(delivery=delivery).update(started_at=when)
    return delivery


def age(delivery: Delivery, days: float) -> None:
    """The delivery and its attempts happened `days` ago."""
    at(delivery, timezone.now() - timedelta(days=days))


# --- Products' files (the downloads app) -----------------------------------------


def add_file(product, name: str = "app.zip", content: bytes = b"PK-bytes"):
    """Upload a file to `product` as the seller's Files page does."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from downloads.services import product_file_add

    upload = SimpleUploadedFile(name, content, content_type="application/zip")
    return product_file_add(
        product=product, upload=upload, filename=name, content_type=upload.content_type
    )
