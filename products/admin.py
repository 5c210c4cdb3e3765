from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from fulfillment.models import WebhookConfig

from .models import Product


class WebhookConfigInline(admin.StackedInline):
    model = WebhookConfig
    extra = 0
    can_delete = False
    show_change_link = True
    fields = [
        "url",
        "method",
        "body_format",
        "instructions",
        "separate_multibuy",
        "version",
        "custom_fields_list",
    ]
    readonly_fields = ["version", "custom_fields_list"]

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
    inlines = [WebhookConfigInline]
