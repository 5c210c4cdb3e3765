"""The seller's delivery log and delivery pages, with their hand actions.

Thin: parse, call one service, render or redirect. A seller reaches only the
deliveries of their own products, decided in one place (`_get_product_for_seller`);
test deliveries belong to the Webhook Editor and are not listed here.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET

from products.models import Product

from .models import DUE_STATUSES, Delivery, DeliveryAttempt, DeliveryStatus
from .services import actions
from .services.deliveries import delivery_retry_now

DELIVERIES_PER_PAGE = 50


class DeliveryFilterForm(forms.Form):
    status = forms.ChoiceField(
        choices=[("", "Any status"), *DeliveryStatus.choices], required=False
    )
    created_from = forms.DateField(
        label="Created from",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    created_to = forms.DateField(
        label="Created to",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("created_from"), cleaned.get("created_to")
        if start and end and end < start:
            self.add_error("created_to", "Choose a date on or after “Created from”.")
        return cleaned


class DeliveryFulfillForm(forms.Form):
    # CharField strips whitespace, so a blank answer is "required" too.
    license_text = forms.CharField(
        label="License text (Markdown allowed)",
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="Exactly what the customer gets as their license, in their email "
        "and on their order page.",
    )


def _get_product_for_seller(request: HttpRequest, pk: int) -> Product:
    """The product if the logged-in seller owns it; 404 for everyone else."""
    return get_object_or_404(Product, pk=pk, seller=request.user)


def _get_delivery(request: HttpRequest, pk: int, delivery_id: str) -> Delivery:
    product = _get_product_for_seller(request, pk)
    deliveries = Delivery.objects.select_related("order", "handled_by")
    return get_object_or_404(
        deliveries, product=product, delivery_id=delivery_id, is_test=False
    )


def _filtered(product: Product, cleaned: dict) -> QuerySet[Delivery]:
    deliveries = Delivery.objects.filter(product=product, is_test=False)
    if cleaned.get("status"):
        deliveries = deliveries.filter(status=cleaned["status"])
    if cleaned.get("created_from"):
        deliveries = deliveries.filter(created_at__date__gte=cleaned["created_from"])
    if cleaned.get("created_to"):
        deliveries = deliveries.filter(created_at__date__lte=cleaned["created_to"])
    return deliveries.select_related("order").order_by("-created_at", "-pk")


@login_required
@require_GET
def delivery_list(request: HttpRequest, pk: int) -> HttpResponse:
    product = _get_product_for_seller(request, pk)
    form = DeliveryFilterForm(request.GET)
    # An invalid filter is ignored and its error shown beside it; the rest apply.
    form.is_valid()
    deliveries = _filtered(product, form.cleaned_data)
    page = Paginator(deliveries, DELIVERIES_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "product": product,
        "form": form,
        "page": page,
        "deliveries": page.object_list,
        "due": DUE_STATUSES,
        "filtered": any(request.GET.get(name) for name in form.fields),
    }
    return render(request, "dashboard/deliveries/delivery_list.html", context)


def _render_detail(
    request: HttpRequest, delivery: Delivery, fulfill_form: DeliveryFulfillForm
) -> HttpResponse:
    attempts = DeliveryAttempt.objects.filter(delivery=delivery).order_by("number")
    context = {
        "product": delivery.product,
        "delivery": delivery,
        "attempts": attempts,
        "allowed": actions.delivery_actions_allowed(delivery=delivery),
        "due": DUE_STATUSES,
        "fulfill_form": fulfill_form,
    }
    return render(request, "dashboard/deliveries/delivery_detail.html", context)


@login_required
@require_GET
def delivery_detail(request: HttpRequest, pk: int, delivery_id: str) -> HttpResponse:
    delivery = _get_delivery(request, pk, delivery_id)
    return _render_detail(request, delivery, DeliveryFulfillForm())


def _post_only(request: HttpRequest) -> HttpResponse | None:
    # Checked after ownership: another seller learns nothing, not even that the
    # URL exists (404 for GET as for POST).
    return None if request.method == "POST" else HttpResponseNotAllowed(["POST"])


def _back(delivery: Delivery) -> HttpResponseRedirect:
    return redirect(
        "fulfillment:delivery-detail",
        pk=delivery.product_id,
        delivery_id=delivery.delivery_id,
    )


def _refused(request: HttpRequest, delivery: Delivery, what: str) -> None:
    delivery.refresh_from_db(fields=["status"])
    status = delivery.get_status_display().lower()
    messages.error(request, f"This delivery cannot be {what} (status {status}).")


@login_required
def delivery_retry(request: HttpRequest, pk: int, delivery_id: str) -> HttpResponse:
    delivery = _get_delivery(request, pk, delivery_id)
    if not_allowed := _post_only(request):
        return not_allowed
    if delivery_retry_now(delivery=delivery):
        messages.success(request, "Queued for a new attempt.")
    else:
        _refused(request, delivery, "retried")
    return _back(delivery)


@login_required
def delivery_cancel(request: HttpRequest, pk: int, delivery_id: str) -> HttpResponse:
    delivery = _get_delivery(request, pk, delivery_id)
    if not_allowed := _post_only(request):
        return not_allowed
    if actions.delivery_cancel(delivery=delivery, by=request.user):
        messages.success(request, "Delivery cancelled: it will not be attempted again.")
    else:
        _refused(request, delivery, "cancelled")
    return _back(delivery)


@login_required
def delivery_fulfill(request: HttpRequest, pk: int, delivery_id: str) -> HttpResponse:
    delivery = _get_delivery(request, pk, delivery_id)
    if not_allowed := _post_only(request):
        return not_allowed
    form = DeliveryFulfillForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Not fulfilled: please correct the field below.")
        return _render_detail(request, delivery, form)
    license_text = form.cleaned_data["license_text"]
    if actions.delivery_fulfill_manually(
        delivery=delivery, license_text=license_text, by=request.user
    ):
        messages.success(
            request,
            "Delivery fulfilled by hand. Once every delivery of the order has "
            "succeeded, the customer gets their email.",
        )
    else:
        _refused(request, delivery, "fulfilled by hand")
    return _back(delivery)
