"""The seller's delivery log and delivery pages, with their hand actions.

Thin: parse, call one service, render or redirect. A seller reaches only the
deliveries of their own products, decided in one place
(`web.products.selectors.product_of_seller`);
test deliveries belong to the Webhook Editor and are not listed here.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import (
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET

from accounts.http import SellerRequest
from fulfillment.models import DUE_STATUSES, Delivery, DeliveryAttempt
from fulfillment.selectors import deliveries_for_product
from fulfillment.services import actions
from fulfillment.services.wakeups import delivery_retry_now
from keylists.selectors import license_keys_by_unit
from web.products.selectors import product_of_seller

from .forms import DeliveryFilterForm, DeliveryFulfillForm

DELIVERIES_PER_PAGE = 50


def _get_delivery(request: SellerRequest, pk: int, delivery_id: str) -> Delivery:
    product = product_of_seller(seller=request.user, pk=pk)
    deliveries = Delivery.objects.select_related(
        "order", "handled_by"
    ).prefetch_related(license_keys_by_unit())
    return get_object_or_404(
        deliveries, product=product, delivery_id=delivery_id, is_test=False
    )


@login_required
@require_GET
def delivery_list(request: SellerRequest, pk: int) -> HttpResponse:
    product = product_of_seller(seller=request.user, pk=pk)
    form = DeliveryFilterForm(request.GET)
    # An invalid filter is ignored and its error shown beside it; the rest apply.
    form.is_valid()
    deliveries = deliveries_for_product(product=product, **form.cleaned_data)
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
    request: SellerRequest, delivery: Delivery, fulfill_form: DeliveryFulfillForm
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
def delivery_detail(request: SellerRequest, pk: int, delivery_id: str) -> HttpResponse:
    delivery = _get_delivery(request, pk, delivery_id)
    return _render_detail(request, delivery, DeliveryFulfillForm())


def _post_only(request: SellerRequest) -> HttpResponse | None:
    # Checked after ownership: another seller learns nothing, not even that the
    # URL exists (404 for GET as for POST).
    return None if request.method == "POST" else HttpResponseNotAllowed(["POST"])


def _back(delivery: Delivery) -> HttpResponseRedirect:
    return redirect(
        "fulfillment:delivery-detail",
        pk=delivery.product_id,
        delivery_id=delivery.delivery_id,
    )


def _refused(request: SellerRequest, delivery: Delivery, what: str) -> None:
    delivery.refresh_from_db(fields=["status"])
    status = delivery.get_status_display().lower()
    messages.error(request, f"This delivery cannot be {what} (status {status}).")


@login_required
def delivery_retry(request: SellerRequest, pk: int, delivery_id: str) -> HttpResponse:
    delivery = _get_delivery(request, pk, delivery_id)
    if not_allowed := _post_only(request):
        return not_allowed
    if delivery_retry_now(delivery=delivery):
        messages.success(request, "Queued for a new attempt.")
    else:
        _refused(request, delivery, "retried")
    return _back(delivery)


@login_required
def delivery_cancel(request: SellerRequest, pk: int, delivery_id: str) -> HttpResponse:
    delivery = _get_delivery(request, pk, delivery_id)
    if not_allowed := _post_only(request):
        return not_allowed
    if actions.delivery_cancel(delivery=delivery, by=request.user):
        messages.success(request, "Delivery cancelled: it will not be attempted again.")
    else:
        _refused(request, delivery, "cancelled")
    return _back(delivery)


@login_required
def delivery_fulfill(request: SellerRequest, pk: int, delivery_id: str) -> HttpResponse:
    delivery = _get_delivery(request, pk, delivery_id)
    if not_allowed := _post_only(request):
        return not_allowed
    form = DeliveryFulfillForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Not fulfilled: please correct the field below.")
        return _render_detail(request, delivery, form)
    try:
        fulfilled = actions.delivery_fulfill_manually(
            delivery=delivery,
            license_text=form.cleaned_data["license_text"],
            one_per_line=form.cleaned_data["one_per_line"],
            by=request.user,
        )
    except ValueError as exc:
        form.add_error("license_text", str(exc))
        messages.error(request, "Not fulfilled: please correct the field below.")
        return _render_detail(request, delivery, form)
    if fulfilled:
        messages.success(
            request,
            "Delivery fulfilled by hand. Once every delivery of the order has "
            "succeeded, the customer gets their email.",
        )
    else:
        _refused(request, delivery, "fulfilled by hand")
    return _back(delivery)
