"""Seller dashboard pages for orders. Thin: parse, call one service, render.

A seller sees only orders of their own products; anyone else's is a 404, decided
in one place (`_get_order_for_seller`).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from accounts.http import SellerRequest
from emails.models import EmailDelivery
from emails.selectors import email_of, order_email_events
from fulfillment.models import DUE_STATUSES
from fulfillment.services.actions import ActionError, order_email_resend_corrected
from orders.models import Order
from web.orders.forms import OrderEmailResendForm, SellerOrderFilterForm
from web.orders.selectors import (
    order_deliveries_with_attempts,
    order_delivery,
    order_for_seller,
    orders_for_seller,
)
from web.orders.services import order_delivery_retry

ORDERS_PER_PAGE = 50
# Deliveries in these states get a "Retry now" button.
RETRYABLE_STATUSES = ("failed", "retrying")
# The customer did not get the order email, or marked it as spam: the seller is
# asked to check the address and resend.
EMAIL_PROBLEMS = (EmailDelivery.BOUNCED, EmailDelivery.COMPLAINED)


def _get_order_for_seller(request: SellerRequest, pk: int) -> Order:
    """The order if the logged-in seller owns its product; 404 for everyone else."""
    order = order_for_seller(seller=request.user, pk=pk)
    if order is None:
        raise Http404("No such order.")
    return order


@login_required
@require_GET
def seller_orders(request: SellerRequest) -> HttpResponse:
    form = SellerOrderFilterForm(request.GET, seller=request.user)
    # An invalid filter (say, another seller's product) is ignored and shown.
    form.is_valid()
    orders = orders_for_seller(
        seller=request.user,
        product=form.cleaned_data.get("product"),
        status=form.cleaned_data.get("status", ""),
    )
    page = Paginator(orders, ORDERS_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "page": page,
        "orders": page.object_list,
        "email_problems": EMAIL_PROBLEMS,
        "filtered": any(request.GET.get(name) for name in form.fields),
    }
    return render(request, "dashboard/orders/order_list.html", context)


def _render_order(
    request: SellerRequest, order: Order, resend_form: OrderEmailResendForm
) -> HttpResponse:
    email = email_of(order)
    context = {
        "order": order,
        "email": email,
        "deliveries": order_deliveries_with_attempts(order=order),
        "retryable": RETRYABLE_STATUSES,
        "due": DUE_STATUSES,
        "resend_form": resend_form,
        "email_events": order_email_events(order_id=order.pk),
        "email_problem": email is not None and email.delivery in EMAIL_PROBLEMS,
    }
    return render(request, "dashboard/orders/order_detail.html", context)


@login_required
@require_GET
def seller_order(request: SellerRequest, pk: int) -> HttpResponse:
    order = _get_order_for_seller(request, pk)
    return _render_order(request, order, OrderEmailResendForm())


@login_required
def seller_order_email_resend(request: SellerRequest, pk: int) -> HttpResponse:
    order = _get_order_for_seller(request, pk)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    form = OrderEmailResendForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Not sent: please correct the field below.")
        return _render_order(request, order, form)
    email = form.cleaned_data["email"] or None
    try:
        sent = order_email_resend_corrected(order=order, email=email)
    except ActionError as exc:
        messages.error(request, str(exc))
    else:
        if sent:
            messages.success(request, f"Order email sent to {order.customer_email}.")
        else:
            messages.success(
                request,
                f"Customer email corrected to {order.customer_email}. The order "
                "email goes there once the order is fulfilled.",
            )
    return redirect("orders:seller-order", pk=order.pk)


@login_required
def seller_delivery_retry(
    request: SellerRequest, pk: int, delivery_id: str
) -> HttpResponse:
    # Ownership before the method check: another seller learns nothing, not even
    # that the URL exists (404 for GET as for POST).
    order = _get_order_for_seller(request, pk)
    delivery = order_delivery(order=order, delivery_id=delivery_id)
    if delivery is None:
        raise Http404("No such delivery.")
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if order_delivery_retry(delivery=delivery):
        messages.success(request, "Queued for a new attempt.")
    else:
        status = delivery.get_status_display().lower()
        messages.error(request, f"This delivery cannot be retried (status {status}).")
    return redirect("orders:seller-order", pk=order.pk)
