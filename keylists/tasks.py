"""Thin Celery wrappers of the keylists app."""

from __future__ import annotations

from celery import shared_task

from .notices import key_list_low_stock_email_send


# Enqueued once per crossing, after the claim that crossed commits (the stamp
# is the claim: see services.key_list_stock_note), so retries send one email.
@shared_task(
    name="keylists.tasks.key_list_low_stock_email_send_task",
    acks_late=True,
    autoretry_for=(Exception,),
    retry_backoff=5,
    retry_backoff_max=600,
    max_retries=5,
)
def key_list_low_stock_email_send_task(product_id: int) -> int:
    return key_list_low_stock_email_send(product_id=product_id)
