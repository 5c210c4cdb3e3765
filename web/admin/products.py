from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from downloads.models import ProductFile
from fulfillment.models import WebhookConfig
from products.models import Product
from web.products.services import product_unpublish

from .readonly import ReadOnlyAdminMixin


class WebhookConfigInline(admin.StackedInline):
    model = WebhookConfig
    extra = 0
    can_delete = False
    show_change_link = True
    fields = readonly_fields = (
        "url",
        "method",
        "body_format",
        "instructions",
        "separate_multibuy",
        "response_format",
        "version",
        "custom_fields_list",
    )
    # Read-only here: edits go through the Webhook Editor (checks, version bump).

    @admin.display(description="Custom Fields")
    def custom_fields_list(self, obj):
        rows = format_html_join(
            "",
            "<li>{} — {}{}</li>",
            (
                (f.name, f.get_kind_display(), f": {f.value}" if f.value else "")
                for f in obj.custom_fields.all()
            ),
        )
        edit = reverse("admin:fulfillment_webhookconfig_change", args=[obj.pk])
        return format_html('<ul>{}</ul><a href="{}">Edit custom fields</a>', rows, edit)


class ProductFileInline(ReadOnlyAdminMixin, admin.TabularInline):
    """The product's files, read-only: sellers upload and delete them in the
    dashboard (storage and counts stay consistent there)."""

    model = ProductFile
    extra = 0
    fields = readonly_fields = (
        "filename",
        "size",
        "content_type",
        "storage_name",
        "position",
        "created_at",
    )


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "seller",
        "status",
        "fulfillment_method",
        "price",
        "currency",
        "send_order_emails",
        "created_at",
    ]
    list_filter = ["status", "fulfillment_method", "send_order_emails", "seller"]
    search_fields = ["name", "slug", "seller__username", "seller__email"]
    prepopulated_fields = {"slug": ["name"]}
    list_select_related = ["seller"]
    inlines = [WebhookConfigInline, ProductFileInline]
    # Going live needs the release checklist (the seller's publish button); staff
    # can only take a product down, through the action below.
    readonly_fields = ["status", "published_at", "email_preview_seen_at"]
    actions = ["unpublish"]

    @admin.action(description="Unpublish selected products (back to draft)")
    def unpublish(self, request, queryset):
        for product in queryset:
            product_unpublish(product=product)
        self.message_user(request, f"{queryset.count()} product(s) back to draft.")
