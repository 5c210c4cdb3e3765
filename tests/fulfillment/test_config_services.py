from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from fulfillment.forms import CustomFieldFormSet, WebhookConfigForm
from fulfillment.services.config import (
    webhook_config_save,
    webhook_config_secret_regenerate,
)
from tests.factories import CustomFieldFactory


def _valid_forms(config, rows=None, **changes):
    """The editor's bound form and formset, as a browser would post them."""
    data = {
        "url": config.url,
        "method": config.method,
        "body_format": config.body_format,
        "instructions": config.instructions,
        **({"separate_multibuy": "on"} if config.separate_multibuy else {}),
        **changes,
    }
    if rows is None:
        rows = [(f.kind, f.name, f.value) for f in config.custom_fields.all()]
    existing = list(config.custom_fields.all())
    data.update(
        {
            "custom_fields-TOTAL_FORMS": str(len(rows)),
            "custom_fields-INITIAL_FORMS": str(len(existing)),
        }
    )
    for i, (kind, name, value) in enumerate(rows):
        data[f"custom_fields-{i}-kind"] = kind
        data[f"custom_fields-{i}-name"] = name
        data[f"custom_fields-{i}-value"] = value
        if i < len(existing):
            data[f"custom_fields-{i}-id"] = str(existing[i].pk)
    form = WebhookConfigForm(data, instance=config)
    formset = CustomFieldFormSet(
        data, instance=config, form_kwargs={"product": config.product}
    )
    assert form.is_valid(), form.errors
    assert formset.is_valid(), formset.errors
    return form, formset


@pytest.fixture
def config(product):
    return product.webhook_config


def test_save_without_changes_keeps_the_version(config):
    CustomFieldFactory(config=config, name="license_type", value="pro")
    form, formset = _valid_forms(config)

    changed = webhook_config_save(config=config, form=form, formset=formset)

    config.refresh_from_db()
    assert changed is False
    assert config.version == 1


def test_save_with_a_changed_url_bumps_the_version_by_one(config):
    form, formset = _valid_forms(config, url="https://other.example.com/hook")

    assert webhook_config_save(config=config, form=form, formset=formset) is True

    config.refresh_from_db()
    assert config.url == "https://other.example.com/hook"
    assert config.version == 2


def test_save_with_a_new_custom_field_bumps_the_version(config):
    form, formset = _valid_forms(config, rows=[("customer_email", "email", "")])

    webhook_config_save(config=config, form=form, formset=formset)

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
    form, formset = _valid_forms(config, rows=rows)

    webhook_config_save(config=config, form=form, formset=formset)

    assert list(config.custom_fields.values_list("name", "position")) == [
        ("plan", 0),
        ("txn", 1),
        ("hash", 2),
    ]


def test_save_can_swap_two_custom_field_names(config):
    CustomFieldFactory(config=config, name="a", value="1", position=0)
    CustomFieldFactory(config=config, name="b", value="2", position=1)
    form, formset = _valid_forms(
        config, rows=[("static", "b", "1"), ("static", "a", "2")]
    )

    webhook_config_save(config=config, form=form, formset=formset)

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
