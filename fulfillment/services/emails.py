"""When the customer's license email is owed, with which licenses, and by whom
it is sent. The email itself (its row, claim, send and record) belongs to the
`emails` app; this module decides when.

An order's email is opened in the transaction that fulfilled it (or confirmed
it, for a product the seller delivers), then sent after the commit: by the
fulfillment worker itself (EMAIL_FROM_FULFILLMENT_WORKER) or by an email task.

The database is the truth here too: `order_emails_dispatch_due` re-enqueues
emails owed but `not_sent` (an enqueue lost with the broker down, a task that
used up its retries during an ESP outage) or stuck in a stale claim.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from emails.models import EmailStatus
from emails.selectors import order_emails_owed
from emails.services import (
    order_email_claim,
    order_email_open,
    order_email_send_again,
    order_email_send_claimed,
    order_email_withhold,
)
from orders.aftersale import order_is_closed
from orders.models import FulfillmentStatus, Order

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


def order_email_schedule(*, order_id: int, sends: bool, send_now: bool = False) -> None:
    """Call inside the transaction that fulfilled (or confirmed) the order, with
    whether its product sends order emails.

    The email is opened now; after the commit the email task is enqueued, or,
    with `send_now` (a fulfillment worker that just settled the order's last
    delivery, see EMAIL_FROM_FULFILLMENT_WORKER), this thread sends it at once.
    """
    order_email_open(order_id=order_id, sends=sends)
    if not sends:
        return
    if send_now and settings.FULFILLMENT["EMAIL_FROM_FULFILLMENT_WORKER"]:
        transaction.on_commit(lambda: _send_now(order_id))
    else:
        transaction.on_commit(lambda: _enqueue_email(order_id))


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
        if not order_email_claim(order_id=order_id, now=now):
            return False
        order, licenses = order_email_load(order_id)
        if order_is_closed(order):
            # Refunded or charged back while its request was on the wire (the
            # provider's report cannot wait for it): the license stays unsent.
            order_email_withhold(order_id=order_id, claimed_at=now)
            logger.info(
                "Order %s is closed: its license email is withheld",
                order_id,
                extra={"order_id": order_id},
            )
            return False
    order_email_send_claimed(order=order, licenses=licenses, claimed_at=now)
    return True


def order_email_resend(*, order: Order, to: str | None = None) -> None:
    """Staff or seller: send the order email again now (see
    `emails.services.order_email_send_again`); errors propagate."""
    order, licenses = order_email_load(order.pk)
    order_email_send_again(order=order, licenses=licenses, to=to)


def order_emails_resend(*, orders) -> tuple[int, list[tuple[Order, str]]]:
    """Resend each order's email (admin bulk action). Orders not yet fulfilled,
    or cancelled, refunded or charged back, have nothing to send; a failing
    send is reported, not raised."""
    sent, refused = 0, []
    for order in orders:
        if order_is_closed(order):
            refused.append((order, "cancelled, refunded or charged back"))
            continue
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
        .order_by("owed_since")
        .values_list("order_id", "status")[:limit]
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
