"""Sending alerts: claimed, sent, recorded and retried by the fulfillment engine.

The same policies as a fulfillment delivery (`exchange`): the transport with its
SSRF policy and limits, Standard Webhooks signatures (the Alerts secret), the
retry schedule with Retry-After, the endpoint's circuit breaker and in-flight
limit, a lease that a dead worker's sweep takes back. The differences: an alert
is accepted by any 2xx (`outcome.judge_alert`), nothing of its answer reaches a
customer or an order, and a final failure is only shown on the Alerts page.

Not the hot path: claims are ORM statements, and the in-flight limit counts the
endpoint's deliveries and alerts together.
"""

from __future__ import annotations

import logging
import random
from dataclasses import replace
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from lib import transport
from lib.ids import new_alert_id

from .. import outcome
from ..models import (
    AlertAttempt,
    AlertDelivery,
    AlertEndpoint,
    AlertType,
    Delivery,
    DeliveryStatus,
    ErrorKind,
    status_before_claim,
)
from ..payload import alert_body, build_alert_request
from .alerts import alert_sample_data
from .claims import claimable
from .endpoints import endpoint_admits, endpoint_key_for
from .exchange import (
    attempt_fields,
    endpoint_learn,
    exchange_send,
    next_attempt_delay,
    verdict_words,
)
from .wakeups import INTERRUPTED_MESSAGE, MAX_BROKER_COUNTDOWN, lost_messages

logger = logging.getLogger(__name__)

NO_URL_MESSAGE = "You have no Alerts URL. Set one on the Alerts page."


def _conf(key: str):
    return settings.FULFILLMENT[key]


# --- Waking workers ---------------------------------------------------------------


def alert_enqueue(alert_id: str, countdown: float = 0) -> None:
    """Wake a worker. A failure here loses nothing: the sweep finds the row."""
    from ..tasks import alert_attempt_task

    try:
        alert_attempt_task.apply_async(args=[alert_id], countdown=countdown)
    except Exception:
        logger.exception("Could not enqueue alert %s; the dispatcher will", alert_id)


def alerts_enqueue_on_commit(alert_ids: list[str], countdown: float = 0) -> None:
    def enqueue() -> None:
        for alert_id in alert_ids:
            alert_enqueue(alert_id, countdown)

    transaction.on_commit(enqueue)


# --- One attempt ------------------------------------------------------------------


def alert_attempt(*, alert_id: str) -> AlertDelivery | None:
    """Make one attempt at an alert if it can be claimed; record what happened.

    None when no attempt was made: not due, finished, held by another worker
    (a duplicate message), or put back to wait for its endpoint. Two
    transactions, one on each side of the request, as for deliveries.
    """
    now = timezone.now()
    with transaction.atomic():
        alert = _claim(alert_id, now)
        if alert is None:
            return None
        endpoint = AlertEndpoint.objects.filter(seller=alert.seller_id).first()
    request, result, verdict = _safe_exchange(alert, endpoint)
    delay, note = next_attempt_delay(
        counted_attempts=alert.counted_attempts, verdict=verdict, is_test=alert.is_test
    )
    if note:
        verdict = replace(verdict, message=f"{verdict.message.rstrip('.')}; {note}.")
    with transaction.atomic():
        _record_attempt(alert, now, request, result, verdict)
        _settle(alert, verdict, delay)
        endpoint_learn(
            key=alert.endpoint_key,
            is_test=alert.is_test,
            result=result,
            verdict=verdict,
            started_at=now,
        )
    return alert


def _endpoint_full(key: str, now) -> bool:
    """The endpoint has ENDPOINT_MAX_IN_FLIGHT requests on the wire, deliveries
    and alerts together (soft, like the deliveries' own limit)."""
    busy = Q(
        endpoint_key=key, status=DeliveryStatus.IN_FLIGHT, lease_expires_at__gt=now
    )
    in_flight = Delivery.objects.filter(busy).count()
    in_flight += AlertDelivery.objects.filter(busy).count()
    return in_flight >= _conf("ENDPOINT_MAX_IN_FLIGHT")


def _claim(alert_id: str, now) -> AlertDelivery | None:
    """Compare-and-set on the alert's row, after the endpoint's admission
    (circuit, in-flight slot; tests bypass both). A refused admission waits
    in the database without spending an attempt."""
    alert = (
        AlertDelivery.objects.filter(alert_id=alert_id).filter(claimable(now)).first()
    )
    if alert is None:
        return None
    url = (
        AlertEndpoint.objects.filter(seller=alert.seller_id)
        .values_list("url", flat=True)
        .first()
    )
    key = endpoint_key_for(url or "")
    if not alert.is_test and key and not _admitted(alert, key, now):
        return None
    won = (
        AlertDelivery.objects.filter(pk=alert.pk, attempt_count=alert.attempt_count)
        .filter(claimable(now))
        .update(
            status=DeliveryStatus.IN_FLIGHT,
            lease_expires_at=now + timedelta(seconds=_conf("LEASE_SECONDS")),
            attempt_count=F("attempt_count") + 1,
            endpoint_key=key,
        )
    )
    if not won:
        return None
    alert.attempt_count += 1
    alert.status, alert.endpoint_key = DeliveryStatus.IN_FLIGHT, key
    return alert


def _admitted(alert: AlertDelivery, key: str, now) -> bool:
    admitted = endpoint_admits(key=key, now=now)
    if admitted is not True:
        _wait(alert, admitted, now)
        return False
    if _endpoint_full(key, now):
        delay = random.uniform(1, 3)  # noqa: S311 - spreading load, not a secret
        _wait(alert, now + timedelta(seconds=delay), now)
        return False
    return True


def _wait(alert: AlertDelivery, until, now) -> None:
    """Not now: due again at `until`, its attempt not spent."""
    waiting = (
        AlertDelivery.objects.filter(pk=alert.pk)
        .filter(claimable(now))
        .update(next_attempt_at=until)
    )
    wait = (until - now).total_seconds()
    if waiting and wait <= MAX_BROKER_COUNTDOWN:
        alerts_enqueue_on_commit([alert.alert_id], countdown=wait + 0.5)


def _safe_exchange(alert: AlertDelivery, endpoint: AlertEndpoint | None):
    """Build, sign and send the alert. Returns (request or None, result, verdict)."""
    if endpoint is None or not endpoint.url:
        verdict = outcome.Verdict(False, ErrorKind.CONFIG, NO_URL_MESSAGE)
        return None, None, verdict
    try:
        request = build_alert_request(
            url=endpoint.url,
            body=alert.payload,
            alert_id=alert.alert_id,
            secrets=endpoint.active_secrets(),
            timestamp=int(timezone.now().timestamp()),
            user_agent=_conf("USER_AGENT"),
        )
        result = exchange_send(request)
    except Exception as exc:  # A bug of ours must not strand the alert in flight.
        logger.exception("Alert %s attempt crashed", alert.alert_id)
        message = f"Internal error while sending ({type(exc).__name__}); we will retry."
        return (
            None,
            None,
            outcome.Verdict(False, ErrorKind.ERROR, message, retryable=True),
        )
    verdict = outcome.judge_alert(result, received_at=timezone.now())
    transport.log_exchange(request, result, verdict=verdict_words(verdict))
    return request, result, verdict


def _record_attempt(alert: AlertDelivery, started_at, request, result, verdict) -> None:
    AlertAttempt.objects.create(
        alert=alert,
        **attempt_fields(
            job=alert,
            started_at=started_at,
            request=request,
            result=result,
            verdict=verdict,
        ),
    )


def _settle(alert: AlertDelivery, verdict, delay: float | None) -> None:
    """Move the alert on: succeeded, retrying after `delay`, or failed for good.

    A failure counts only while we hold the lease; a success counts unless the
    alert already succeeded (the seller dedupes a second one by webhook-id)."""
    now = timezone.now()
    if verdict.succeeded:
        target = AlertDelivery.objects.filter(pk=alert.pk).exclude(
            status=DeliveryStatus.SUCCEEDED
        )
        changes = {"status": DeliveryStatus.SUCCEEDED, "succeeded_at": now}
        changes |= {"last_error": "", "next_attempt_at": None}
    else:
        target = AlertDelivery.objects.filter(
            pk=alert.pk,
            status=DeliveryStatus.IN_FLIGHT,
            attempt_count=alert.attempt_count,
        )
        status = DeliveryStatus.FAILED if delay is None else DeliveryStatus.RETRYING
        due = None if delay is None else now + timedelta(seconds=delay)
        changes = {
            "status": status,
            "last_error": verdict.message,
            "next_attempt_at": due,
        }
    if target.update(lease_expires_at=None, updated_at=now, **changes) != 1:
        logger.warning("Alert %s lease lost; result recorded only", alert.alert_id)
        return
    for name, value in changes.items():
        setattr(alert, name, value)
    logger.info(
        "Alert %s %s after attempt %d",
        alert.alert_id,
        alert.status,
        alert.attempt_count,
    )
    retrying = alert.status == DeliveryStatus.RETRYING
    if retrying and delay is not None and delay <= MAX_BROKER_COUNTDOWN:
        alerts_enqueue_on_commit([alert.alert_id], countdown=delay + 0.5)


# --- "Send test alert" ------------------------------------------------------------


def alert_test_send(*, seller_id: int) -> AlertDelivery:
    """Send a signed sample event to the seller's Alerts URL now, through the
    same code path as a real alert, and never retry it: the seller is looking
    at the result. Its request is kept with its signature (sample data only)."""
    alert_id = new_alert_id()
    AlertDelivery.objects.create(
        alert_id=alert_id,
        seller_id=seller_id,
        type=AlertType.TEST,
        subject=alert_id,
        is_test=True,
        payload=alert_body(
            alert_type=AlertType.TEST,
            created_at=timezone.now(),
            data=alert_sample_data(),
        ),
    )
    alert_attempt(alert_id=alert_id)
    return AlertDelivery.objects.get(alert_id=alert_id)


def alert_retry_now(*, seller_id: int, alert_id: str) -> bool:
    """The seller: send a failed alert again now, with the same `webhook-id`
    (the seller's server dedupes on it). One more attempt; if it fails, the
    alert is failed again. False if it is not this seller's failed alert (a
    test alert is never sent again: "Send test alert" makes a new one)."""
    with transaction.atomic():
        updated = AlertDelivery.objects.filter(
            alert_id=alert_id,
            seller_id=seller_id,
            status=DeliveryStatus.FAILED,
            is_test=False,
        ).update(
            status=DeliveryStatus.PENDING,
            next_attempt_at=timezone.now(),
            lease_expires_at=None,
            updated_at=timezone.now(),
        )
        if updated:
            alerts_enqueue_on_commit([alert_id])
    return bool(updated)


# --- The sweep: the database is the truth -----------------------------------------


def alerts_dispatch_due(*, limit: int = 500) -> int:
    """Re-enqueue alerts whose message was lost, after taking back those whose
    worker stopped mid-attempt (run by beat, like `deliveries_dispatch_due`)."""
    now = timezone.now()
    recovered = alerts_recover_abandoned(now=now, limit=limit)
    lost = lost_messages(AlertDelivery, now)
    alert_ids = list(lost.values_list("alert_id", flat=True)[:limit])
    for alert_id in alert_ids:
        alert_enqueue(alert_id)
    if alert_ids:
        logger.info(
            "Dispatcher re-enqueued %d due alerts whose message was lost: %s",
            len(alert_ids),
            " ".join(alert_ids),
        )
    return len(alert_ids) + recovered


def alerts_recover_abandoned(*, now, limit: int = 500) -> int:
    """In flight with an expired lease: the worker died after its claim. That
    try does not count; an `interrupted` attempt row says what happened, and the
    alert is due again at once (the retry carries the same webhook-id)."""
    stuck = AlertDelivery.objects.filter(
        status=DeliveryStatus.IN_FLIGHT, lease_expires_at__lte=now
    )[:limit]
    recovered = [alert.alert_id for alert in stuck if _recover(alert, now)]
    for alert_id in recovered:
        logger.warning("Alert %s: its worker stopped mid-attempt; due again", alert_id)
    alerts_enqueue_on_commit(recovered)
    return len(recovered)


def _recover(alert: AlertDelivery, now) -> bool:
    with transaction.atomic():
        won = AlertDelivery.objects.filter(
            pk=alert.pk,
            status=DeliveryStatus.IN_FLIGHT,
            attempt_count=alert.attempt_count,
            lease_expires_at=alert.lease_expires_at,
        ).update(
            status=status_before_claim(
                attempts=alert.attempt_count - 1, lost=alert.lost_claims
            ),
            lost_claims=F("lost_claims") + 1,
            lease_expires_at=None,
            next_attempt_at=now,
            updated_at=now,
        )
        if won:
            AlertAttempt.objects.create(
                alert=alert,
                number=alert.attempt_count,
                due_at=alert.next_attempt_at,
                started_at=(alert.lease_expires_at or now)
                - timedelta(seconds=_conf("LEASE_SECONDS")),
                error_kind=ErrorKind.INTERRUPTED,
                message=INTERRUPTED_MESSAGE,
            )
    return bool(won)
