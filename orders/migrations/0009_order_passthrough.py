"""PLACEHOLDER for the passthrough branch's migration of the same name, so
that 0010 can depend on it; dropped at merge."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("orders", "0008_order_email_moved_to_emails")]

    operations: list = []
