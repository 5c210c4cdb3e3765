"""Deliveries served from the product's license key list.

Two ways in: a product whose method is "License key list" (its delivery is
planned with source KEY_LIST and served at once, or waits for keys), and the
Webhook method's fallback (a delivery whose server has not answered
successfully after the list's delay stops its requests and is served from
the list, source FALLBACK: "served from your key list").

Serving is one transaction: the order's lock, then the delivery's, the keys'
claim (keylists.services.license_keys_claim), the delivery succeeded and the
order with it. A delivery in flight (a request on the wire, or a worker's
claim) is never taken from under its worker; a succeeded, cancelled or closed
one is never served.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from keylists.models import KeyList
from keylists.services import (
    key_list_stock_note,
    license_keys_add,
    license_keys_claim,
)
from lib.rendering import markdown_code

from ..models import Delivery, DeliverySource, DeliveryStatus, status_before_claim
from .orders import order_fulfillment_refresh, order_lock_takes_deliveries

logger = logging.getLogger(__name__)

# Deliveries nobody is working on that have not succeeded.
SERVABLE_STATUSES = (
    DeliveryStatus.PENDING,
    DeliveryStatus.RETRYING,
    DeliveryStatus.FAILED,
)

WAITING_FOR_KEYS = (
    "Your key list has no keys left for this order: add keys and it is sent at once."
)


def key_list_keys_add(*, product_id: int, text: str, is_csv: bool = False) -> int:
    """Add keys to the product's list (`license_keys_add`: all or nothing,
    `KeyListError` with the lines), then serve the orders waiting for them.
    Returns how many keys were added."""
    with transaction.atomic():
        added = license_keys_add(product_id=product_id, text=text, is_csv=is_csv)
        transaction.on_commit(lambda: _serve_waiting(product_id))
    return added


def _serve_waiting(product_id: int) -> None:
    """Orders waiting for keys get them now; if the broker is down, the beat's
    sweep (every FULFILLMENT_KEY_LIST_INTERVAL) does."""
    from ..tasks import deliveries_serve_from_lists_task

    try:
        deliveries_serve_from_lists_task.delay(product_id)
    except Exception:
        logger.exception("Could not enqueue the key sweep of product %s", product_id)


def delivery_serve_from_list(
    *,
    delivery_pk: int,
    now=None,
    send_email_now: bool = False,
    claimed_attempt: int | None = None,
) -> bool:
    """Give the delivery one key per unit from its product's list and settle it
    succeeded; True if it was served.

    `claimed_attempt`: the caller is the worker that claimed this (key list)
    delivery with that attempt count; otherwise the delivery must be waiting
    (pending, retrying or failed). Without enough free keys nothing changes,
    except that a key list delivery says it waits for keys."""
    now = now or timezone.now()
    with transaction.atomic():
        order_id = (
            Delivery.objects.filter(pk=delivery_pk, is_test=False)
            .values_list("order_id", flat=True)
            .first()
        )
        # The order's lock first, as every hand action takes it (see
        # order_lock_takes_deliveries), then the delivery's.
        if order_id is None or not order_lock_takes_deliveries(order_id=order_id):
            return False
        delivery = Delivery.objects.select_for_update().get(pk=delivery_pk)
        if not _servable(delivery, claimed_attempt):
            return False
        keys = license_keys_claim(
            product_id=delivery.product_id,
            delivery_pk=delivery.pk,
            count=delivery.quantity,
            now=now,
        )
        if keys is None:
            _wait_for_keys(delivery, claimed_attempt)
            return False
        _settle_served(delivery, keys, now, claimed=claimed_attempt is not None)
        key_list_stock_note(product_id=delivery.product_id, now=now)
        order_fulfillment_refresh(order_id=order_id, send_email_now=send_email_now)
    logger.info(
        "Delivery %s served from the key list (%s)",
        delivery.delivery_id,
        delivery.source,
        extra={"delivery_id": delivery.delivery_id, "order_id": order_id},
    )
    return True


def _servable(delivery: Delivery, claimed_attempt: int | None) -> bool:
    if claimed_attempt is not None:
        return (
            delivery.status == DeliveryStatus.IN_FLIGHT
            and delivery.attempt_count == claimed_attempt
        )
    return delivery.status in SERVABLE_STATUSES


def fallback_reason(*, minutes: int, quantity: int) -> str:
    """Why a Webhook delivery was served from the list, as its seller reads it
    (kept as the delivery's last reason, with the delay of that moment)."""
    unit = "minute" if minutes == 1 else "minutes"
    sent = "a key" if quantity == 1 else f"{quantity} keys"
    return (
        f"Your server had not answered successfully after {minutes} {unit}; we "
        f"stopped sending requests and sent {sent} from your list instead."
    )


def _settle_served(delivery: Delivery, keys: list[str], now, *, claimed: bool) -> None:
    licenses = [markdown_code(key) for key in keys]
    source, reason = delivery.source, ""
    if source == DeliverySource.WEBHOOK:
        source = DeliverySource.FALLBACK
        minutes = KeyList.objects.values_list("fallback_after_minutes", flat=True).get(
            product_id=delivery.product_id
        )
        reason = fallback_reason(minutes=minutes, quantity=delivery.quantity)
    changes = {
        "status": DeliveryStatus.SUCCEEDED,
        "source": source,
        "licenses": licenses,
        "response_text": "\n".join(licenses),
        "succeeded_at": now,
        "last_error": reason,
        "next_attempt_at": None,
        "lease_expires_at": None,
        "updated_at": now,
    }
    # A worker's claim counted an attempt; serving from the list sends nothing.
    update = {"attempt_count": F("attempt_count") - 1} if claimed else {}
    Delivery.objects.filter(pk=delivery.pk).update(**changes, **update)
    for name, value in changes.items():
        setattr(delivery, name, value)


def _wait_for_keys(delivery: Delivery, claimed_attempt: int | None) -> None:
    """A key list delivery without keys waits, without a time to be tried at:
    adding keys (or the sweep) serves it. A Webhook delivery keeps its retries."""
    if delivery.source != DeliverySource.KEY_LIST:
        return
    attempts = delivery.attempt_count - (1 if claimed_attempt is not None else 0)
    Delivery.objects.filter(pk=delivery.pk).update(
        status=status_before_claim(attempts=attempts, lost=delivery.lost_claims),
        attempt_count=attempts,
        lease_expires_at=None,
        next_attempt_at=None,
        last_error=WAITING_FOR_KEYS,
        updated_at=timezone.now(),
    )


def deliveries_serve_from_lists(
    *, now=None, product_id: int | None = None, limit: int = 500
) -> int:
    """Serve what the key lists owe: key list deliveries waiting for keys, and
    Webhook deliveries past their list's fallback delay. Oldest first; a
    product whose list runs dry is skipped for the rest of the sweep. Returns
    how many were served."""
    now = now or timezone.now()
    served = 0
    dry: set[int] = set()
    for pk, owner in _owed(now=now, product_id=product_id, limit=limit):
        if owner in dry:
            continue
        if delivery_serve_from_list(delivery_pk=pk, now=now):
            served += 1
        else:
            dry.add(owner)
    return served


def _owed(*, now, product_id: int | None, limit: int) -> list[tuple[int, int]]:
    waiting = Delivery.objects.filter(
        source=DeliverySource.KEY_LIST,
        status__in=SERVABLE_STATUSES,
        is_test=False,
    )
    minute = settings.FULFILLMENT["KEY_LIST_FALLBACK_MINUTE_SECONDS"]
    overdue = Delivery.objects.filter(
        source=DeliverySource.WEBHOOK,
        status__in=SERVABLE_STATUSES,
        is_test=False,
        order__isnull=False,
        product__key_list__fallback_enabled=True,
        created_at__lte=now - timedelta(seconds=minute),
    )
    if product_id is not None:
        waiting = waiting.filter(product_id=product_id)
        overdue = overdue.filter(product_id=product_id)
    rows = list(waiting.order_by("created_at").values_list("pk", "product_id")[:limit])
    for pk, owner, created_at, minutes in overdue.order_by("created_at").values_list(
        "pk", "product_id", "created_at", "product__key_list__fallback_after_minutes"
    )[:limit]:
        if created_at <= now - timedelta(seconds=minute * minutes):
            rows.append((pk, owner))
    return rows
