"""Every write to an order's license email: open it, claim it, send it, record it.

The order's `OrderEmail` row is opened in the transaction that fulfilled the
order, so an owed email always has a row, and the email dispatcher reads only
the few rows still owed. Then claim, send, record: `status` goes not_sent →
sending (a compare-and-set that stamps `claimed_at`, so only one worker sends)
→ sent. If sending raises, the claim is released and the caller retries.

If the process dies while it holds the claim, we cannot know whether the email
left: a worker killed before the ESP call sent nothing, one killed in the instant
between the ESP accepting it and our UPDATE sent it. We decided for the customer:
a claim older than EMAIL_CLAIM_TIMEOUT_SECONDS (longer than the send task's hard
time limit, so its worker is surely gone) is taken over and the email is sent.
A customer must get their license; the rare second copy carries the same
deterministic Message-ID, so mail clients and ESPs that deduplicate collapse it.

What the email says (the licenses) and when it is owed is the fulfillment's
business (`fulfillment.services.emails`): these services take the order and its
licenses as given.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.core.mail import EmailMessage, get_connection
from django.db import connection, transaction
from django.utils import timezone

from orders.models import Order

from .build import order_email_build
from .models import EmailStatus, OrderEmail
from .selectors import order_email_claim_stale_before
from .tracking import order_email_sent_record, sent_fields

logger = logging.getLogger(__name__)

# Not sent, or claimed so long ago that its worker is surely gone; and only for
# a product that sends order emails. Written once as SQL: it runs once per order
# on the hot path, where compiling the ORM's version cost more than running it.
_CLAIM = """
UPDATE emails_orderemail
SET status = %(sending)s, claimed_at = %(now)s
WHERE order_id = %(pk)s
  AND (status = %(not_sent)s
       OR (status = %(sending)s AND claimed_at < %(stale_before)s))
  AND EXISTS (
        SELECT 1 FROM orders_order o
        JOIN products_product p ON p.id = o.product_id
        WHERE o.id = emails_orderemail.order_id AND p.send_order_emails)
"""


def order_email_open(
    *, order_id: int, sends: bool, now: datetime | None = None
) -> None:
    """The order's email is owed from now on (call inside the transaction that
    fulfilled or confirmed the order): `not_sent`, or `disabled` for a product
    with order emails off. One INSERT; an email already opened stays as it is."""
    status = EmailStatus.NOT_SENT if sends else EmailStatus.DISABLED
    row = OrderEmail(order_id=order_id, status=status, owed_since=now or timezone.now())
    OrderEmail.objects.bulk_create([row], ignore_conflicts=True)


def order_email_claim(*, order_id: int, now: datetime) -> bool:
    """Claim the order's email for this worker: True if this call may send it."""
    params = {
        "pk": order_id,
        "now": connection.ops.adapt_datetimefield_value(now),
        "stale_before": connection.ops.adapt_datetimefield_value(
            order_email_claim_stale_before(now)
        ),
        "sending": EmailStatus.SENDING.value,
        "not_sent": EmailStatus.NOT_SENT.value,
    }
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM, params)
        return cursor.rowcount == 1


def order_email_withhold(*, order_id: int, claimed_at: datetime) -> None:
    """Release this worker's claim without sending: the order was cancelled,
    refunded in full or charged back meanwhile. The email is owed no more."""
    OrderEmail.objects.filter(order_id=order_id, claimed_at=claimed_at).update(
        status=EmailStatus.WITHHELD, claimed_at=None
    )


def order_email_send_claimed(
    *, order: Order, licenses: list[str], claimed_at: datetime
) -> None:
    """Send the email this worker claimed at `claimed_at`, and record the send.
    If sending raises, the claim is released (the email is owed again) and the
    error propagates."""
    try:
        message = _send(order, licenses)
    except Exception:
        OrderEmail.objects.filter(order_id=order.pk, claimed_at=claimed_at).update(
            status=EmailStatus.NOT_SENT, claimed_at=None
        )
        raise
    _mark_sent(order.pk, message)


def order_email_send_again(
    *, order: Order, licenses: list[str], to: str | None = None
) -> None:
    """Staff or seller: send the order email again now, e.g. after a stuck
    `sending` or to a corrected address. A deliberate human action, so it sends
    whatever the status; errors propagate to the caller, and the status stays
    what it was."""
    order_email_open(order_id=order.pk, sends=True)
    emails = OrderEmail.objects.filter(order_id=order.pk)
    previous = emails.values_list("status", flat=True).get()
    emails.update(status=EmailStatus.SENDING, claimed_at=timezone.now())
    try:
        message = _send(order, licenses, to=to)
    except Exception:
        emails.update(status=previous)
        raise
    _mark_sent(order.pk, message)


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
        OrderEmail.objects.filter(order_id=order_id).update(
            status=EmailStatus.SENT, sent_at=timezone.now(), **fields
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
