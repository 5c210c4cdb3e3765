"""What a seller or staff member does by hand to fix a delivery or an order.

Every change here is a compare-and-set on the row's status, so a human action
cannot race a worker that is mid-attempt: a delivery in flight belongs to its
worker until the attempt is recorded, and an action that finds the state
changed under it does nothing and says so (returns False).
"""

from __future__ import annotations

import logging

from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from orders.aftersale import order_is_closed
from orders.models import FulfillmentStatus, Order

from ..models import Delivery, DeliveryStatus
from .emails import order_email_resend
from .orders import order_fulfillment_refresh, order_lock_takes_deliveries

logger = logging.getLogger(__name__)

# A delivery nobody is working on and that has not succeeded can be stopped.
CANCELLABLE_STATUSES = (
    DeliveryStatus.PENDING,
    DeliveryStatus.RETRYING,
    DeliveryStatus.FAILED,
)
# A cancelled delivery may still be fulfilled by hand: the seller changed their mind.
HAND_FULFILLABLE_STATUSES = (*CANCELLABLE_STATUSES, DeliveryStatus.CANCELLED)
# Where "Retry now" is offered (`delivery_retry_now` has the final word). A
# pending delivery is about to be attempted anyway.
RETRY_OFFERED_STATUSES = (
    DeliveryStatus.RETRYING,
    DeliveryStatus.FAILED,
    DeliveryStatus.CANCELLED,
)
# Orders whose email has something to say: their licenses, or for a manual
# product the confirmation that the seller delivers.
EMAIL_READY_STATUSES = (FulfillmentStatus.FULFILLED, FulfillmentStatus.MANUAL)


CLOSED_ORDER_EMAIL_MESSAGE = (
    "This order is cancelled, refunded or charged back: its license email is "
    "not sent any more."
)


class ActionError(Exception):
    """An action that could not be done; its message is meant for the person."""


def delivery_actions_allowed(*, delivery: Delivery) -> frozenset[str]:
    """The hand actions that apply to the delivery now: "retry", "cancel", "fulfill".

    Test deliveries have none: the Webhook Editor sends a new one instead; nor
    have the deliveries of a cancelled, refunded or charged-back order.
    """
    if delivery.is_test or order_is_closed(delivery.real_order):
        return frozenset()
    allowed = set()
    if delivery.status in RETRY_OFFERED_STATUSES:
        allowed.add("retry")
    if delivery.status in CANCELLABLE_STATUSES:
        allowed.add("cancel")
    if delivery.status in HAND_FULFILLABLE_STATUSES:
        allowed.add("fulfill")
    return frozenset(allowed)


@transaction.atomic
def delivery_cancel(*, delivery: Delivery, by) -> bool:
    """Stop a waiting or failed delivery for good; its order shows as not fulfilled.

    Refused (False) for a delivery in flight (its worker owns it until the attempt
    is recorded), one that succeeded (the license is issued) and test deliveries.
    A worker's late success still wins over a cancel only if it settled first.
    """
    order_lock_takes_deliveries(order_id=delivery.order_id)
    cancelled = Delivery.objects.filter(
        pk=delivery.pk, status__in=CANCELLABLE_STATUSES, is_test=False
    ).update(
        status=DeliveryStatus.CANCELLED,
        handled_by=by,
        next_attempt_at=None,
        lease_expires_at=None,
        updated_at=timezone.now(),
    )
    if not cancelled:
        return False
    if delivery.order_id:
        order_fulfillment_refresh(order_id=delivery.order_id)
    return True


def _typed_licenses(delivery: Delivery, text: str, one_per_line: bool) -> list[str]:
    """The licenses of a text typed one per line: exactly the quantity of them
    (stored as `Delivery.licenses`). Without `one_per_line` the text is one."""
    if not one_per_line:
        return []
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) != delivery.quantity:
        raise ValueError(
            f"You typed {len(lines)} line{'s' if len(lines) != 1 else ''} for a "
            f"quantity of {delivery.quantity}: type one license per line."
        )
    return lines if len(lines) > 1 else []


@transaction.atomic
def delivery_fulfill_manually(
    *, delivery: Delivery, license_text: str, by, one_per_line: bool = False
) -> bool:
    """The seller types the license the webhook could not fetch; the delivery succeeds.

    The text (Markdown allowed) is what the customer's email and order page show,
    exactly as a seller server's answer would be. The update only applies while
    the delivery is not in flight and has not succeeded, so it cannot race a
    worker mid-attempt (and a worker's later success cannot overwrite it: a
    succeeded delivery is never settled again). Completing the order's last
    delivery sends the customer's email, once, after commit.

    With `one_per_line` each non-blank line is one license, and there must be
    as many as the delivery's quantity (a list answer, typed by hand).

    Raises ValueError for empty text or a wrong count of lines; returns False if
    the state does not allow it, or the order is cancelled, refunded or charged
    back.
    """
    text = license_text.strip()
    if not text:
        raise ValueError("The license text is empty.")
    licenses = _typed_licenses(delivery, text, one_per_line)
    if not order_lock_takes_deliveries(order_id=delivery.order_id):
        return False
    now = timezone.now()
    fulfilled = Delivery.objects.filter(
        pk=delivery.pk, status__in=HAND_FULFILLABLE_STATUSES, is_test=False
    ).update(
        status=DeliveryStatus.SUCCEEDED,
        response_text=text,
        licenses=licenses,
        succeeded_at=now,
        last_error="",
        handled_by=by,
        next_attempt_at=None,
        lease_expires_at=None,
        updated_at=now,
    )
    if not fulfilled:
        return False
    if delivery.order_id:
        order_fulfillment_refresh(order_id=delivery.order_id)
    return True


def order_customer_email_correct(*, order: Order, email: str) -> None:
    """Point the order at a corrected customer address: every later email (the
    license email, a resend, a delay notice) goes there. The checkout keeps the
    address as the customer typed it, as the record of what they entered."""
    validate_email(email)
    Order.objects.filter(pk=order.pk).update(customer_email=email)
    order.customer_email = email


def order_email_resend_corrected(*, order: Order, email: str | None = None) -> bool:
    """Seller or staff: send the order email again now, maybe to a corrected address.

    A corrected address is saved first, so later emails go there too. An order
    not fulfilled yet has no email to send: its address is still corrected (the
    license email will go there once it is fulfilled) and False is returned;
    without an address that is an ActionError. A failing send is an ActionError
    with a readable reason (the corrected address stays saved). A cancelled,
    refunded or charged-back order has no email to send (ActionError).
    """
    if order_is_closed(order):
        raise ActionError(CLOSED_ORDER_EMAIL_MESSAGE)
    ready = order.fulfillment_status in EMAIL_READY_STATUSES
    if not ready and not email:
        raise ActionError("The order is not fulfilled yet: there is no email to send.")
    if email:
        order_customer_email_correct(order=order, email=email)
    if not ready:
        return False
    try:
        order_email_resend(order=order, to=order.customer_email)
    except Exception as exc:
        logger.exception("Resending the email of order %s failed", order.pk)
        saved = "The address was corrected, but sending" if email else "Sending"
        raise ActionError(
            f"{saved} the email failed ({type(exc).__name__}); try again later."
        ) from exc
    return True
