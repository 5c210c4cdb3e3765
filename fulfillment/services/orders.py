"""An order's fulfillment status follows its deliveries."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from orders.aftersale import order_is_closed
from orders.models import FulfillmentStatus, Order

from ..models import Delivery, DeliveryStatus
from .emails import order_email_schedule


def _status_from(statuses: list[str]) -> str:
    if statuses and all(s == DeliveryStatus.SUCCEEDED for s in statuses):
        return FulfillmentStatus.FULFILLED
    if any(s in (DeliveryStatus.FAILED, DeliveryStatus.CANCELLED) for s in statuses):
        return FulfillmentStatus.FAILED
    return FulfillmentStatus.PENDING


# No savepoint when nested: it runs inside the settle and action transactions.
@transaction.atomic(savepoint=False)
def order_fulfillment_refresh(*, order_id: int, send_email_now: bool = False) -> Order:
    """Recompute the order's status from its deliveries (under a row lock, so two
    deliveries finishing at once cannot both miss the last one). The first time
    every delivery has succeeded, the customer's email is scheduled: sent by this
    thread after the commit with `send_email_now` (a fulfillment worker), else
    enqueued (a web request must not wait for the email provider)."""
    order = Order.objects.select_for_update().select_related("product").get(pk=order_id)
    if order.fulfillment_status == FulfillmentStatus.MANUAL:
        return order
    statuses = list(
        order.deliveries.filter(is_test=False).values_list("status", flat=True)
    )
    new_status = _status_from(statuses)
    if new_status == order.fulfillment_status:
        return order
    was_fulfilled = order.fulfilled_at is not None
    order.fulfillment_status = new_status
    if new_status == FulfillmentStatus.FULFILLED and not was_fulfilled:
        order.fulfilled_at = timezone.now()
    order.save(update_fields=["fulfillment_status", "fulfilled_at"])
    if new_status == FulfillmentStatus.FULFILLED and not was_fulfilled:
        order_email_schedule(
            order_id=order.pk,
            sends=order.product.send_order_emails,
            send_now=send_email_now,
        )
    return order


def order_delivery_settled(*, delivery: Delivery) -> None:
    """A delivery of the order just moved on (call inside that transaction).

    An order of one delivery (every order but a Separate Multibuy of several) follows
    that delivery: one conditional UPDATE, without reading the order. An order of
    several needs the row lock and a look at the others (`order_fulfillment_refresh`).
    """
    order_id = delivery.order_id
    if order_id is None:
        raise ValueError(f"Delivery {delivery.delivery_id} is a test: no order to move")
    if delivery.item_count > 1:
        order_fulfillment_refresh(order_id=order_id, send_email_now=True)
        return
    new_status = _status_from([delivery.status])
    if new_status == FulfillmentStatus.PENDING:
        return  # retrying: the order was pending while its delivery was claimed
    orders = Order.objects.filter(pk=order_id).exclude(
        fulfillment_status__in=[new_status, FulfillmentStatus.MANUAL]
    )
    if new_status == FulfillmentStatus.FAILED:
        orders.update(fulfillment_status=new_status)
        return
    fulfilled = orders.filter(fulfilled_at__isnull=True).update(
        fulfillment_status=new_status, fulfilled_at=timezone.now()
    )
    if fulfilled:
        order_email_schedule(
            order_id=order_id, sends=delivery.product.send_order_emails, send_now=True
        )


def order_lock_takes_deliveries(*, order_id: int | None) -> bool:
    """Lock the order for the current transaction and say whether it still
    takes deliveries (not cancelled, refunded in full or charged back).

    Hand actions on a delivery call this first: taking the order's lock before
    the delivery's, as a cancel of the whole order does, so the two never wait
    for each other. A test delivery has no order and always takes them."""
    if order_id is None:
        return True
    order = Order.objects.select_for_update().filter(pk=order_id).first()
    return order is not None and not order_is_closed(order)
