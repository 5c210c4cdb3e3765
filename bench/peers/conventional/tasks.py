"""The conventional peer's tasks: ids in, one service call each."""

from __future__ import annotations

from celery import shared_task
from requests import RequestException

from .services import DeliveryFailed, delivery_send, order_email_send


@shared_task(
    name="conventional.delivery_send",
    autoretry_for=(DeliveryFailed, RequestException),
    retry_backoff=5,
    retry_backoff_max=3600,
    max_retries=10,
)
def delivery_send_task(delivery_id: int) -> None:
    delivery_send(delivery_id=delivery_id)


@shared_task(
    name="conventional.order_email_send",
    autoretry_for=(OSError,),
    retry_backoff=10,
    max_retries=5,
)
def order_email_send_task(order_id: int) -> None:
    order_email_send(order_id=order_id)
