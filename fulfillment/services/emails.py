"""The customer's order email, sent exactly once per order.

Claim, send, record: the order's `email_status` goes not_sent → sending (a
compare-and-set that stamps `email_claimed_at`, so only one worker sends) → sent.
If sending raises, the claim is released and the task retries.

If the process dies while it holds the claim, we cannot know whether the email
left: a worker killed before the ESP call sent nothing, one killed in the instant
between the ESP accepting it and our UPDATE sent it. We decided for the customer:
a claim older than EMAIL_CLAIM_TIMEOUT_SECONDS (longer than the send task's hard
time limit, so its worker is surely gone) is taken over and the email is sent.
A customer must get their license; the rare second copy carries the same
deterministic Message-ID, so mail clients and ESPs that deduplicate collapse it.
(tests/fulfillment/test_delivery_services.py shows both sides.)

The database is the truth here too: `order_emails_dispatch_due` re-enqueues
orders whose email is owed but `not_sent` (an enqueue lost with the broker down,
a task that used up its retries during an ESP outage) or stuck in a stale claim.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.utils import timezone

from orders.email_tracking import order_email_sent_record, sent_fields
from orders.models import EmailStatus, FulfillmentStatus, Order

from ..emails import order_email_build
from ..selectors import order_email_claim_stale_before, order_emails_owed
from . import statements
from .loading import order_email_load

logger = logging.getLogger(__name__)


def _enqueue_email(order_pk: int) -> None:
    from ..tasks import order_email_send_task

    try:
        order_email_send_task.delay(order_pk)
    except Exception:
        logger.exception(
            "Could not enqueue the email of order %s",
            order_pk,
            extra={"order_id": order_pk},
        )


def order_email_schedule(*, order: Order, send_now: bool = False) -> None:
    """Call inside the transaction that fulfilled (or confirmed) the order.

    After the commit the email task is enqueued, or, with `send_now` (a
    fulfillment worker that just settled the order's last delivery, see
    EMAIL_FROM_FULFILLMENT_WORKER), this thread sends it at once.
    """
    if not order.product.send_order_emails:
        Order.objects.filter(pk=order.pk, email_status=EmailStatus.NOT_SENT).update(
            email_status=EmailStatus.DISABLED
        )
        return
    order_email_schedule_send(order_pk=order.pk, send_now=send_now)


def order_email_schedule_send(*, order_pk: int, send_now: bool = False) -> None:
    """The email is owed (the caller has checked that the product sends order
    emails): send or enqueue it once the current transaction commits."""
    if send_now and settings.FULFILLMENT["EMAIL_FROM_FULFILLMENT_WORKER"]:
        transaction.on_commit(lambda: _send_now(order_pk))
    else:
        transaction.on_commit(lambda: _enqueue_email(order_pk))


def _send_now(order_pk: int) -> None:
    """Send without a queue hop: the customer is waiting for the license, and the
    email task would cost another broker round trip and task. The claim makes it
    exactly once all the same. If sending fails, the email queue takes over with
    its retries and backoff; if this worker dies first, the dispatcher does."""
    try:
        order_email_send(order_id=order_pk)
    except Exception as exc:
        # The type only: an ESP's error text may quote the customer's address.
        logger.warning(
            "Order %s: sending the email failed (%s); the email queue retries it",
            order_pk,
            type(exc).__name__,
            extra={"order_id": order_pk},
        )
        _enqueue_email(order_pk)


def order_email_send(*, order_id: int) -> bool:
    """Send the order's email if nobody has. Returns whether this call sent it.

    Two transactions, one on each side of the provider call: the claim with the
    read of the order and its licenses, then the record of the send."""
    now = timezone.now()
    with transaction.atomic():
        claimed = statements.order_email_claim(
            pk=order_id,
            now=now,
            stale_before=order_email_claim_stale_before(now),
        )
        if not claimed:
            return False
        order, licenses = order_email_load(order_id)
    try:
        message = _send(order, licenses)
    except Exception:
        Order.objects.filter(pk=order_id, email_claimed_at=now).update(
            email_status=EmailStatus.NOT_SENT, email_claimed_at=None
        )
        raise
    _mark_sent(order_id, message)
    return True


def _send(order: Order, licenses: list[str], *, to: str | None = None) -> EmailMessage:
    message = order_email_build(order=order, licenses=licenses, to=to)
    get_connection().send_messages([message])
    return message


def _mark_sent(order_id: int, message: EmailMessage) -> None:
    """Record the send with the ESP's id for it, in one UPDATE, and log it, in
    one transaction. The log entry has a savepoint of its own: if it failed and
    rolled the send back, the claim would expire and the customer get a second
    copy."""
    fields = sent_fields(message)
    with transaction.atomic():
        Order.objects.filter(pk=order_id).update(
            email_status=EmailStatus.SENT, email_sent_at=timezone.now(), **fields
        )
        try:
            with transaction.atomic():
                order_email_sent_record(order_id=order_id, fields=fields)
        except Exception:
            logger.exception(
                "Order %s: email sent, but its log entry was not recorded",
                order_id,
                extra={"order_id": order_id},
            )
    # No address: the customer's email stays out of the logs.
    logger.info("Order %s: email sent", order_id, extra={"order_id": order_id})


def order_email_resend(*, order: Order, to: str | None = None) -> None:
    """Staff or seller: send the order email again now, e.g. after a stuck
    `sending` or to a corrected address. A deliberate human action, so it sends
    whatever the status; errors propagate to the caller."""
    previous = Order.objects.get(pk=order.pk).email_status
    Order.objects.filter(pk=order.pk).update(
        email_status=EmailStatus.SENDING, email_claimed_at=timezone.now()
    )
    try:
        message = _send(*order_email_load(order.pk), to=to)
    except Exception:
        Order.objects.filter(pk=order.pk).update(email_status=previous)
        raise
    _mark_sent(order.pk, message)


def order_emails_resend(*, orders) -> tuple[int, list[tuple[Order, str]]]:
    """Resend each order's email (admin bulk action). Orders not yet fulfilled
    have nothing to send; a failing send is reported, not raised."""
    sent, refused = 0, []
    for order in orders:
        if order.fulfillment_status not in (
            FulfillmentStatus.FULFILLED,
            FulfillmentStatus.MANUAL,
        ):
            refused.append((order, "not fulfilled yet, nothing to send"))
            continue
        try:
            order_email_resend(order=order)
        except Exception as exc:
            logger.exception(
                "Resending the email of order %s failed",
                order.pk,
                extra={"order_id": order.pk},
            )
            refused.append((order, f"sending failed ({type(exc).__name__})"))
            continue
        sent += 1
    return sent, refused


def order_emails_dispatch_due(*, limit: int = 200) -> int:
    """Re-enqueue owed emails that nobody is sending (see the module docstring).

    A sweep that finds any logs one line with the orders, naming those whose
    claim belonged to a worker that stopped (the send takes that claim over)."""
    rows = list(
        order_emails_owed(now=timezone.now())
        .order_by("completed_at")
        .values_list("pk", "email_status")[:limit]
    )
    for pk, _ in rows:
        _enqueue_email(pk)
    if rows:
        stale = [pk for pk, status in rows if status == EmailStatus.SENDING]
        logger.info(
            "Email dispatcher re-enqueued %d owed order emails: orders %s; "
            "claims of stopped workers taken over: %s",
            len(rows),
            " ".join(str(pk) for pk, _ in rows),
            " ".join(str(pk) for pk in stale) or "none",
        )
    return len(rows)
