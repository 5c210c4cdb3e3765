"""Encrypt the signing secrets stored in clear before 0003.

Reads and writes the raw column with SQL: the model field would try to decrypt
the plaintext on load. A value is plaintext when it has the `whsec_` prefix
(Fernet tokens never do), so running this again changes nothing. No value is
ever printed or logged.
"""

from django.db import migrations

from fulfillment.crypto import decrypt, encrypt, is_plaintext

COLUMNS = ("signing_secret", "previous_signing_secret")


def _rewrite(apps, schema_editor, convert):
    config_model = apps.get_model("fulfillment", "WebhookConfig")
    connection = schema_editor.connection
    quote = connection.ops.quote_name
    table = quote(config_model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, {', '.join(map(quote, COLUMNS))} FROM {table}")  # noqa: S608
        rows = cursor.fetchall()
        for pk, *values in rows:
            new_values = [convert(value or "") for value in values]
            if new_values == list(values):
                continue
            assignments = ", ".join(f"{quote(c)} = %s" for c in COLUMNS)
            cursor.execute(
                f"UPDATE {table} SET {assignments} WHERE id = %s",  # noqa: S608
                [*new_values, pk],
            )


def _encrypt(value):
    return encrypt(value) if is_plaintext(value) else value


def _decrypt(value):
    return decrypt(value) if value and not is_plaintext(value) else value


def encrypt_plaintext_secrets(apps, schema_editor):
    _rewrite(apps, schema_editor, _encrypt)


def decrypt_secrets(apps, schema_editor):
    # Going back to 0002 means going back to plaintext columns.
    _rewrite(apps, schema_editor, _decrypt)


class Migration(migrations.Migration):
    dependencies = [
        ("fulfillment", "0003_encrypt_signing_secrets"),
    ]

    operations = [
        migrations.RunPython(encrypt_plaintext_secrets, decrypt_secrets),
    ]
