"""The seller's own data carried through checkout (issue 14): `passthrough` on
the checkout the buyer opened and on the order it became.

Empty for every existing row. On PostgreSQL 11+ adding a column with a constant
default rewrites no table, so this is quick on a large orders table too.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0008_order_email_moved_to_emails"),
    ]

    operations = [
        migrations.AddField(
            model_name="checkout",
            name="passthrough",
            field=models.CharField(blank=True, default="", max_length=1000),
        ),
        migrations.AddField(
            model_name="order",
            name="passthrough",
            field=models.CharField(blank=True, default="", max_length=1000),
        ),
    ]
