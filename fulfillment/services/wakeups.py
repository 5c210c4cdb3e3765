"""Waking deliveries up: a broker message per due delivery, and the sweeps that
make up for lost ones.

The database is the source of truth; a broker message only wakes a worker up, and
a duplicate is harmless (the claim lets one through, see `claims`). Short waits go
back to the broker with a countdown; long ones stay in the database, and
`deliveries_dispatch_due` (run by beat) picks them up when they are due.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from ..models import (
    DUE_STATUSES,
    AttemptedJob,
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    ErrorKind,
    status_before_claim,
)
from .endpoints import CIRCUIT_ERROR_KINDS, endpoint_probe_now

logger = logging.getLogger(__name__)

# Broker countdowns up to this long; longer waits are left to the dispatcher so no
# message outlives the broker's visibility timeout (kombu #337, celery #2599).
MAX_BROKER_COUNTDOWN = 300


def delivery_enqueue(delivery_pk: int, countdown: float = 0) -> None:
    """Wake a worker. A failure here loses nothing: the dispatcher finds the row."""
    from ..tasks import delivery_attempt_task

    try:
        delivery_attempt_task.apply_async(args=[delivery_pk], countdown=countdown)
    except Exception:
        logger.exception(
            "Could not enqueue delivery %s; the dispatcher will", delivery_pk
        )


def deliveries_enqueue_on_commit(delivery_pks: list[int], countdown: float = 0) -> None:
    """Wake workers for these deliveries once the current transaction commits."""

    def enqueue() -> None:
        for pk in delivery_pks:
            delivery_enqueue(pk, countdown)

    transaction.on_commit(enqueue)


def deliveries_release_held(*, endpoint_key: str, until, limit: int = 500) -> int:
    """The endpoint's circuit closed: its deliveries waiting because nobody
    answered go now. That is every delivery held by the circuit (waiting until
    `until` at the latest, the stored end of the window or of the probe's lease)
    and every retry scheduled after a timeout or a failed connection (the
    probe's own among them), however far its backoff had pushed it. Retries after
    an error answer keep their schedule: that answer was theirs. The in-flight
    limit still paces them."""
    now = timezone.now()
    silent = Exists(
        DeliveryAttempt.objects.filter(
            delivery=OuterRef("pk"),
            number=OuterRef("attempt_count"),
            error_kind__in=CIRCUIT_ERROR_KINDS,
        )
    )
    pks = list(
        Delivery.objects.filter(
            endpoint_key=endpoint_key,
            status__in=DUE_STATUSES,
            next_attempt_at__gt=now,
        )
        .filter(Q(next_attempt_at__lte=until) | silent)
        .values_list("pk", flat=True)[:limit]
    )
    if pks:
        Delivery.objects.filter(pk__in=pks, status__in=DUE_STATUSES).update(
            next_attempt_at=now
        )
        deliveries_enqueue_on_commit(pks)
    return len(pks)


def delivery_retry_now(*, delivery: Delivery) -> bool:
    """Seller or staff: attempt a failed, retrying or cancelled delivery now.
    Never one of a cancelled, refunded or charged-back order."""
    from .orders import order_fulfillment_refresh, order_lock_takes_deliveries

    with transaction.atomic():
        if not order_lock_takes_deliveries(order_id=delivery.order_id):
            return False
        updated = Delivery.objects.filter(
            pk=delivery.pk,
            status__in=[
                DeliveryStatus.FAILED,
                DeliveryStatus.RETRYING,
                DeliveryStatus.CANCELLED,
                DeliveryStatus.PENDING,
            ],
            is_test=False,
        ).update(
            status=DeliveryStatus.PENDING,
            next_attempt_at=timezone.now(),
            lease_expires_at=None,
            # If it fails again, the seller hears about it again.
            alerted_at=None,
        )
        if updated and delivery.order_id:
            order_fulfillment_refresh(order_id=delivery.order_id)
        if updated and delivery.endpoint_key:
            # Somebody believes the server works again: find out now, not at the
            # end of the circuit's window.
            endpoint_probe_now(key=delivery.endpoint_key)
        if updated:
            deliveries_enqueue_on_commit([delivery.pk])
    return bool(updated)


def deliveries_dispatch_due(*, limit: int = 500) -> int:
    """Re-enqueue deliveries that are due but whose message seems lost.

    First the deliveries whose worker stopped mid-attempt are made due again
    (`deliveries_recover_abandoned`). Then a delivery counts as lost when it has
    been due for longer than the grace period (its own message would have been
    picked up by then). Duplicates are harmless: the claim lets only one through.
    Each sweep that finds work logs one line with the delivery IDs.
    """
    now = timezone.now()
    recovered = deliveries_recover_abandoned(now=now, limit=limit)
    rows = list(lost_messages(Delivery, now).values_list("pk", "delivery_id")[:limit])
    for pk, _ in rows:
        delivery_enqueue(pk)
    if rows:
        ids = [delivery_id for _, delivery_id in rows]
        logger.info(
            "Dispatcher re-enqueued %d due deliveries whose message was lost: %s",
            len(ids),
            " ".join(ids),
        )
    return len(rows) + len(recovered)


def lost_messages(model: type[AttemptedJob], now) -> QuerySet:
    """Rows of `model` due for longer than the grace period, nobody holding
    them: their own message would have been picked up by then, so it was lost.
    Oldest first."""
    grace = timedelta(seconds=settings.FULFILLMENT["DISPATCH_GRACE_SECONDS"])
    lease_free = Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=now)
    return (
        model._default_manager.filter(
            status__in=DUE_STATUSES, next_attempt_at__lte=now - grace
        )
        .filter(lease_free)
        .order_by("next_attempt_at")
    )


def deliveries_recover_abandoned(*, now, limit: int = 500) -> list[str]:
    """Deliveries whose worker stopped mid-attempt are due again at once.

    In flight with an expired lease means the worker died (or was killed) after
    its claim and before it recorded an answer. That try is not an attempt: the
    delivery goes back to pending or retrying, due now, with its retry schedule
    untouched; an `interrupted` attempt row under the claimed number says what
    happened, so the numbers have no gap. The seller's server may or may not
    have received that request; the next one carries the same `webhook-id`.
    Returns the delivery IDs recovered, each logged.
    """
    rows = list(
        Delivery.objects.filter(
            status=DeliveryStatus.IN_FLIGHT, lease_expires_at__lte=now
        ).values_list(
            "pk",
            "delivery_id",
            "order_id",
            "attempt_count",
            "lost_claims",
            "lease_expires_at",
            "next_attempt_at",
        )[:limit]
    )
    recovered = [row for row in rows if _recover(row, now)]
    for _, delivery_id, order_id, number, *_ in recovered:
        logger.warning(
            "Delivery %s: its worker stopped during attempt %d; due again now",
            delivery_id,
            number,
            extra={"delivery_id": delivery_id, "order_id": order_id},
        )
    deliveries_enqueue_on_commit([row[0] for row in recovered])
    return [row[1] for row in recovered]


def _recover(row: tuple, now) -> bool:
    """One abandoned delivery: a compare-and-set on the claim it lost, and the
    `interrupted` attempt row, in one transaction."""
    pk, _, _, number, lost, lease_expires_at, due_at = row
    with transaction.atomic():
        won = Delivery.objects.filter(
            pk=pk,
            status=DeliveryStatus.IN_FLIGHT,
            attempt_count=number,
            lease_expires_at=lease_expires_at,
        ).update(
            status=status_before_claim(attempts=number - 1, lost=lost),
            lost_claims=lost + 1,
            lease_expires_at=None,
            next_attempt_at=now,
            updated_at=now,
        )
        if won:
            DeliveryAttempt.objects.create(
                delivery_id=pk,
                number=number,
                due_at=due_at,
                started_at=lease_expires_at
                - timedelta(seconds=settings.FULFILLMENT["LEASE_SECONDS"]),
                error_kind=ErrorKind.INTERRUPTED,
                message=INTERRUPTED_MESSAGE,
            )
    return bool(won)


INTERRUPTED_MESSAGE = (
    "Our worker stopped during this attempt, before it recorded an answer; we "
    "retried at once. This try does not count against the retry schedule. Your "
    "server may have received the request: the retry carries the same webhook-id."
)
