from __future__ import annotations

import secrets
from typing import cast

from django import forms
from django.contrib import admin, messages
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html

from config.admin_actions import APPLY_MARKER, formset_action_page
from downloads.models import OrderDownload
from emails.models import EmailEvent, OrderEmail
from emails.selectors import email_of
from fulfillment.models import Delivery
from fulfillment.services.actions import ActionError, order_email_resend_corrected
from fulfillment.services.aftersale import order_cancel, order_refund
from fulfillment.services.emails import order_emails_resend
from orders.aftersale import (
    Actor,
    OrderState,
    order_refundable,
    order_state,
    order_state_q,
)
from orders.errors import OrderError
from orders.models import ApiScope, ApiToken, Checkout, Order, OrderEvent
from orders.services import api_token_create
from web.orders.forms import SellerCancelForm, SellerRefundForm

from .readonly import ReadOnlyAdminMixin


class ApiTokenForm(forms.ModelForm):
    """Scopes as checkboxes; the model keeps them comma-separated."""

    scopes = forms.MultipleChoiceField(
        choices=ApiScope.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=list(ApiScope.values),
        help_text="What the token may do. Give a provider only what it needs.",
    )

    class Meta:
        model = ApiToken
        fields = ["name", "scopes", "revoked"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["scopes"] = self.instance.scope_list

    def clean_scopes(self) -> str:
        return ",".join(sorted(self.cleaned_data["scopes"]))


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    form = ApiTokenForm
    list_display = ["name", "prefix", "scopes", "created_at", "last_used_at", "revoked"]
    list_filter = ["revoked"]
    search_fields = ["name", "prefix"]
    # token_hash is never shown: it is useless to staff and only helps an attacker.
    readonly_fields = ["prefix", "created_at", "last_used_at"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["name", "scopes"]
        return ["name", "prefix", "scopes", "created_at", "last_used_at", "revoked"]

    def save_model(self, request, obj, form, change) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        token, raw = api_token_create(
            name=form.cleaned_data["name"], scopes=obj.scope_list
        )
        # The admin goes on with `obj` (its log entry, its response): make it the
        # row the service saved. The raw secret rides along for `response_add`.
        obj.pk = token.pk
        obj.refresh_from_db()
        obj._state.adding = False
        obj.raw_token = raw

    def response_add(self, request, obj, post_url_continue=None) -> HttpResponse:
        """Show the new secret once, in this response only.

        Not as a message: messages are stored (cookie or session) and shown on a
        later page, so the secret would outlive this response.
        """
        raw = getattr(obj, "raw_token", None)
        if raw is None:
            return super().response_add(request, obj, post_url_continue)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "API token created",
            "token": obj,
            "raw_token": raw,
        }
        # Admin views are never_cache: the page with the secret is not stored.
        return TemplateResponse(request, "admin/orders/apitoken/created.html", context)


class CorrectedEmailForm(forms.Form):
    order = forms.ModelChoiceField(
        queryset=Order.objects.none(), widget=forms.HiddenInput
    )
    email = forms.EmailField(label="Send to", max_length=254)

    def __init__(self, *args, orders, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Only the orders selected for this action can be named.
        cast(forms.ModelChoiceField, self.fields["order"]).queryset = orders


CorrectedEmailFormSet = forms.formset_factory(CorrectedEmailForm, extra=0)


class _SelectedOrderForm(forms.Form):
    order = forms.ModelChoiceField(
        queryset=Order.objects.none(), widget=forms.HiddenInput
    )

    def __init__(self, *args, orders, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Only the orders selected for this action can be named.
        cast(forms.ModelChoiceField, self.fields["order"]).queryset = orders


class AdminRefundForm(_SelectedOrderForm, SellerRefundForm):
    """One order's refund on the action's page: the seller's form, per order."""


class AdminCancelForm(_SelectedOrderForm, SellerCancelForm):
    """One order's cancellation on the action's page."""


AdminRefundFormSet = forms.formset_factory(AdminRefundForm, extra=0)
AdminCancelFormSet = forms.formset_factory(AdminCancelForm, extra=0)


class OrderStateFilter(admin.SimpleListFilter):
    """The order's state after the sale, as the seller's Orders page filters it."""

    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return OrderState.choices

    def queryset(self, request, queryset):
        value = self.value()
        if value in OrderState.values:
            return queryset.filter(order_state_q(str(value)))
        return queryset


class DeliveryInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Delivery
    extra = 0
    fields = readonly_fields = (
        "delivery_link",
        "item",
        "status",
        "attempt_count",
        "last_error",
    )
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


class OrderDownloadInline(ReadOnlyAdminMixin, admin.TabularInline):
    """How often the order downloaded each of its product's files."""

    model = OrderDownload
    extra = 0
    fields = readonly_fields = ("file", "count", "last_at")
    ordering = ["file__position", "file__pk"]
    verbose_name_plural = "Downloads"


class OrderEmailInline(ReadOnlyAdminMixin, admin.StackedInline):
    """The customer's license email: sent or not, and what the ESP reported."""

    model = OrderEmail
    extra = 0
    fields = readonly_fields = (
        "status",
        "owed_since",
        "claimed_at",
        "sent_at",
        "sent_to",
        "message_id",
        "delivery",
        "delivery_at",
        "delivery_detail",
    )
    verbose_name_plural = "Customer email"


class EmailEventInline(ReadOnlyAdminMixin, admin.TabularInline):
    """The order email's log: each send and what the ESP reported about it."""

    model = EmailEvent
    extra = 0
    fields = readonly_fields = (
        "timestamp",
        "event_type",
        "recipient",
        "message_id",
        "mta_response",
        "description",
        "esp_name",
        "event_id",
        "received_at",
    )
    ordering = ["-timestamp", "-pk"]
    verbose_name_plural = "Customer email log"


class OrderEventInline(ReadOnlyAdminMixin, admin.TabularInline):
    """Refunds, disputes and cancellation: kept forever, never edited here."""

    model = OrderEvent
    extra = 0
    fields = readonly_fields = (
        "created_at",
        "kind",
        "amount",
        "reason",
        "actor_kind",
        "actor_name",
        "provider_event_id",
        "provider_refund_id",
    )
    ordering = ["created_at", "pk"]
    verbose_name_plural = "Refunds, disputes and cancellation"


@admin.register(Order)
class OrderAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "transaction_id",
        "product",
        "customer_email",
        "quantity",
        "fulfillment_status",
        "state",
        "refunded_amount",
        "test_badge",
        "email_status",
        "email_delivery",
        "completed_at",
    ]
    list_filter = [
        "fulfillment_status",
        OrderStateFilter,
        "is_test",
        ("email__status", admin.ChoicesFieldListFilter),
        ("email__delivery", admin.ChoicesFieldListFilter),
        ("product__seller", admin.RelatedOnlyFieldListFilter),
        "completed_at",
    ]
    # One search box answers "where is my license?" from whatever the customer has.
    search_fields = [
        "=transaction_id",
        "customer_email",
        "=checkout__hash",
        "=deliveries__delivery_id",
        # The ESP's message id, as its own dashboard shows it.
        "=email__message_id",
        # The seller's own id for the buyer (say, acct_42), when they ask staff.
        "=passthrough",
        # A license key from the product's key list, as the customer quotes it.
        "=deliveries__license_keys__key",
    ]
    list_select_related = ["product", "email"]
    date_hierarchy = "completed_at"
    inlines = [
        DeliveryInline,
        OrderEventInline,
        OrderEmailInline,
        EmailEventInline,
        OrderDownloadInline,
    ]
    exclude = ["token", "request_fingerprint"]
    readonly_fields = ["order_page"]
    actions = ["resend_email", "resend_email_corrected", "refund", "cancel"]

    @admin.display(description="State")
    def state(self, order: Order) -> str:
        return OrderState(order_state(order)).label

    # --- After the sale: refund and cancel, one form per order ---------------------

    @staticmethod
    def _staff(request) -> Actor:
        return Actor.staff(
            user_id=request.user.pk, username=request.user.get_username()
        )

    @staticmethod
    def _rows(formset, orders, detail) -> list:
        by_pk = {str(o.pk): o for o in orders}
        rows = []
        for form in formset:
            order = by_pk.get(str(form["order"].value()))
            if order is None:
                rows.append((form, "Unknown order", ""))
                continue
            heading = (
                f"{order.transaction_id} · {order.product} · {order.total} "
                f"{order.currency} · {OrderState(order_state(order)).label}"
            )
            rows.append((form, heading, detail(order)))
        return rows

    @admin.action(description="Refund… (through the payment provider)")
    def refund(self, request, queryset):
        """One amount per order (prefilled with all that is left) on an
        intermediate page, then refund each through its payment provider."""
        orders = list(queryset.select_related("product").order_by("pk"))
        formset = AdminRefundFormSet(
            request.POST if APPLY_MARKER in request.POST else None,
            prefix="refund",
            initial=[
                {
                    "order": o.pk,
                    "amount": order_refundable(o),
                    "nonce": secrets.token_urlsafe(24),
                }
                for o in orders
            ],
            form_kwargs={"orders": queryset},
        )
        if formset.is_bound and formset.is_valid():
            return self._apply(request, formset, self._refund_one, "refunded")
        return formset_action_page(
            self,
            request,
            action="refund",
            title="Refund orders",
            intro=(
                "Each amount is paid back through the payment provider that took "
                "it (test orders: the test provider, no money moves), and the "
                "customer gets one email about it. Orders that came through the "
                "orders API are refunded at their provider, which reports it here."
            ),
            submit_label=f"Refund ({len(orders)} orders)",
            formset=formset,
            rows=self._rows(
                formset,
                orders,
                lambda o: f"{order_refundable(o)} {o.currency} can still be refunded.",
            ),
            selected=[o.pk for o in orders],
        )

    @admin.action(description="Cancel… (orders not delivered yet)")
    def cancel(self, request, queryset):
        """A reason per order on an intermediate page, then cancel each: its
        deliveries stop, and nothing more reaches the seller's server."""
        orders = list(queryset.select_related("product").order_by("pk"))
        formset = AdminCancelFormSet(
            request.POST if APPLY_MARKER in request.POST else None,
            prefix="cancel",
            initial=[{"order": o.pk} for o in orders],
            form_kwargs={"orders": queryset},
        )
        if formset.is_bound and formset.is_valid():
            return self._apply(request, formset, self._cancel_one, "cancelled")
        return formset_action_page(
            self,
            request,
            action="cancel",
            title="Cancel orders",
            intro=(
                "A cancelled order's deliveries stop: nothing more is sent to the "
                "seller's server and the customer gets no license. Delivered orders "
                "cannot be cancelled (refund them). Cancelling refunds nothing."
            ),
            submit_label=f"Cancel ({len(orders)} orders)",
            formset=formset,
            rows=self._rows(formset, orders, lambda o: ""),
            selected=[o.pk for o in orders],
        )

    def _refund_one(self, request, form) -> None:
        order_refund(
            order_id=form.cleaned_data["order"].pk,
            amount=form.cleaned_data["amount"],
            reason=form.cleaned_data["reason"],
            actor=self._staff(request),
            form_nonce=form.cleaned_data["nonce"],
        )

    def _cancel_one(self, request, form) -> None:
        order_cancel(
            order_id=form.cleaned_data["order"].pk,
            reason=form.cleaned_data["reason"],
            actor=self._staff(request),
        )

    def _apply(self, request, formset, one, done: str) -> None:
        applied = 0
        for form in formset:
            try:
                one(request, form)
            except OrderError as exc:
                order = form.cleaned_data["order"]
                self.message_user(request, f"{order}: {exc.message}", messages.WARNING)
            else:
                applied += 1
        self.message_user(request, f"{applied} order(s) {done}.")

    @admin.action(description="Resend the order email now")
    def resend_email(self, request, queryset):
        sent, refused = order_emails_resend(orders=queryset)
        if sent:
            self.message_user(request, f"Sent {sent} order email(s).")
        for order, reason in refused:
            self.message_user(request, f"{order}: {reason}", messages.WARNING)

    @admin.action(description="Resend to a corrected address")
    def resend_email_corrected(self, request, queryset):
        """One address per order (prefilled) on an intermediate page, then send."""
        orders = list(queryset.order_by("pk"))
        formset = CorrectedEmailFormSet(
            request.POST if APPLY_MARKER in request.POST else None,
            prefix="resend",
            initial=[{"order": o.pk, "email": o.customer_email} for o in orders],
            form_kwargs={"orders": queryset},
        )
        if formset.is_bound and formset.is_valid():
            return self._resend_corrected(request, formset)
        by_pk = {str(o.pk): o for o in orders}
        rows = []
        for form in formset:
            order = by_pk.get(str(form["order"].value()))
            heading = (
                f"{order.transaction_id} · {order.product} · "
                f"{order.get_fulfillment_status_display()}"
                if order
                else "Unknown order"
            )
            rows.append((form, heading, ""))
        return formset_action_page(
            self,
            request,
            action="resend_email_corrected",
            title="Resend order emails to corrected addresses",
            intro=(
                "Each address replaces the order's customer email, so later emails "
                "go there too. Orders not fulfilled yet only get the new address; "
                "their email goes there once they are fulfilled."
            ),
            submit_label=f"Save and send ({len(orders)} orders)",
            formset=formset,
            rows=rows,
            selected=[o.pk for o in orders],
        )

    def _resend_corrected(self, request, formset) -> None:
        sent = corrected = 0
        for form in formset:
            order = form.cleaned_data["order"]
            try:
                if order_email_resend_corrected(
                    order=order, email=form.cleaned_data["email"]
                ):
                    sent += 1
                else:
                    corrected += 1
            except ActionError as exc:
                self.message_user(request, f"{order}: {exc}", messages.WARNING)
        self.message_user(
            request,
            f"Sent {sent} order email(s); {corrected} address(es) corrected on "
            "orders not fulfilled yet.",
        )

    @admin.display(description="Email status", ordering="email__status")
    def email_status(self, order: Order) -> str:
        email = email_of(order)
        return email.get_status_display() if email else "Not sent yet"

    @admin.display(description="Email delivery", ordering="email__delivery")
    def email_delivery(self, order: Order) -> str:
        email = email_of(order)
        return email.get_delivery_display() if email else "-"

    @admin.display(description="Test", ordering="is_test")
    def test_badge(self, order: Order) -> str:
        if not order.is_test:
            return ""
        return format_html('<span class="badge test">{}</span>', "Test order")

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
