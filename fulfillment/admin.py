from __future__ import annotations

from typing import cast

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from config.admin_actions import APPLY_MARKER, formset_action_page
from lib.rendering import render_markdown

from .models import (
    AlertAttempt,
    AlertDelivery,
    CustomField,
    Delivery,
    DeliveryAttempt,
    WebhookConfig,
)
from .ops import ops_status
from .services.actions import (
    HAND_FULFILLABLE_STATUSES,
    delivery_cancel,
    delivery_fulfill_manually,
)
from .services.wakeups import delivery_retry_now


def rendered(text: str):
    """Markdown as the customer sees it: the same rendering as the email and the
    order page (raw HTML escaped, then nh3 against the allowlist)."""
    return mark_safe(render_markdown(text)) if text else "—"  # noqa: S308


class HandFulfillForm(forms.Form):
    delivery = forms.ModelChoiceField(
        queryset=Delivery.objects.none(), widget=forms.HiddenInput
    )
    license_text = forms.CharField(
        label="License text (Markdown allowed)",
        widget=forms.Textarea(attrs={"rows": 4, "cols": 80}),
    )

    def __init__(self, *args, deliveries, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Only the deliveries selected for this action can be named.
        cast(forms.ModelChoiceField, self.fields["delivery"]).queryset = deliveries


HandFulfillFormSet = forms.formset_factory(HandFulfillForm, extra=0)


class CustomFieldInline(admin.TabularInline):
    model = CustomField
    extra = 0
    fields = readonly_fields = ("position", "kind", "name", "value")
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
    fields = readonly_fields = (
        "product",
        "url",
        "method",
        "body_format",
        "instructions",
        "instructions_rendered",
        "separate_multibuy",
        "response_format",
        "version",
        "updated_at",
    )
    inlines = [CustomFieldInline]

    @admin.display(description="Instructions, as the customer sees them")
    def instructions_rendered(self, obj):
        return rendered(obj.instructions)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    fields = readonly_fields = (
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
    )

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
        "source",
        "attempt_count",
        "next_attempt_at",
        "last_error_short",
        "created_at",
    ]
    list_filter = [
        "status",
        "source",
        "is_test",
        "product__seller",
        "product",
        "created_at",
    ]
    search_fields = [
        "delivery_id",
        "order__transaction_id",
        "order__customer_email",
        "order__checkout__hash",
    ]
    list_select_related = ["order", "product"]
    date_hierarchy = "created_at"
    actions = ["retry_now", "cancel_selected", "fulfill_by_hand"]
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
        "source",
        "attempt_count",
        "next_attempt_at",
        "lease_expires_at",
        "response_text",
        "licenses",
        "response_rendered",
        "last_error",
        "succeeded_at",
        "handled_by",
        "endpoint_key",
        "alerted_at",
        "created_at",
        "updated_at",
    ]
    exclude = ["test_facts"]

    def get_urls(self):
        # Before the model's own URLs: their "<object_id>/" would take "status/".
        status = path(
            "status/",
            self.admin_site.admin_view(self.status_view),
            name="fulfillment_delivery_status",
        )
        return [status, *super().get_urls()]

    def status_view(self, request):
        """The figures of `manage.py fulfillment_status` (fulfillment/ops.py)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Fulfillment status",
            "status": ops_status(),
        }
        return TemplateResponse(request, "admin/fulfillment/status.html", context)

    @admin.display(description="Response, as the customer sees it")
    def response_rendered(self, obj):
        licenses = obj.license_texts
        if len(licenses) <= 1:
            return rendered(licenses[0] if licenses else "")
        # A list answer: each license as its own rendered block, numbered.
        return format_html_join(
            "",
            "<p>License {} of {}</p>{}",
            ((i, len(licenses), rendered(text)) for i, text in enumerate(licenses, 1)),
        )

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

    @admin.action(description="Cancel selected deliveries")
    def cancel_selected(self, request, queryset):
        cancelled = sum(delivery_cancel(delivery=d, by=request.user) for d in queryset)
        skipped = queryset.count() - cancelled
        self.message_user(
            request,
            f"{cancelled} cancelled; {skipped} skipped "
            "(succeeded, in flight, already cancelled or test).",
            messages.SUCCESS if cancelled else messages.WARNING,
        )

    @admin.action(description="Fulfill selected deliveries by hand")
    def fulfill_by_hand(self, request, queryset):
        """One license text per delivery on an intermediate page, then apply."""
        targets = list(
            queryset.filter(is_test=False, status__in=HAND_FULFILLABLE_STATUSES)
            .select_related("order")
            .order_by("pk")
        )
        if not targets:
            self.message_user(
                request,
                "None of the selected deliveries can be fulfilled by hand "
                "(succeeded, in flight or test).",
                messages.WARNING,
            )
            return None
        formset = HandFulfillFormSet(
            request.POST if APPLY_MARKER in request.POST else None,
            prefix="fulfill",
            initial=[{"delivery": d.pk} for d in targets],
            form_kwargs={"deliveries": queryset},
        )
        if formset.is_bound and formset.is_valid():
            return self._fulfill(request, formset)
        skipped = queryset.count() - len(targets)
        return formset_action_page(
            self,
            request,
            action="fulfill_by_hand",
            title="Fulfill deliveries by hand",
            intro=(
                "Type the license each customer gets. A delivery succeeds with it, "
                "and an order whose deliveries have all succeeded sends its email."
                + (
                    f" {skipped} selected deliveries are left out "
                    "(succeeded, in flight or test)."
                    if skipped
                    else ""
                )
            ),
            submit_label=f"Fulfill {len(targets)} deliveries",
            formset=formset,
            rows=self._fulfill_rows(formset, targets),
            selected=[d.pk for d in targets],
        )

    @staticmethod
    def _fulfill_rows(formset, targets):
        by_pk = {str(d.pk): d for d in targets}
        rows = []
        for form in formset:
            delivery = by_pk.get(str(form["delivery"].value()))
            if delivery is None:
                rows.append((form, "Unknown delivery", ""))
                continue
            heading = (
                f"{delivery.delivery_id} · order {delivery.order.transaction_id} · "
                f"item {delivery.item_index} of {delivery.item_count} · "
                f"{delivery.get_status_display()}"
            )
            rows.append((form, heading, delivery.last_error))
        return rows

    def _fulfill(self, request, formset) -> None:
        done = sum(
            delivery_fulfill_manually(
                delivery=form.cleaned_data["delivery"],
                license_text=form.cleaned_data["license_text"],
                by=request.user,
            )
            for form in formset
        )
        skipped = len(formset.forms) - done
        self.message_user(
            request,
            f"{done} fulfilled by hand; {skipped} skipped (their state changed).",
            messages.SUCCESS if done else messages.WARNING,
        )


class AlertAttemptInline(DeliveryAttemptInline):
    model = AlertAttempt  # type: ignore[assignment]


@admin.register(AlertDelivery)
class AlertDeliveryAdmin(admin.ModelAdmin):
    """Sellers' alerts, read-only: staff look, the engine acts."""

    list_display = [
        "alert_id",
        "seller",
        "type",
        "status",
        "attempt_count",
        "created_at",
    ]
    list_filter = ["status", "type", "is_test"]
    search_fields = ["alert_id", "subject", "seller__username", "seller__email"]
    readonly_fields = [f.name for f in AlertDelivery._meta.fields]
    inlines = [AlertAttemptInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
