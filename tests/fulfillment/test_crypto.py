from __future__ import annotations

import importlib

import pytest
from cryptography.fernet import Fernet
from django.apps import apps as django_apps
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from fulfillment import crypto
from fulfillment.models import WebhookConfig
from fulfillment.services.config import (
    webhook_config_secret_regenerate,
    webhook_config_secrets_reencrypt,
)

data_migration = importlib.import_module(
    "fulfillment.migrations.0004_encrypt_existing_signing_secrets"
)

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()


@pytest.fixture
def config(product):
    return product.webhook_config


def _raw(config) -> tuple[str, str]:
    """The columns exactly as a database dump would show them."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT signing_secret, previous_signing_secret "
            "FROM fulfillment_webhookconfig WHERE id = %s",
            [config.pk],
        )
        return cursor.fetchone()


def _store_raw(config, signing: str, previous: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE fulfillment_webhookconfig "
            "SET signing_secret = %s, previous_signing_secret = %s WHERE id = %s",
            [signing, previous, config.pk],
        )


class _SchemaEditor:
    """What a RunPython function uses of the schema editor."""

    connection = connection


def test_database_column_does_not_hold_the_plaintext_secret(config):
    stored, _ = _raw(config)

    assert config.signing_secret.startswith("whsec_")
    assert config.signing_secret not in stored
    assert not stored.startswith("whsec_")


def test_database_column_decrypts_back_to_the_secret(config):
    stored, _ = _raw(config)

    assert crypto.decrypt(stored) == config.signing_secret


def test_loaded_config_reads_the_secret_in_clear(config):
    assert WebhookConfig.objects.get(pk=config.pk).signing_secret == (
        config.signing_secret
    )


def test_previous_secret_is_encrypted_after_a_rotation(config):
    old = config.signing_secret

    webhook_config_secret_regenerate(config=config)

    signing, previous = _raw(config)
    assert old not in previous and not previous.startswith("whsec_")
    assert crypto.decrypt(previous) == old
    assert crypto.decrypt(signing) == config.signing_secret


def test_empty_previous_secret_stays_empty(config):
    assert _raw(config)[1] == ""
    assert WebhookConfig.objects.get(pk=config.pk).previous_signing_secret == ""


def test_old_key_still_decrypts_after_a_new_key_is_put_first(settings, config):
    settings.SECRET_ENCRYPTION_KEYS = [OLD_KEY]
    config.save()

    settings.SECRET_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]

    assert WebhookConfig.objects.get(pk=config.pk).signing_secret == (
        config.signing_secret
    )


def test_reencrypt_moves_secrets_to_the_first_key(settings, config):
    webhook_config_secret_regenerate(config=config)
    settings.SECRET_ENCRYPTION_KEYS = [OLD_KEY]
    config.save()
    settings.SECRET_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]

    assert webhook_config_secrets_reencrypt() == 1

    settings.SECRET_ENCRYPTION_KEYS = [NEW_KEY]
    reloaded = WebhookConfig.objects.get(pk=config.pk)
    assert reloaded.signing_secret == config.signing_secret
    assert reloaded.previous_signing_secret == config.previous_signing_secret


def test_missing_key_fails_loudly_without_revealing_the_secret(settings, config):
    settings.SECRET_ENCRYPTION_KEYS = [OLD_KEY]
    config.save()
    stored, _ = _raw(config)
    settings.SECRET_ENCRYPTION_KEYS = [NEW_KEY]

    with pytest.raises(crypto.SecretDecryptionError) as error:
        WebhookConfig.objects.get(pk=config.pk)

    assert "SECRET_ENCRYPTION_KEYS" in str(error.value)
    assert stored not in str(error.value)
    assert config.signing_secret not in str(error.value)


def test_malformed_key_is_named_by_position_not_value(settings):
    settings.SECRET_ENCRYPTION_KEYS = [NEW_KEY, "not-a-fernet-key"]

    with pytest.raises(ImproperlyConfigured, match="entry 2") as error:
        crypto.encrypt("whsec_x")

    assert "not-a-fernet-key" not in str(error.value)


def test_without_keys_the_key_is_derived_from_secret_key(settings):
    settings.SECRET_ENCRYPTION_KEYS = []
    token = crypto.encrypt("whsec_x")

    settings.SECRET_KEY = "another-secret-key"

    with pytest.raises(crypto.SecretDecryptionError):
        crypto.decrypt(token)


def test_each_save_writes_a_fresh_token(config):
    first, _ = _raw(config)

    config.save()

    assert _raw(config)[0] != first


def test_data_migration_encrypts_plaintext_secrets(config):
    old = "whsec_" + "A" * 44
    _store_raw(config, config.signing_secret, old)

    data_migration.encrypt_plaintext_secrets(django_apps, _SchemaEditor())

    signing, previous = _raw(config)
    assert not signing.startswith("whsec_") and not previous.startswith("whsec_")
    reloaded = WebhookConfig.objects.get(pk=config.pk)
    assert (reloaded.signing_secret, reloaded.previous_signing_secret) == (
        config.signing_secret,
        old,
    )


def test_data_migration_leaves_encrypted_and_empty_values_alone(config):
    before = _raw(config)

    data_migration.encrypt_plaintext_secrets(django_apps, _SchemaEditor())

    assert _raw(config) == before


def test_reverse_data_migration_restores_plaintext(config):
    data_migration.decrypt_secrets(django_apps, _SchemaEditor())

    assert _raw(config) == (config.signing_secret, "")
