"""Read queries of the key lists."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Prefetch

from .models import KeyList, LicenseKey


@dataclass(frozen=True)
class FallbackSettings:
    """The Webhook method's fallback as the Webhook Editor shows it."""

    enabled: bool
    minutes: int
    # Keys left in the list (free, not given to any order).
    keys_left: int

    @property
    def has_no_keys(self) -> bool:
        return self.keys_left == 0


def key_list_fallback_of(*, product_id: int) -> FallbackSettings:
    """The product's fallback settings and stock, without creating its list
    (a product that never had one shows the defaults)."""
    key_list = KeyList.objects.filter(product_id=product_id).first() or KeyList()
    keys_left = LicenseKey.objects.filter(
        key_list__product_id=product_id, used_at__isnull=True
    ).count()
    return FallbackSettings(
        enabled=key_list.fallback_enabled,
        minutes=key_list.fallback_after_minutes,
        keys_left=keys_left,
    )


def license_keys_by_unit() -> Prefetch:
    """Prefetch a delivery's keys (`delivery.license_keys.all`) unit by unit."""
    return Prefetch("license_keys", queryset=LicenseKey.objects.order_by("unit_index"))
