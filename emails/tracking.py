"""Delivery reports of the customer's order email, from the ESP through Anymail.

Anymail turns each ESP's tracking webhook into one `tracking` signal, whatever the
ESP; `emails/receivers.py` hands every event to `email_event_record`. Two services
keep the delivery status the seller sees on the order's email:

- `sent_fields` and `order_email_sent_record`, after each successful send,
  remember the ESP's id for the message and the address it went to, and start
  the status again at "awaiting the provider's report".
- `email_event_record` logs an event on its order and may change the status.

The rules, because ESPs retry webhooks and deliver them in no particular order:

- The order is found by the ESP's message id (of its current or any earlier
  send), else by the transaction id in the message's metadata. An event about
  no order of ours (another email of the site, another app on the ESP account) is
  logged at info level and dropped: an error would only make the ESP retry it.
- A repeat is dropped: the same ESP event id, or, for ESPs that give events no
  id, the same message, type, recipient and time.
- Only events about the current send change the status. A late bounce of the
  message that went to a mistyped address must not undo the seller's correction.
- delivered, bounced, rejected (undeliverable too) and complained decide the
  status; deferred, opened and every other type are only logged.
- The later event wins, by the ESP's timestamp rather than by arrival, so a
  "delivered" that arrives after a newer bounce does not hide it. At the same
  time the worse news wins, and a complaint stands: a message marked as spam
  was delivered, whatever comes after.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from email.utils import parseaddr

from anymail.signals import AnymailTrackingEvent, EventType
from django.db import transaction
from django.utils import timezone

from .models import EmailDelivery, EmailEvent, EmailEventType, OrderEmail

logger = logging.getLogger(__name__)

# The delivery status each event type stands for; other types are only logged.
DELIVERY_BY_EVENT = {
    EventType.DELIVERED: EmailDelivery.DELIVERED,
    EventType.BOUNCED: EmailDelivery.BOUNCED,
    EventType.REJECTED: EmailDelivery.BOUNCED,
    EventType.COMPLAINED: EmailDelivery.COMPLAINED,
}
# Breaks ties between events with the same timestamp: the seller had better be
# asked to act once too often than not at all.
SEVERITY: dict[str, int] = {
    EmailDelivery.DELIVERED: 1,
    EmailDelivery.BOUNCED: 2,
    EmailDelivery.COMPLAINED: 3,
}
DELIVERY_FIELDS = ["delivery", "delivery_at", "delivery_detail"]


def _text(value, limit: int = 500) -> str:
    """A value from the ESP as text we can store: no NUL (PostgreSQL refuses it)."""
    if value is None:
        return ""
    return str(value).replace("\x00", "")[:limit]


def esp_message_id(message) -> str:
    """The ESP's id for a sent message; "" from a backend that gives none (SMTP)."""
    status = getattr(message, "anymail_status", None)
    message_id = getattr(status, "message_id", None)
    if isinstance(message_id, set):
        # One id per recipient: not a message we built (the order email has one).
        return ""
    return _text(message_id, 255)


# --- Sending --------------------------------------------------------------------


def sent_fields(message) -> dict:
    """The email's tracking fields after a successful send of `message`: the ESP's
    id for it and the address it went to, and the status starting again at
    "awaiting the provider's report" ("no delivery report" for a backend that
    gives no id). The caller stores them in the same UPDATE that marks the email
    sent, so the send and its id are one write."""
    message_id = esp_message_id(message)
    return {
        "message_id": message_id,
        "sent_to": _text(parseaddr(message.to[0])[1] if message.to else "", 254),
        "delivery": EmailDelivery.AWAITING if message_id else EmailDelivery.UNKNOWN,
        "delivery_at": None,
        "delivery_detail": "",
    }


def order_email_sent_record(*, order_id: int, fields: dict) -> None:
    """After the send is stored with its `sent_fields`: log it, and apply reports
    of this message that arrived before the send was stored (a fast ESP)."""
    message_id = fields["message_id"]
    EmailEvent.objects.create(
        order_id=order_id,
        event_type=EmailEventType.SUBMITTED,
        message_id=message_id,
        recipient=fields["sent_to"],
        timestamp=timezone.now(),
    )
    # A report that locked the email before our UPDATE was logged before it; one
    # that came after found its message current and applied itself. So only the
    # first kind needs applying, and usually there is none.
    early = EmailEvent.objects.filter(order_id=order_id, message_id=message_id)
    if (
        not message_id
        or not early.exclude(event_type=EmailEventType.SUBMITTED).exists()
    ):
        return
    with transaction.atomic():
        # Under the email's lock, as `email_event_record` is (applying a report
        # twice changes nothing, see `_supersedes`).
        email = OrderEmail.objects.select_for_update().get(order_id=order_id)
        if email.message_id == message_id and _apply_early_reports(email):
            email.save(update_fields=DELIVERY_FIELDS)


def _apply_early_reports(email: OrderEmail) -> bool:
    # Logged but not applied: the email's current message was another one then.
    early = EmailEvent.objects.filter(
        order_id=email.order_id, message_id=email.message_id
    ).exclude(event_type=EmailEventType.SUBMITTED)
    changed = False
    for event in sorted(early, key=lambda event: (event.timestamp, event.pk)):
        changed = _apply(email, event) or changed
    return changed


# --- Tracking events ------------------------------------------------------------


def email_event_record(
    *, event: AnymailTrackingEvent, esp_name: str
) -> EmailEvent | None:
    """Log an ESP's tracking event on its order; update the status if it decides it.

    Returns the logged event, or None for a repeat or an event about no order of
    ours. The rules are in the module docstring.
    """
    order_id = _order_id_for(event)
    if order_id is None:
        logger.info(
            "Ignored a %s %s event about message %r: no order email of ours",
            esp_name,
            event.event_type,
            event.message_id,
        )
        return None
    with transaction.atomic():
        # The email's lock makes its events one at a time, so a repeat delivered
        # in parallel sees the first copy.
        email = (
            OrderEmail.objects.select_for_update()
            .select_related("order")
            .get(order_id=order_id)
        )
        row = _event_row(order_id, event, esp_name)
        if _is_repeat(row):
            logger.info("Ignored a repeated %s %s event", esp_name, row.event_type)
            return None
        row.save()
        if _is_current_send(email, row) and _apply(email, row):
            email.save(update_fields=DELIVERY_FIELDS)
    return row


def _order_id_for(event: AnymailTrackingEvent) -> int | None:
    message_id = _text(event.message_id, 255)
    order_id = _order_id_by_message(message_id) if message_id else None
    if order_id is not None:
        return order_id
    # The message's metadata (set by `order_email_build`), which ESPs echo back.
    metadata = event.metadata if isinstance(event.metadata, dict) else {}
    transaction_id = _text(metadata.get("order"), 200)
    if not transaction_id:
        return None
    # Only an order whose email was sent has a row (and a lock) for the event.
    emails = OrderEmail.objects.filter(order__transaction_id=transaction_id)
    return emails.values_list("order_id", flat=True).first()


def _order_id_by_message(message_id: str) -> int | None:
    # The order's current email, else an earlier one: every send is logged.
    current = OrderEmail.objects.filter(message_id=message_id)
    order_id = current.values_list("order_id", flat=True).first()
    if order_id is not None:
        return order_id
    logged = EmailEvent.objects.filter(message_id=message_id)
    return logged.values_list("order_id", flat=True).first()


def _event_row(order_id: int, event: AnymailTrackingEvent, esp_name: str) -> EmailEvent:
    event_type = _text(event.event_type, 20)
    if event_type not in EmailEventType.values:
        event_type = EmailEventType.UNKNOWN
    return EmailEvent(
        order_id=order_id,
        esp_name=_text(esp_name, 40),
        event_id=_text(event.event_id, 255),
        message_id=_text(event.message_id, 255),
        event_type=event_type,
        recipient=_text(event.recipient, 254),
        timestamp=_aware(event.timestamp),
        description=_text(event.description),
        mta_response=_text(event.mta_response),
    )


def _aware(timestamp: datetime | None) -> datetime:
    # Anymail normalizes to aware datetimes; an ESP that sends none gets our time.
    if timestamp is None:
        return timezone.now()
    if timezone.is_naive(timestamp):
        return timestamp.replace(tzinfo=UTC)
    return timestamp


def _is_repeat(row: EmailEvent) -> bool:
    if row.event_id:
        same = EmailEvent.objects.filter(esp_name=row.esp_name, event_id=row.event_id)
    else:
        same = EmailEvent.objects.filter(
            order_id=row.order_id,
            esp_name=row.esp_name,
            message_id=row.message_id,
            event_type=row.event_type,
            recipient=row.recipient,
            timestamp=row.timestamp,
        )
    return same.exists()


def _is_current_send(email: OrderEmail, row: EmailEvent) -> bool:
    if email.message_id:
        return row.message_id == email.message_id
    # No id recorded (a backend that gives none, or an order sent before tracking
    # existed): the address is the only way left to tell sends apart.
    sent_to = email.sent_to or email.order.customer_email
    return not row.recipient or row.recipient.lower() == sent_to.lower()


def _apply(email: OrderEmail, row: EmailEvent) -> bool:
    """Set the email's status from the event if it supersedes the current one."""
    new = DELIVERY_BY_EVENT.get(row.event_type)
    if new is None or not _supersedes(email, new, row.timestamp):
        return False
    email.delivery = new
    email.delivery_at = row.timestamp
    email.delivery_detail = (
        "" if new == EmailDelivery.DELIVERED else row.mta_response or row.description
    )
    return True


def _supersedes(email: OrderEmail, new: str, at: datetime) -> bool:
    current = email.delivery
    if current not in SEVERITY or email.delivery_at is None:
        # Awaiting (or no report): any verdict is news.
        return True
    if current == EmailDelivery.COMPLAINED and new == EmailDelivery.DELIVERED:
        return False
    return (at, SEVERITY[new]) > (email.delivery_at, SEVERITY[current])
