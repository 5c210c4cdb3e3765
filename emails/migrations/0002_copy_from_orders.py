"""Copy the order email's state out of `orders_order` (and its log out of
`orders_emailevent`) into this app's tables; orders 0008 then drops the old
columns. Plain SQL that SQLite and PostgreSQL both run, one statement per table
whatever the number of orders.

An order gets an `OrderEmail` row when its email was owed: fulfilled (or
delivered by the seller) at some point, or its email already left the
`not_sent` state. A pending or failed order has no row, as it would have had
if it was placed after this migration.
"""

from django.db import migrations

EMAIL_COLUMNS = (
    ("status", "email_status"),
    ("claimed_at", "email_claimed_at"),
    ("sent_at", "email_sent_at"),
    ("message_id", "email_message_id"),
    ("sent_to", "email_sent_to"),
    ("delivery", "email_delivery"),
    ("delivery_at", "email_delivery_at"),
    ("delivery_detail", "email_delivery_detail"),
)
EVENT_COLUMNS = (
    "order_id, esp_name, event_id, message_id, event_type, recipient, "
    "timestamp, received_at, description, mta_response"
)

FORWARD = [
    "INSERT INTO emails_orderemail (order_id, owed_since, "
    + ", ".join(new for new, _ in EMAIL_COLUMNS)
    + ") SELECT id, COALESCE(fulfilled_at, completed_at), "
    + ", ".join(old for _, old in EMAIL_COLUMNS)
    + " FROM orders_order WHERE fulfillment_status IN ('fulfilled', 'manual')"
    " OR fulfilled_at IS NOT NULL OR email_status <> 'not_sent'",
    "INSERT INTO emails_delaynotice (order_id, sent_at)"
    " SELECT id, delay_notice_sent_at FROM orders_order"
    " WHERE delay_notice_sent_at IS NOT NULL",
    f"INSERT INTO emails_emailevent ({EVENT_COLUMNS})"
    f" SELECT {EVENT_COLUMNS} FROM orders_emailevent ORDER BY id",
]

# Back into the columns orders 0008's reversal has just added again.
BACKWARD = [
    "UPDATE orders_order SET "
    + ", ".join(
        f"{old} = (SELECT e.{new} FROM emails_orderemail e"
        " WHERE e.order_id = orders_order.id)"
        for new, old in EMAIL_COLUMNS
    )
    + " WHERE EXISTS (SELECT 1 FROM emails_orderemail e"
    " WHERE e.order_id = orders_order.id)",
    "UPDATE orders_order SET delay_notice_sent_at = (SELECT n.sent_at"
    " FROM emails_delaynotice n WHERE n.order_id = orders_order.id)"
    " WHERE EXISTS (SELECT 1 FROM emails_delaynotice n"
    " WHERE n.order_id = orders_order.id)",
    f"INSERT INTO orders_emailevent ({EVENT_COLUMNS})"
    f" SELECT {EVENT_COLUMNS} FROM emails_emailevent ORDER BY id",
    "DELETE FROM emails_emailevent",
    "DELETE FROM emails_delaynotice",
    "DELETE FROM emails_orderemail",
]


class Migration(migrations.Migration):
    dependencies = [
        ("emails", "0001_initial"),
        ("orders", "0007_drop_unused_like_indexes"),
    ]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
