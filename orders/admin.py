from __future__ import annotations

from django.contrib import admin, messages
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html

from fulfillment.models import Delivery
from orders.models import ApiToken, Checkout, Order
from orders.tokens import token_generate


class ReadOnlyAdminMixin:
    """Records that only the application writes; staff look, they do not edit."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "created_at", "last_used_at", "revoked"]
    list_filter = ["revoked"]
    search_fields = ["name", "prefix"]
    # token_hash is never shown: it is useless to staff and only helps an attacker.
    readonly_fields = ["prefix", "created_at", "last_used_at"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["name"]
        return ["name", "prefix", "created_at", "last_used_at", "revoked"]

    def save_model(self, request, obj, form, change) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        new = token_generate()
        obj.prefix, obj.token_hash = new.prefix, new.token_hash
        super().save_model(request, obj, form, change)
        messages.success(
            request,
            f"The new API token is {new.raw} — Copy it now; it will not be shown "
            "again. Payment providers send it as 'Authorization: Bearer <token>'.",
        )


class DeliveryInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Delivery
    extra = 0
    fields = ["delivery_link", "item", "status", "attempt_count", "last_error"]
    readonly_fields = fields
    ordering = ["item_index", "pk"]

    @admin.display(description="Delivery")
    def delivery_link(self, delivery: Delivery) -> str:
        try:
            url = reverse("admin:fulfillment_delivery_change", args=[delivery.pk])
        except NoReverseMatch:
            return delivery.delivery_id
        return format_html('<a href="{}">{}</a>', url, delivery.delivery_id)

    @admin.display(description="Item")
    def item(self, delivery: Delivery) -> str:
        return (
            f"{delivery.item_index} of {delivery.item_count} "
            f"(quantity {delivery.quantity})"
        )


@admin.register(Order)
class OrderAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "transaction_id",
        "product",
        "customer_email",
        "quantity",
        "fulfillment_status",
        "email_status",
        "completed_at",
    ]
    list_filter = [
        "fulfillment_status",
        "email_status",
        ("product__seller", admin.RelatedOnlyFieldListFilter),
        "completed_at",
    ]
    # One search box answers "where is my license?" from whatever the customer has.
    search_fields = [
        "=transaction_id",
        "customer_email",
        "=checkout__hash",
        "=deliveries__delivery_id",
    ]
    list_select_related = ["product"]
    date_hierarchy = "completed_at"
    inlines = [DeliveryInline]
    exclude = ["token", "request_fingerprint"]
    readonly_fields = ["order_page"]

    @admin.display(description="Customer's order page")
    def order_page(self, order: Order) -> str:
        # Staff may need to send a customer their link again; it is the secret URL.
        url = reverse("orders:order", kwargs={"token": order.token})
        return format_html('<a href="{}">{}</a>', url, url)


@admin.register(Checkout)
class CheckoutAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["hash", "product", "customer_email", "quantity", "status"]
    list_filter = ["status"]
    search_fields = ["=hash", "customer_email"]
    list_select_related = ["product"]
