from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from fulfillment.services.config import (
    CustomFieldRow,
    webhook_config_save,
    webhook_config_secret_regenerate,
)
from tests.factories import CustomFieldFactory


def _save(config, rows=None, **changes) -> bool:
    """Save what the editor shows for `config` with `changes` and Custom Fields
    `rows` (kind, name, value), or the stored ones."""
    values = {
        "url": config.url,
        "method": config.method,
        "body_format": config.body_format,
        "instructions": config.instructions,
        "separate_multibuy": config.separate_multibuy,
        "response_format": config.response_format,
        **changes,
    }
    if rows is None:
        rows = [(f.kind, f.name, f.value) for f in config.custom_fields.all()]
    fields = [CustomFieldRow(*row) for row in rows]
    return webhook_config_save(config=config, **values, custom_fields=fields)


@pytest.fixture
def config(product):
    return product.webhook_config


def test_save_without_changes_keeps_the_version(config):
    CustomFieldFactory(config=config, name="license_type", value="pro")
    changed = _save(config)

    config.refresh_from_db()
    assert changed is False
    assert config.version == 1


def test_save_with_a_changed_url_bumps_the_version_by_one(config):
    assert _save(config, url="https://other.example.com/hook") is True

    config.refresh_from_db()
    assert config.url == "https://other.example.com/hook"
    assert config.version == 2


def test_save_with_a_changed_response_format_bumps_the_version(config):
    assert _save(config, response_format="lines") is True

    config.refresh_from_db()
    assert config.response_format == "lines"
    assert config.version == 2


def test_save_with_a_new_custom_field_bumps_the_version(config):
    _save(config, rows=[("customer_email", "email", "")])

    config.refresh_from_db()
    assert config.version == 2
    assert list(config.custom_fields.values_list("kind", "name")) == [
        ("customer_email", "email")
    ]


def test_save_stores_custom_fields_in_page_order(config):
    rows = [
        ("static", "plan", "pro"),
        ("transaction_id", "txn", ""),
        ("checkout_hash", "hash", ""),
    ]
    _save(config, rows=rows)

    assert list(config.custom_fields.values_list("name", "position")) == [
        ("plan", 0),
        ("txn", 1),
        ("hash", 2),
    ]


def test_save_can_swap_two_custom_field_names(config):
    CustomFieldFactory(config=config, name="a", value="1", position=0)
    CustomFieldFactory(config=config, name="b", value="2", position=1)
    _save(config, rows=[("static", "b", "1"), ("static", "a", "2")])

    assert list(config.custom_fields.values_list("name", "value")) == [
        ("b", "1"),
        ("a", "2"),
    ]


def test_secret_regenerate_keeps_the_old_secret_for_24_hours(config):
    old = config.signing_secret

    webhook_config_secret_regenerate(config=config)

    config.refresh_from_db()
    assert config.signing_secret != old
    assert config.signing_secret.startswith("whsec_")
    assert config.previous_signing_secret == old
    expected = timezone.now() + timedelta(hours=24)
    assert abs(config.previous_secret_expires_at - expected) < timedelta(minutes=1)
    assert config.active_secrets() == [config.signing_secret, old]
    later = timezone.now() + timedelta(hours=24, minutes=1)
    assert config.active_secrets(now=later) == [config.signing_secret]


def test_secret_regenerate_bumps_the_version(config):
    webhook_config_secret_regenerate(config=config)

    config.refresh_from_db()
    assert config.version == 2
