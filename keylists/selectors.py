"""Reads of key lists: stock counts and the keys a seller's page lists."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Prefetch, Q, QuerySet

from .models import KeyList, LicenseKey


@dataclass(frozen=True)
class KeyStock:
    free: int
    used: int
    threshold: int

    @property
    def is_low(self) -> bool:
        return self.free <= self.threshold


def key_list_free_count(*, product_id: int) -> int:
    """Keys not given to any order yet (0 for a product without a list)."""
    return LicenseKey.objects.filter(
        key_list__product_id=product_id, used_at__isnull=True
    ).count()


def key_list_stock(*, product_id: int) -> KeyStock:
    """Free and used keys and the low-stock threshold, in one query; the
    defaults of a list that was never created when there is none."""
    row = (
        KeyList.objects.filter(product_id=product_id)
        .annotate(
            free=Count("keys", filter=Q(keys__used_at__isnull=True)),
            used=Count("keys", filter=Q(keys__used_at__isnull=False)),
        )
        .values("free", "used", "low_stock_threshold")
        .first()
    )
    if row is None:
        threshold = KeyList._meta.get_field("low_stock_threshold").get_default()
        return KeyStock(free=0, used=0, threshold=threshold)
    return KeyStock(
        free=row["free"], used=row["used"], threshold=row["low_stock_threshold"]
    )


def license_keys_of_product(*, product_id: int, used: bool) -> QuerySet[LicenseKey]:
    """The product's unused keys (oldest first, the order they are given in), or
    its used ones (latest first) with the order each went to."""
    keys = LicenseKey.objects.filter(
        key_list__product_id=product_id, used_at__isnull=not used
    )
    if used:
        return keys.select_related("delivery__order").order_by("-used_at", "-pk")
    return keys.order_by("pk")


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
    return FallbackSettings(
        enabled=key_list.fallback_enabled,
        minutes=key_list.fallback_after_minutes,
        keys_left=key_list_free_count(product_id=product_id),
    )


def license_keys_by_unit() -> Prefetch:
    """Prefetch a delivery's keys (`delivery.license_keys.all`) unit by unit."""
    return Prefetch("license_keys", queryset=LicenseKey.objects.order_by("unit_index"))
