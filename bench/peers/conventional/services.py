"""Placing an order, sending a delivery and sending the order's email.

Each step commits before the next one is queued (`transaction.on_commit`), so no
task ever looks for a row that is not there yet.
"""

from __future__ import annotations

import time
from functools import partial

import requests
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from bench.wire import RESPONSE_CHARS, session, signed_form, webhook_fields

from .emails import license_email
from .models import Attempt, Delivery, Order, Product


class DeliveryFailed(Exception):
    """The seller's server did not answer 200: the task retries later."""


def order_place(*, product: Product, customer_email: str, quantity: int = 1) -> Order:
    """The order and one delivery per unit, then a task for each delivery."""
    from .tasks import delivery_send_task

    with transaction.atomic():
        order = Order.objects.create(
            product=product, customer_email=customer_email, quantity=quantity
        )
        for _ in range(quantity):
            delivery = Delivery.objects.create(order=order)
            transaction.on_commit(partial(delivery_send_task.delay, delivery.pk))
    return order


def delivery_send(*, delivery_id: int) -> None:
    """POST the signed order to the seller's server and record the attempt."""
    delivery = Delivery.objects.select_related("order__product").get(pk=delivery_id)
    if delivery.status == Delivery.Status.DELIVERED:
        return
    order, product = delivery.order, delivery.order.product
    fields = webhook_fields(
        product={"id": product.pk, "name": product.name, "price": product.price,
                 "currency": product.currency},
        order_id=order.pk,
        delivery_id=str(delivery.uuid),
        email=order.customer_email,
        event_time=order.created_at.isoformat(),
    )  # fmt: skip
    body, headers = signed_form(
        fields, secret=product.signing_secret, msg_id=str(delivery.uuid)
    )
    started = time.monotonic()
    try:
        response = session().post(
            product.webhook_url, data=body, headers=headers, timeout=15
        )
    except requests.RequestException as exc:
        _attempt_record(delivery, started=started, error=str(exc))
        raise DeliveryFailed(str(exc)) from exc
    _attempt_record(delivery, started=started, response=response)
    if response.status_code != 200:
        raise DeliveryFailed(f"HTTP {response.status_code}")


def _attempt_record(
    delivery: Delivery,
    *,
    started: float,
    response: requests.Response | None = None,
    error: str = "",
) -> None:
    """The attempt, the delivery's status and, once every delivery of the order
    is done, the order's status and its email task, in one transaction."""
    succeeded = response is not None and response.status_code == 200
    with transaction.atomic():
        # Locked, so that two deliveries of one order finishing at once cannot
        # both miss that the other is done.
        order = Order.objects.select_for_update().get(pk=delivery.order_id)
        Attempt.objects.create(
            delivery=delivery,
            succeeded=succeeded,
            status_code=response.status_code if response is not None else None,
            duration_ms=int((time.monotonic() - started) * 1000),
            response=response.text[:RESPONSE_CHARS] if response is not None else "",
            error=error[:500],
        )
        if succeeded:
            _delivered(delivery, order, license=response.text)


def _delivered(delivery: Delivery, order: Order, *, license: str) -> None:
    from .tasks import order_email_send_task

    delivery.status = Delivery.Status.DELIVERED
    delivery.license = license[:RESPONSE_CHARS]
    delivery.delivered_at = timezone.now()
    delivery.save(update_fields=["status", "license", "delivered_at"])
    if order.deliveries.exclude(status=Delivery.Status.DELIVERED).exists():
        return
    order.status = Order.Status.FULFILLED
    order.fulfilled_at = timezone.now()
    order.save(update_fields=["status", "fulfilled_at"])
    transaction.on_commit(partial(order_email_send_task.delay, order.pk))


def order_email_send(*, order_id: int) -> None:
    """The order's one email, with every license. The order stays locked while
    it is sent, so a task that runs twice sends it once."""
    with transaction.atomic():
        order = (
            Order.objects.select_for_update(of=("self",))
            .select_related("product")
            .get(pk=order_id)
        )
        if order.email_sent_at is not None:
            return
        licenses = list(order.deliveries.values_list("license", flat=True))
        subject, text, html = license_email(order=order, licenses=licenses)
        send_mail(subject, text, None, [order.customer_email], html_message=html)
        order.email_sent_at = timezone.now()
        order.save(update_fields=["email_sent_at"])
