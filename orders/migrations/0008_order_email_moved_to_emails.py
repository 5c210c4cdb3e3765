"""The order email's state and log now live in the emails app (emails 0002
copied them there): drop the columns, their owed-email index and the old log."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0007_drop_unused_like_indexes"),
        ("emails", "0002_copy_from_orders"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="order", name="order_email_owed_idx"),
        *(
            migrations.RemoveField(model_name="order", name=name)
            for name in (
                "delay_notice_sent_at",
                "email_claimed_at",
                "email_delivery",
                "email_delivery_at",
                "email_delivery_detail",
                "email_message_id",
                "email_sent_at",
                "email_sent_to",
                "email_status",
            )
        ),
        migrations.DeleteModel(name="EmailEvent"),
    ]
