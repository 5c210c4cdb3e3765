"""State changes of a product's webhook config (the Webhook Editor's saves)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from fulfillment.models import CustomField, SigningSecrets, WebhookConfig

# The payload's standard fields, which a config's custom fields may not shadow:
# the editor lists them and its form refuses such a name.
from fulfillment.payload import STANDARD_FIELDS as STANDARD_FIELDS
from fulfillment.payload import is_reserved_name as is_reserved_name
from fulfillment.payload import yielded_field as yielded_field
from lib.ids import new_signing_secret
from lib.urlpolicy import IPAddress, check_url

if TYPE_CHECKING:
    from products.models import Product

# The editor's own fields; `version` and the secrets change only through services.
CONFIG_FIELDS = (
    "url",
    "method",
    "body_format",
    "instructions",
    "separate_multibuy",
    "response_format",
)
# How long the previous secret keeps signing after a rotation, so that sellers can
# deploy the new one without failing deliveries in between.
PREVIOUS_SECRET_GRACE = timedelta(hours=24)


def check_url_from_settings(
    url: str, resolve: bool = True, timeout: float | None = None
) -> list[IPAddress]:
    """`lib.urlpolicy.check_url` with this deployment's policy: https in
    production, private networks only from FULFILLMENT_ALLOWED_PRIVATE_NETWORKS."""
    return check_url(
        url,
        require_https=bool(settings.PRODUCTION),
        allowed_networks=list(settings.FULFILLMENT["ALLOWED_PRIVATE_NETWORKS"]),
        resolve=resolve,
        timeout=timeout,
    )


def webhook_config_get_or_create(*, product: Product) -> WebhookConfig:
    config, _ = WebhookConfig.objects.get_or_create(product=product)
    return config


@dataclass(frozen=True)
class CustomFieldRow:
    """One Custom Field as the seller set it: what it sends, under which name."""

    kind: str
    name: str
    value: str = ""

    def as_tuple(self) -> tuple[str, str, str]:
        return (self.kind, self.name, self.value)


def _stored_rows(config: WebhookConfig) -> list[tuple[str, str, str]]:
    return list(
        config.custom_fields.order_by("position", "pk").values_list(
            "kind", "name", "value"
        )
    )


@transaction.atomic
def webhook_config_save(
    *,
    config: WebhookConfig,
    url: str,
    method: str,
    body_format: str,
    instructions: str,
    separate_multibuy: bool,
    response_format: str,
    custom_fields: Sequence[CustomFieldRow],
) -> bool:
    """Save the Webhook Editor's values (validated by its forms) and the Custom
    Fields in page order; True if anything changed.

    The version bumps only on a real change, because every bump un-ticks the
    checklist's "Test delivery succeeded" item. Custom fields are replaced as a
    whole, in page order: that keeps positions dense and lets two rows swap names
    without tripping the per-config unique constraint halfway through.
    """
    stored = WebhookConfig.objects.select_for_update().get(pk=config.pk)
    new_values = {
        "url": url,
        "method": method,
        "body_format": body_format,
        "instructions": instructions,
        "separate_multibuy": separate_multibuy,
        "response_format": response_format,
    }
    config_changed = any(getattr(stored, k) != v for k, v in new_values.items())
    rows = [row.as_tuple() for row in custom_fields]
    fields_changed = rows != _stored_rows(stored)
    if not (config_changed or fields_changed):
        return False
    if fields_changed:
        stored.custom_fields.all().delete()
        CustomField.objects.bulk_create(
            CustomField(config=stored, kind=k, name=n, value=v, position=i)
            for i, (k, n, v) in enumerate(rows)
        )
    for name, value in new_values.items():
        setattr(config, name, value)
    config.version = stored.version + 1
    config.save(update_fields=[*CONFIG_FIELDS, "version", "updated_at"])
    return True


@transaction.atomic
def webhook_config_secret_regenerate(*, config: WebhookConfig) -> WebhookConfig:
    """Rotate the signing secret; the old one keeps signing for 24 hours.

    Both signatures are sent during the grace period. The version bumps, so the
    seller tests again with the new secret before the checklist counts it.
    """
    stored = WebhookConfig.objects.select_for_update().get(pk=config.pk)
    signing_secret_rotate(holder=config, current=stored.signing_secret)
    config.version = stored.version + 1
    config.save(update_fields=[*SECRET_FIELDS, "version", "updated_at"])
    return config


SECRET_FIELDS = (
    "signing_secret",
    "previous_signing_secret",
    "previous_secret_expires_at",
)


def signing_secret_rotate(*, holder: SigningSecrets, current: str) -> None:
    """A new secret for `holder` (unsaved); `current`, the secret as stored under
    the caller's row lock, keeps signing for PREVIOUS_SECRET_GRACE."""
    holder.previous_signing_secret = current
    holder.previous_secret_expires_at = timezone.now() + PREVIOUS_SECRET_GRACE
    holder.signing_secret = new_signing_secret()


def webhook_config_secrets_reencrypt() -> int:
    """Re-store every config's secrets under the first SECRET_ENCRYPTION_KEYS key.

    Step two of an encryption key rotation: put the new key first, run this, then
    remove the old key. Each row is locked while it is rewritten, so a seller who
    regenerates the secret at the same moment never gets the old one back.
    Returns the number of configs rewritten.
    """
    count = 0
    for pk in WebhookConfig.objects.values_list("pk", flat=True).iterator():
        with transaction.atomic():
            config = WebhookConfig.objects.select_for_update().get(pk=pk)
            config.save(update_fields=["signing_secret", "previous_signing_secret"])
        count += 1
    return count
