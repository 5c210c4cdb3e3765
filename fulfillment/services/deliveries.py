"""Deliveries: planned with the order, attempted by workers, settled after each
attempt.

A worker claims the delivery (`claims`), builds, signs and sends the request,
records the attempt, and moves the delivery and its order on: succeeded, retrying
after a wait, or failed. Waking deliveries up, by broker message or from the
database, is in `wakeups`.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from lib import transport
from lib.ids import new_delivery_id

from .. import outcome, payload
from ..models import (
    Delivery,
    DeliveryAttempt,
    DeliverySource,
    DeliveryStatus,
    ErrorKind,
)
from .alerts import alert_delivery_failed
from .claims import delivery_claim, delivery_endpoint_current
from .emails import order_email_schedule
from .endpoints import endpoint_key_for
from .exchange import (
    attempt_fields,
    endpoint_learn,
    exchange_send,
    next_attempt_delay,
    verdict_words,
)
from .keylist import delivery_serve_from_list
from .loading import delivery_load
from .wakeups import MAX_BROKER_COUNTDOWN, deliveries_enqueue_on_commit

logger = logging.getLogger(__name__)


def _conf(key: str):
    return settings.FULFILLMENT[key]


def order_fulfillment_start(*, order) -> list[Delivery]:
    """Plan the order's deliveries inside its transaction; enqueue them after commit.

    Separate Multibuy sends one request per unit (quantity 1, item i of N);
    otherwise one request carries the whole quantity. A key list product has
    one delivery, served from the list now (or waiting for keys). Manual
    products have no deliveries: the order is confirmed to the customer and
    the seller delivers.
    """
    product = order.product
    if product.uses_key_list:
        return [_key_list_delivery_start(order)]
    if not product.uses_webhook:
        order.fulfillment_status = "manual"
        order.save(update_fields=["fulfillment_status"])
        order_email_schedule(order_id=order.pk, sends=product.send_order_emails)
        return []
    config = getattr(product, "webhook_config", None)
    version = config.version if config is not None else 0
    key = endpoint_key_for(config.url) if config is not None else ""
    if config is not None and config.separate_multibuy:
        units = [(i, order.quantity, 1) for i in range(1, order.quantity + 1)]
    else:
        units = [(1, 1, order.quantity)]
    deliveries = Delivery.objects.bulk_create(
        Delivery(
            order=order,
            product=product,
            config_version=version,
            endpoint_key=key,
            item_index=index,
            item_count=count,
            quantity=quantity,
        )
        for index, count, quantity in units
    )
    pks = [delivery.pk for delivery in deliveries]
    if None in pks:  # a database that cannot return the new rows' keys
        pks = list(
            Delivery.objects.filter(order=order)
            .order_by("item_index")
            .values_list("pk", flat=True)
        )
    deliveries_enqueue_on_commit(pks)
    return deliveries


def _key_list_delivery_start(order) -> Delivery:
    """Plan the order's one key list delivery and serve it inside the order's
    transaction: the customer's page shows the keys as soon as it loads."""
    delivery = Delivery.objects.create(
        order=order,
        product=order.product,
        source=DeliverySource.KEY_LIST,
        config_version=0,
        quantity=order.quantity,
        next_attempt_at=None,
    )
    delivery_serve_from_list(delivery_pk=delivery.pk)
    delivery.refresh_from_db()
    return delivery


def delivery_test_send(
    *,
    product,
    quantity: int = 1,
    item_index: int = 1,
    item_count: int = 1,
    test_run: str = "",
) -> Delivery:
    """Send one test delivery now, through the same code path as a real one.

    It carries sample order data for `quantity` units, is marked `test`, and is
    never retried: the seller is looking at the result. `test_run` groups the
    requests of one press of "Send test request" (see services.testing).
    """
    config = product.webhook_config
    delivery_id = new_delivery_id()
    delivery = Delivery.objects.create(
        delivery_id=delivery_id,
        product=product,
        is_test=True,
        test_run=test_run or delivery_id,
        config_version=config.version,
        endpoint_key=endpoint_key_for(config.url),
        item_index=item_index,
        item_count=item_count,
        quantity=quantity,
        test_facts=payload.OrderFacts(
            order_id="test",
            transaction_id="test_txn_0001",
            checkout_hash="test-checkout-hash",
            customer_email="customer@example.com",
            customer_name="Sam Sample" if product.collect_customer_name else "",
            product_id=product.pk,
            product_name=product.name,
            quantity=item_count if item_count > 1 else quantity,
            unit_price=str(product.price),
            currency=product.currency,
            event_time=timezone.now(),
            is_test=True,
            passthrough=payload.TEST_PASSTHROUGH,
        ).to_json(),
    )
    delivery_attempt(delivery_pk=delivery.pk)
    delivery.refresh_from_db()
    return delivery


def _facts_for(delivery: Delivery) -> payload.OrderFacts:
    if delivery.test_facts is not None:
        return payload.OrderFacts.from_json(delivery.test_facts)
    order = delivery.real_order
    return payload.OrderFacts(
        order_id=str(order.pk),
        transaction_id=order.transaction_id,
        checkout_hash=order.checkout.hash,
        customer_email=order.customer_email,
        customer_name=order.customer_name,
        product_id=order.product_id,
        # The delivery's product is the order's (planned with it), loaded already.
        product_name=delivery.product.name,
        quantity=order.quantity,
        unit_price=str(order.unit_price),
        currency=order.currency,
        event_time=order.completed_at,
        # Orders paid with the test provider reach the seller marked as tests.
        is_test=order.is_test,
        passthrough=order.passthrough,
    )


def _build_request(delivery: Delivery, config) -> payload.OutboundRequest:
    fields = payload.build_fields(
        facts=_facts_for(delivery),
        delivery_id=delivery.delivery_id,
        quantity=delivery.quantity,
        item_index=delivery.item_index,
        item_count=delivery.item_count,
        custom_fields=list(config.custom_fields.all()),
    )
    return payload.build_request(
        url=config.url,
        method=config.method,
        body_format=config.body_format,
        fields=fields,
        delivery_id=delivery.delivery_id,
        secrets=config.active_secrets(),
        timestamp=int(timezone.now().timestamp()),
        user_agent=_conf("USER_AGENT"),
    )


def _exchange(delivery: Delivery):
    """Build, sign and send one request. Returns (request or None, result, verdict)."""
    config = getattr(delivery.product, "webhook_config", None)
    if config is None or not config.url:
        verdict = outcome.Verdict(
            succeeded=False,
            error_kind=ErrorKind.CONFIG,
            message="This product has no Webhook URL. Set one in the Webhook Editor.",
            text="",
            retryable=False,
        )
        return None, None, verdict
    request = _build_request(delivery, config)
    result = exchange_send(request)
    verdict = outcome.judge(
        result,
        received_at=timezone.now(),
        response_format=config.response_format,
        quantity=delivery.quantity,
    )
    transport.log_exchange(request, result, verdict=verdict_words(verdict))
    return request, result, verdict


def _record_attempt(delivery: Delivery, started_at, request, result, verdict) -> None:
    DeliveryAttempt.objects.create(
        delivery=delivery,
        **attempt_fields(
            job=delivery,
            started_at=started_at,
            request=request,
            result=result,
            verdict=verdict,
        ),
    )


def delivery_attempt(*, delivery_pk: int) -> Delivery | None:
    """Make one attempt at a delivery if it can be claimed; record what happened.

    Returns None when no attempt was made: the delivery was not due, finished or
    held by another worker (the normal outcome of a duplicate message), or it was
    put back to wait for its endpoint (circuit open, too many requests in flight)
    without spending an attempt.

    Two transactions, one on each side of the request: the claim with the read
    of everything the request needs, then the attempt row, the delivery's new
    state, the order's and the endpoint's, committed together.
    """
    now = timezone.now()
    delivery = _claim_and_load(delivery_pk, now)
    if delivery is None:
        return None
    if delivery.source == DeliverySource.KEY_LIST:  # e.g. after "Retry now"
        delivery_serve_from_list(
            delivery_pk=delivery.pk,
            claimed_attempt=delivery.attempt_count,
            send_email_now=True,
        )
        return delivery
    request, result, verdict = _safe_exchange(delivery)
    delay, note = _next_attempt(delivery, verdict)
    if note:
        verdict = replace(verdict, message=f"{verdict.message.rstrip('.')}; {note}.")
    with transaction.atomic():
        _record_attempt(delivery, now, request, result, verdict)
        _settle(delivery, verdict, delay)
        _endpoint_learn(delivery, result, verdict, started_at=now)
    return delivery


def _claim_and_load(delivery_pk: int, now) -> Delivery | None:
    """The claim and the delivery with its order, product, Webhook config (and
    its custom fields) and endpoint health (`loading`), in one transaction, so
    one commit; None when it was not claimed (or given back because its new
    endpoint's circuit holds it)."""
    with transaction.atomic():
        if not delivery_claim(delivery_pk, now):
            return None
        delivery = delivery_load(delivery_pk)
        if not delivery_endpoint_current(delivery, now):
            return None
    return delivery


def _safe_exchange(delivery: Delivery):
    try:
        return _exchange(delivery)
    except Exception as exc:  # A bug of ours must not strand the delivery in flight.
        logger.exception(
            "Delivery %s attempt crashed",
            delivery.delivery_id,
            extra={"delivery_id": delivery.delivery_id, "order_id": delivery.order_id},
        )
        verdict = outcome.Verdict(
            succeeded=False,
            error_kind=ErrorKind.ERROR,
            message=(
                f"Internal error while sending ({type(exc).__name__}); we will retry."
            ),
            text="",
            retryable=True,
        )
        return None, None, verdict


def _next_attempt(delivery: Delivery, verdict) -> tuple[float | None, str]:
    """Seconds until the next attempt (None: no more) and a note for the seller."""
    return next_attempt_delay(
        counted_attempts=delivery.counted_attempts,
        verdict=verdict,
        is_test=delivery.is_test,
    )


def _endpoint_learn(delivery: Delivery, result, verdict, *, started_at) -> None:
    """Feed the endpoint's circuit breaker (`exchange.endpoint_learn`)."""
    endpoint_learn(
        key=delivery.endpoint_key,
        is_test=delivery.is_test,
        result=result,
        verdict=verdict,
        started_at=started_at,
        has_failed=_endpoint_has_failed(delivery),
    )


_NOT_LOADED = object()


def _endpoint_has_failed(delivery: Delivery) -> bool:
    """Is there breaker state to clear? Unknown (not loaded) counts as yes."""
    failures = getattr(delivery, "endpoint_failures", _NOT_LOADED)
    if failures is _NOT_LOADED:
        return True
    return bool(failures) or getattr(delivery, "endpoint_open_until", None) is not None


def _settle_target(delivery: Delivery, verdict):
    """The row this attempt may update.

    A failure moves the delivery on only while we still hold its lease. A success
    counts even when the lease was lost meanwhile (the seller's server has issued
    the license; a second attempt racing ours must not throw it away), unless the
    delivery already succeeded or was cancelled.
    """
    if verdict.succeeded:
        return Delivery.objects.filter(pk=delivery.pk).exclude(
            status__in=[DeliveryStatus.SUCCEEDED, DeliveryStatus.CANCELLED]
        )
    return Delivery.objects.filter(
        pk=delivery.pk,
        status=DeliveryStatus.IN_FLIGHT,
        attempt_count=delivery.attempt_count,
    )


def _settle(delivery: Delivery, verdict, delay: float | None) -> None:
    """Move the delivery on after an attempt and the order with it.

    `delay` is the wait before the next attempt; None fails a failed delivery.
    """
    from .orders import order_delivery_settled

    now = timezone.now()
    changes = _settle_changes(verdict, delay, now)
    target = _settle_target(delivery, verdict)
    if target.update(lease_expires_at=None, updated_at=now, **changes) != 1:
        logger.warning(
            "Delivery %s lease lost; result recorded only",
            delivery.delivery_id,
            extra={"delivery_id": delivery.delivery_id, "order_id": delivery.order_id},
        )
        return
    for name, value in changes.items():
        setattr(delivery, name, value)
    logger.log(
        logging.WARNING if delivery.status == DeliveryStatus.FAILED else logging.INFO,
        "Delivery %s %s after attempt %d",
        delivery.delivery_id,
        delivery.status,
        delivery.attempt_count,
        extra={
            "delivery_id": delivery.delivery_id,
            "order_id": delivery.order_id,
            "product_id": delivery.product_id,
            "endpoint": delivery.endpoint_key,
            "status": delivery.status,
        },
    )
    if delivery.order_id:
        order_delivery_settled(delivery=delivery)
        if delivery.status == DeliveryStatus.FAILED:
            alert_delivery_failed(delivery=delivery)
    retrying = delivery.status == DeliveryStatus.RETRYING
    if retrying and delay is not None and delay <= MAX_BROKER_COUNTDOWN:
        # A little late rather than early: an early message finds it not due.
        deliveries_enqueue_on_commit([delivery.pk], countdown=delay + 0.5)


def _stored_licenses(verdict) -> list[str]:
    licenses = list(verdict.licenses)
    return [] if licenses == [verdict.text] else licenses


def _settle_changes(verdict, delay: float | None, now) -> dict:
    if verdict.succeeded:
        return {
            "status": DeliveryStatus.SUCCEEDED,
            "response_text": verdict.text,
            # Stored only when they differ from the answer: the "text" format's
            # one license is `response_text` itself.
            "licenses": _stored_licenses(verdict),
            "succeeded_at": now,
            "last_error": "",
            "next_attempt_at": None,
        }
    return {
        "status": DeliveryStatus.FAILED if delay is None else DeliveryStatus.RETRYING,
        "last_error": verdict.message,
        "next_attempt_at": None if delay is None else now + timedelta(seconds=delay),
    }
