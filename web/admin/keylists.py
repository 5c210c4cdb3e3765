"""Staff's view of key lists: each list's stock and settings, and every key with
the order it went to. Read-only: keys are added and removed by their seller (the
all-or-nothing checks and the used-keys-stay rule live in keylists.services),
and the Order admin's search finds an order by one of its keys."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count, Q
from django.urls import reverse
from django.utils.html import format_html

from keylists.models import KeyList, LicenseKey

from .readonly import ReadOnlyAdminMixin


@admin.register(KeyList)
class KeyListAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "product",
        "seller",
        "keys_left",
        "low_stock_threshold",
        "low_stock_alerted_at",
        "fallback_enabled",
        "fallback_after_minutes",
        "keys_link",
    ]
    list_filter = ["fallback_enabled"]
    search_fields = ["product__name", "product__slug", "product__seller__username"]
    list_select_related = ["product__seller"]
    readonly_fields = ["keys_link"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(free=Count("keys", filter=Q(keys__used_at__isnull=True)))
        )

    @admin.display(description="Seller", ordering="product__seller__username")
    def seller(self, key_list: KeyList):
        return key_list.product.seller

    @admin.display(description="Keys left", ordering="free")
    def keys_left(self, key_list: KeyList) -> int:
        return key_list.free  # type: ignore[attr-defined]

    @admin.display(description="Keys")
    def keys_link(self, key_list: KeyList):
        url = reverse("admin:keylists_licensekey_changelist")
        return format_html(
            '<a href="{}?key_list__id__exact={}">All keys</a>', url, key_list.pk
        )


class UsedFilter(admin.SimpleListFilter):
    title = "used"
    parameter_name = "used"

    def lookups(self, request, model_admin):
        return [("yes", "Used"), ("no", "Unused")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(used_at__isnull=self.value() == "no")
        return queryset


@admin.register(LicenseKey)
class LicenseKeyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "key",
        "product",
        "used",
        "order_link",
        "unit_index",
        "used_at",
        "added_at",
    ]
    list_filter = [UsedFilter, "added_at"]
    # "Where is my license?": the key the customer quotes, or its order's id.
    search_fields = [
        "=key",
        "key_list__product__name",
        "=delivery__order__transaction_id",
    ]
    list_select_related = ["key_list__product", "delivery__order"]
    readonly_fields = [
        "key",
        "product",
        "order_link",
        "unit_index",
        "used_at",
        "added_at",
    ]
    fields = tuple(readonly_fields)

    @admin.display(description="Product", ordering="key_list__product__name")
    def product(self, key: LicenseKey):
        return key.key_list.product

    @admin.display(description="Used", boolean=True)
    def used(self, key: LicenseKey) -> bool:
        return key.is_used

    @admin.display(description="Order")
    def order_link(self, key: LicenseKey):
        order = key.delivery.order if key.delivery is not None else None
        if order is None:
            return "—"
        url = reverse("admin:orders_order_change", args=[order.pk])
        return format_html('<a href="{}">{}</a>', url, order.transaction_id)
