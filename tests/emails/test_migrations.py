"""emails 0002 and orders 0008 move the order email's state out of the order
without losing any of it, and back again when migrated backwards."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("orders", "0007_drop_unused_like_indexes"), ("emails", None)]
AFTER = [
    ("orders", "0008_order_email_moved_to_emails"),
    ("emails", "0002_copy_from_orders"),
]
T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
T1 = datetime(2026, 11, 1, 9, 0, 2, tzinfo=UTC)


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    # (An app migrated to zero has no node to take a state from.)
    nodes = [target for target in targets if target[1] is not None]
    return executor.loader.project_state(nodes).apps


def _order(apps, product, transaction_id: str, **fields):
    Checkout = apps.get_model("orders", "Checkout")
    Order = apps.get_model("orders", "Order")
    checkout = Checkout.objects.create(
        product=product, quantity=1, customer_email="ada@example.com"
    )
    values = {
        "checkout": checkout,
        "transaction_id": transaction_id,
        "product": product,
        "quantity": 1,
        "customer_email": "ada@example.com",
        "unit_price": 10,
        "total": 10,
        "currency": "EUR",
        "source": "api",
        "completed_at": T0,
    }
    return Order.objects.create(**{**values, **fields})


@pytest.fixture
def migrated_back():
    """The schema before the move; the latest again after the test."""
    apps = _migrate(BEFORE)
    yield apps
    _migrate(_migrate_leaves())


def _migrate_leaves():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def test_the_email_state_moves_to_the_emails_app_and_back(migrated_back, alice):
    apps = migrated_back
    Product = apps.get_model("products", "Product")
    product = Product.objects.create(
        seller_id=alice.pk, name="Tool", slug="tool", price=10, currency="EUR"
    )
    sent = _order(
        apps, product, "sent",
        fulfillment_status="fulfilled", fulfilled_at=T1,
        email_status="sent", email_sent_at=T1, email_message_id="esp-1",
        email_sent_to="ada@example.com", email_delivery="bounced",
        email_delivery_at=T1, email_delivery_detail="550 no such user",
    )  # fmt: skip
    waiting = _order(apps, product, "waiting", delay_notice_sent_at=T1)
    apps.get_model("orders", "EmailEvent").objects.create(
        order=sent, event_type="bounced", message_id="esp-1", timestamp=T1
    )

    apps = _migrate(AFTER)

    OrderEmail = apps.get_model("emails", "OrderEmail")
    email = OrderEmail.objects.get(order_id=sent.pk)
    assert (email.status, email.sent_at, email.message_id, email.owed_since) == (
        "sent",
        T1,
        "esp-1",
        T1,
    )
    assert (email.delivery, email.delivery_detail) == ("bounced", "550 no such user")
    # A pending order owes no email yet: no row, as for an order placed today.
    assert not OrderEmail.objects.filter(order_id=waiting.pk).exists()
    notice = apps.get_model("emails", "DelayNotice").objects.get(order_id=waiting.pk)
    assert notice.sent_at == T1
    [event] = apps.get_model("emails", "EmailEvent").objects.all()
    assert (event.order_id, event.event_type, event.message_id) == (
        sent.pk,
        "bounced",
        "esp-1",
    )

    apps = _migrate(BEFORE)

    Order = apps.get_model("orders", "Order")
    back = Order.objects.get(pk=sent.pk)
    assert (back.email_status, back.email_message_id, back.email_delivery) == (
        "sent",
        "esp-1",
        "bounced",
    )
    assert Order.objects.get(pk=waiting.pk).delay_notice_sent_at == T1
    assert apps.get_model("orders", "EmailEvent").objects.get().order_id == sent.pk
