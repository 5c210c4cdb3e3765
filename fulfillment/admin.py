from __future__ import annotations

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from .models import CustomField, Delivery, DeliveryAttempt, WebhookConfig
from .services.deliveries import delivery_retry_now


class CustomFieldInline(admin.TabularInline):
    model = CustomField
    extra = 0
    fields = ["position", "kind", "name", "value"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(WebhookConfig)
class WebhookConfigAdmin(admin.ModelAdmin):
    list_display = [
        "product",
        "url",
        "method",
        "separate_multibuy",
        "version",
        "updated_at",
    ]
    search_fields = ["product__name", "product__slug", "url"]
    list_select_related = ["product"]
    # Read-only: a change must go through the Webhook Editor's checks and bump the
    # config version (which un-ticks "Test delivery succeeded"). The signing
    # secrets are the seller's; staff never see them.
    fields = [
        "product",
        "url",
        "method",
        "body_format",
        "instructions",
        "separate_multibuy",
        "version",
        "updated_at",
    ]
    readonly_fields = fields
    inlines = [CustomFieldInline]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    fields = [
        "number",
        "started_at",
        "duration_ms",
        "request_method",
        "request_url",
        "response_status",
        "succeeded",
        "error_kind",
        "message",
        "response_body",
    ]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "delivery_id",
        "order_link",
        "product",
        "item",
        "status",
        "attempt_count",
        "next_attempt_at",
        "last_error_short",
        "created_at",
    ]
    list_filter = ["status", "is_test", "product__seller", "product", "created_at"]
    search_fields = [
        "delivery_id",
        "order__transaction_id",
        "order__customer_email",
        "order__checkout__hash",
    ]
    list_select_related = ["order", "product"]
    date_hierarchy = "created_at"
    actions = ["retry_now"]
    inlines = [DeliveryAttemptInline]
    readonly_fields = [
        "delivery_id",
        "order",
        "product",
        "is_test",
        "config_version",
        "item_index",
        "item_count",
        "quantity",
        "status",
        "attempt_count",
        "next_attempt_at",
        "lease_expires_at",
        "response_text",
        "last_error",
        "succeeded_at",
        "created_at",
        "updated_at",
    ]
    exclude = ["test_facts"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Order")
    def order_link(self, obj):
        if obj.order_id is None:
            return "test"
        url = reverse("admin:orders_order_change", args=[obj.order_id])
        return format_html('<a href="{}">{}</a>', url, obj.order.transaction_id)

    @admin.display(description="Item")
    def item(self, obj):
        return f"{obj.item_index} of {obj.item_count} (qty {obj.quantity})"

    @admin.display(description="Last error")
    def last_error_short(self, obj):
        return (
            (obj.last_error[:80] + "…") if len(obj.last_error) > 80 else obj.last_error
        )

    @admin.action(description="Retry selected deliveries now")
    def retry_now(self, request, queryset):
        retried = sum(delivery_retry_now(delivery=d) for d in queryset)
        skipped = queryset.count() - retried
        self.message_user(
            request,
            f"{retried} queued for a new attempt; {skipped} skipped "
            "(succeeded, in flight or test).",
            messages.SUCCESS if retried else messages.WARNING,
        )
