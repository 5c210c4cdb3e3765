"""Drop the `varchar_pattern_ops` copies PostgreSQL got of unique and indexed
CharFields on the tables every order writes (docs/decisions.md, "Indexes on the
hot tables").

Django adds a `<name>_like` index beside every indexed or unique CharField on
PostgreSQL, for `LIKE 'prefix%'` lookups. Nothing queries these columns that way
(the admin's searches are case-insensitive: UPPER(...) = / LIKE, which no plain
index serves), and every insert, and every update that is not HOT, writes each
of them. An AlterField on one of these fields makes Django create its `_like`
index again: drop it again in that migration.
"""

from django.db import migrations

# (index, table, column): the names Django gave them (stable: a hash of the
# table and column names).
LIKE_INDEXES = [
    ("orders_order_customer_email_1db7033c_like", "orders_order", "customer_email"),
    ("orders_order_email_message_id_d3ddfc68_like", "orders_order", "email_message_id"),
    ("orders_order_token_6d467ae5_like", "orders_order", "token"),
    ("orders_order_transaction_id_1e4739a8_like", "orders_order", "transaction_id"),
    ("orders_checkout_hash_e389a9ab_like", "orders_checkout", "hash"),
    ("orders_checkout_nonce_a37c66e8_like", "orders_checkout", "nonce"),
    ("orders_emailevent_message_id_316f1528_like", "orders_emailevent", "message_id"),
]


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for index, _, _ in LIKE_INDEXES:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{index}"')


def restore(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for index, table, column in LIKE_INDEXES:
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{index}" ON "{table}" '
            f'("{column}" varchar_pattern_ops)'
        )


class Migration(migrations.Migration):
    dependencies = [("orders", "0006_order_email_owed_idx")]

    operations = [migrations.RunPython(drop, restore)]
