"""The customer's emails about an order: the license email, the delay notice,
and what the email provider reported about them.

Each has a row of its own, created in one place (`services`): an order's
`OrderEmail` in the transaction that fulfilled it (or confirmed it, for a
product the seller delivers), its `DelayNotice` as the claim of that notice,
a `RefundNotice` per refund as the claim of that one.
An order with neither has not been sent anything yet.
"""

from __future__ import annotations

from django.db import models


class EmailStatus(models.TextChoices):
    NOT_SENT = "not_sent", "Not sent yet"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    DISABLED = "disabled", "Order emails off"
    # The order was cancelled, refunded in full or charged back before its
    # email went out (a request that was on the wire when the refund came).
    WITHHELD = "withheld", "Not sent: order cancelled or refunded"


# The statuses of an email somebody still has to send (see selectors).
OWED_STATUSES = [EmailStatus.NOT_SENT.value, EmailStatus.SENDING.value]


class EmailDelivery(models.TextChoices):
    """What the ESP reported about the order email last sent (see tracking)."""

    # Nothing sent yet, or sent through a backend that reports nothing (SMTP, files).
    UNKNOWN = "unknown", "No delivery report"
    AWAITING = "awaiting", "Sent, awaiting the provider's report"
    DELIVERED = "delivered", "Delivered"
    # Bounced, or rejected by the ESP (e.g. a suppressed address): undeliverable.
    BOUNCED = "bounced", "Bounced"
    COMPLAINED = "complained", "Marked as spam"


class OrderEmail(models.Model):
    """The license email of one order (the confirmation, for a manual product).

    Claim, send, record: `status` goes not_sent → sending (a compare-and-set that
    stamps `claimed_at`, so only one worker sends) → sent. The row's key is the
    order's, so every lookup by order is one primary-key read, and writing the
    email never touches the order's row.
    """

    order = models.OneToOneField(
        "orders.Order",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="email",
    )
    status = models.CharField(
        max_length=10, choices=EmailStatus.choices, default=EmailStatus.NOT_SENT
    )
    # When the email became owed: the order's fulfillment (or confirmation).
    owed_since = models.DateTimeField()
    # When a worker claimed it (status `sending`); a claim older than
    # FULFILLMENT["EMAIL_CLAIM_TIMEOUT_SECONDS"] belongs to a dead worker.
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # The message last sent: the ESP's id for it (Anymail backends report one;
    # SMTP and file backends do not, so it stays empty) and the address it went
    # to. Tracking events about any other message never change `delivery`.
    message_id = models.CharField(max_length=255, blank=True)
    sent_to = models.EmailField(blank=True)
    # What the ESP reported about that message, when (the event's own time) and
    # why (the receiving server's answer for a bounce).
    delivery = models.CharField(
        max_length=12, choices=EmailDelivery.choices, default=EmailDelivery.UNKNOWN
    )
    delivery_at = models.DateTimeField(null=True, blank=True)
    delivery_detail = models.CharField(max_length=500, blank=True)

    class Meta:
        verbose_name = "order email"
        indexes = [
            # Tracking events find their email by the ESP's id. (A Meta index, not
            # db_index: PostgreSQL gets no pattern-ops copy that nothing reads.)
            models.Index(fields=["message_id"], name="orderemail_message_id_idx"),
            # Emails still owed (the email dispatcher, /metrics): only the few
            # rows in flight, never the sent ones.
            models.Index(
                fields=["owed_since"],
                condition=models.Q(status__in=OWED_STATUSES),
                name="orderemail_owed_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"Email of order {self.order_id}: {self.get_status_display()}"


class DelayNotice(models.Model):
    """The short "your license is on its way" email, sent at most once to a
    customer whose order is still unfulfilled some minutes after purchase. The
    row is the claim: inserting it is what lets one worker send the notice."""

    order = models.OneToOneField(
        "orders.Order",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="delay_notice",
    )
    sent_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"Delay notice of order {self.order_id}"


class RefundNotice(models.Model):
    """The customer's short "we refunded you" email for one refund: at most one
    per refund event, however often the event is replayed or its task retried.
    The row is the claim, as for the delay notice."""

    event = models.OneToOneField(
        "orders.OrderEvent",
        on_delete=models.PROTECT,
        primary_key=True,
        related_name="refund_notice",
    )
    sent_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"Refund notice of event {self.event_id}"


class EmailEventType(models.TextChoices):
    """Anymail's normalized event types, and our own record of each send."""

    SUBMITTED = "submitted", "Handed to the email provider"
    QUEUED = "queued", "Queued"
    SENT = "sent", "Sent by the provider"
    REJECTED = "rejected", "Rejected by the provider"
    FAILED = "failed", "Failed"
    BOUNCED = "bounced", "Bounced"
    DEFERRED = "deferred", "Deferred"
    DELIVERED = "delivered", "Delivered"
    AUTORESPONDED = "autoresponded", "Autoresponded"
    OPENED = "opened", "Opened"
    CLICKED = "clicked", "Clicked"
    COMPLAINED = "complained", "Marked as spam"
    UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
    SUBSCRIBED = "subscribed", "Subscribed"
    UNKNOWN = "unknown", "Other"


class EmailEvent(models.Model):
    """One thing the ESP reported about an order email, or one send of ours.

    Every tracking event for a known order is kept once (a repeated webhook is
    dropped), including reports about an earlier send and types that change
    nothing (deferred, opened): the log says what happened, `OrderEmail.delivery`
    is the verdict.
    """

    order = models.ForeignKey(
        "orders.Order", on_delete=models.CASCADE, related_name="email_events"
    )
    # Anymail's name of the ESP ("Postmark"); empty for our own `submitted` rows.
    esp_name = models.CharField(max_length=40, blank=True)
    # The ESP's id of the event, when it gives one: a retried webhook repeats it.
    event_id = models.CharField(max_length=255, blank=True)
    message_id = models.CharField(max_length=255, blank=True)
    event_type = models.CharField(max_length=20, choices=EmailEventType.choices)
    recipient = models.CharField(max_length=254, blank=True)
    # The ESP's time of the event (our receipt time if it gives none).
    timestamp = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)
    description = models.CharField(max_length=500, blank=True)
    mta_response = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-timestamp", "-pk"]
        indexes = [
            # An event about an earlier send finds its order by the message's id.
            models.Index(fields=["message_id"], name="emailevent_message_id_idx"),
        ]
        constraints = [
            # The dedup rule, kept by the database too.
            models.UniqueConstraint(
                fields=["esp_name", "event_id"],
                condition=~models.Q(event_id=""),
                name="emails_event_esp_event_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.recipient} ({self.message_id or 'no id'})"
