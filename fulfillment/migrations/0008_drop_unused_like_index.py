"""Drop the `varchar_pattern_ops` copy of the delivery id's unique index on
PostgreSQL: see orders/migrations/0007_drop_unused_like_indexes.py."""

from django.db import migrations

INDEX = "fulfillment_delivery_delivery_id_0e267c9c_like"


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f'DROP INDEX IF EXISTS "{INDEX}"')


def restore(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{INDEX}" ON "fulfillment_delivery" '
            '("delivery_id" varchar_pattern_ops)'
        )


class Migration(migrations.Migration):
    dependencies = [("fulfillment", "0007_attempt_failed_started_idx")]

    operations = [migrations.RunPython(drop, restore)]
