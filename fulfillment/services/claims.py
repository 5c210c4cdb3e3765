"""Claiming a delivery: only one worker sends it, and only when its endpoint may
take it.

A claim is a compare-and-set on the delivery's row (due, lease free, a free
in-flight slot at its endpoint): the same task delivered twice makes one HTTP
call. The common case, a closed circuit, is one UPDATE; only when it claims
nothing does the admission run (the circuit breaker's state, the probe, holding
or deferring the delivery without spending an attempt).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Exists, F, OuterRef, Q
from django.db.models.expressions import Combinable
from django.utils import timezone

from ..models import (
    DUE_STATUSES,
    Delivery,
    DeliveryStatus,
    EndpointHealth,
    status_before_claim,
)
from . import statements
from .endpoints import endpoint_admits, endpoint_key_for
from .wakeups import MAX_BROKER_COUNTDOWN, deliveries_enqueue_on_commit


def _conf(key: str):
    return settings.FULFILLMENT[key]


def delivery_claim(delivery_pk: int, now) -> bool:
    """Take the delivery for one attempt (its attempt count goes up by one), or
    say no: not due, held by another worker, or put back to wait for its
    endpoint (circuit open, too many requests in flight) without an attempt.

    A delivery whose worker stopped mid-attempt (in flight, lease expired) is not
    claimed here: `wakeups.deliveries_recover_abandoned` first makes it due again
    and records what happened."""
    return _claim(delivery_pk, now, circuit_closed=True) or _admit_and_claim(
        delivery_pk, now
    )


def claimable(now) -> Q:
    """Due and nobody holds its lease."""
    lease_free = Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=now)
    due = Q(status__in=DUE_STATUSES) & (
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )
    return due & lease_free


def _endpoint_busy(now) -> Exists:
    """The delivery's endpoint already has ENDPOINT_MAX_IN_FLIGHT requests on the
    wire (leases not expired). Test deliveries and rows without a key are exempt.

    The limit is soft: on PostgreSQL two claims running at the same moment may
    both see one free slot and exceed it by one. SQLite serialises writers, so
    there it is exact. Good enough to keep one server from taking every worker.
    """
    limit = _conf("ENDPOINT_MAX_IN_FLIGHT")
    in_flight = Delivery.objects.filter(
        endpoint_key=OuterRef("endpoint_key"),
        status=DeliveryStatus.IN_FLIGHT,
        lease_expires_at__gt=now,
    ).exclude(endpoint_key="")
    # Exists over the limit-th row: "at least `limit` of them".
    return Exists(in_flight.order_by().values("pk")[limit - 1 : limit])


def _circuit_closed() -> Combinable:
    """The delivery's endpoint has no open (or due-for-a-probe) circuit."""
    tripped = EndpointHealth.objects.filter(
        key=OuterRef("endpoint_key"), open_until__isnull=False
    )
    return ~Exists(tripped)


def _claim(delivery_pk: int, now, *, circuit_closed: bool = False) -> bool:
    """Compare-and-set: take the delivery if it is due, nobody holds its lease and
    its endpoint has a free slot. One UPDATE; only its winner sends.

    With `circuit_closed`, also only while its endpoint's circuit is closed (test
    deliveries bypass the breaker): the common case, claimed in one statement
    without the admission reads."""
    return statements.delivery_claim(
        pk=delivery_pk,
        now=now,
        lease_until=now + timedelta(seconds=_conf("LEASE_SECONDS")),
        max_in_flight=_conf("ENDPOINT_MAX_IN_FLIGHT"),
        check_circuit=circuit_closed,
    )


def _admit_and_claim(delivery_pk: int, now) -> bool:
    """The claim's slow path: the delivery was not claimable in one statement
    because its endpoint's circuit is open or due for a probe, its endpoint is
    full, or it is simply not due (a duplicate message)."""
    if not _admit(delivery_pk, now):
        return False
    if not _claim(delivery_pk, now):
        _defer_if_busy(delivery_pk, now)
        return False
    return True


def _defer_if_busy(delivery_pk: int, now) -> None:
    """A delivery not claimed because its endpoint is full waits 1-3 s (random, so
    the waiting ones do not all come back at once), without spending an attempt.

    Deferred whenever it is still claimable, not only while the endpoint is still
    full: a slot freed between the claim and this UPDATE would otherwise leave the
    delivery without a message until the dispatcher's sweep (15-20 s)."""
    delay = random.uniform(1, 3)  # noqa: S311 - spreading load, not a secret
    deferred = (
        Delivery.objects.filter(pk=delivery_pk, is_test=False)
        .filter(claimable(now))
        .update(next_attempt_at=now + timedelta(seconds=delay))
    )
    if deferred:
        # A little late rather than early: an early message finds it not due.
        deliveries_enqueue_on_commit([delivery_pk], countdown=delay + 0.5)


def _hold(delivery_pk: int, now, until, key: str) -> bool:
    """The endpoint's circuit is open: wait until `until` without a request and
    without spending an attempt. Long waits stay in the database. False when the
    circuit closed meanwhile (the delivery may go now) or it is not due."""
    held = statements.delivery_hold(pk=delivery_pk, now=now, until=until, key=key)
    wait = (until - now).total_seconds()
    if held and wait <= MAX_BROKER_COUNTDOWN:
        deliveries_enqueue_on_commit([delivery_pk], countdown=wait + 0.5)
    return held


def _admit(delivery_pk: int, now) -> bool:
    """May we try to claim this delivery? Holds it while its endpoint's circuit
    is open (test deliveries bypass the breaker: the seller is debugging)."""
    row = (
        Delivery.objects.filter(pk=delivery_pk)
        .filter(claimable(now))
        .values_list("endpoint_key", "is_test", "product__webhook_config__url")
        .first()
    )
    if row is None:
        return False  # not due, finished, or another worker holds it
    key, is_test, url = row
    admitted = _endpoint_admission(
        delivery_pk, planned_key=key, url=url or "", is_test=is_test, now=now
    )
    if admitted is True:
        return True
    # Not held: the circuit closed between our look and the hold; go now.
    return not _hold(delivery_pk, now, admitted, endpoint_key_for(url or ""))


def delivery_endpoint_current(delivery: Delivery, now) -> bool:
    """After a claim: if the seller changed the Webhook URL since the delivery
    was planned, move it to the new endpoint, and give the claim back (without
    spending an attempt) while that endpoint's circuit holds it."""
    config = getattr(delivery.product, "webhook_config", None)
    url = config.url if config is not None else ""
    if endpoint_key_for(url) == delivery.endpoint_key:
        return True
    admitted = _endpoint_admission(
        delivery.pk,
        planned_key=delivery.endpoint_key,
        url=url,
        is_test=delivery.is_test,
        now=now,
    )
    delivery.endpoint_key = endpoint_key_for(url)
    if admitted is True:
        return True
    _unclaim(delivery, admitted)
    return False


def _endpoint_admission(
    delivery_pk: int, *, planned_key: str, url: str, is_test: bool, now
) -> bool | datetime:
    """Move the delivery to its Webhook URL's endpoint if the seller changed the
    URL since it was planned; then True if that endpoint takes it now, else when
    to try again (see `endpoint_admits`)."""
    current = endpoint_key_for(url)
    if current != planned_key:
        Delivery.objects.filter(pk=delivery_pk).update(endpoint_key=current)
    if is_test or not current:
        return True
    return endpoint_admits(key=current, now=now)


def _unclaim(delivery: Delivery, until) -> None:
    """Give back a claim made before we learned the endpoint holds the delivery:
    it waits until `until`, its attempt not spent."""
    released = Delivery.objects.filter(
        pk=delivery.pk,
        status=DeliveryStatus.IN_FLIGHT,
        attempt_count=delivery.attempt_count,
    ).update(
        status=status_before_claim(
            attempts=delivery.attempt_count - 1, lost=delivery.lost_claims
        ),
        attempt_count=F("attempt_count") - 1,
        lease_expires_at=None,
        next_attempt_at=until,
    )
    wait = (until - timezone.now()).total_seconds()
    if released and wait <= MAX_BROKER_COUNTDOWN:
        deliveries_enqueue_on_commit([delivery.pk], countdown=max(wait, 0) + 0.5)
