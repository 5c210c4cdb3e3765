"""Seller dashboard pages for orders. Thin: parse, call one service, render.

A seller sees only orders of their own products; anyone else's is a 404, decided
in one place (`_get_order_for_seller`).
"""

from __future__ import annotations

import secrets

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from accounts.http import SellerRequest
from downloads.selectors import order_download_counts
from emails.models import EmailDelivery
from emails.selectors import email_of, order_email_events
from fulfillment.models import DUE_STATUSES, DeliverySource
from fulfillment.services.actions import ActionError, order_email_resend_corrected
from fulfillment.services.aftersale import (
    order_cancel,
    order_refund,
    order_refund_preview,
)
from orders.aftersale import Actor, order_cancellable, order_is_closed
from orders.errors import OrderError
from orders.models import Order, OrderSource
from web.orders.forms import (
    OrderEmailResendForm,
    SellerCancelForm,
    SellerOrderFilterForm,
    SellerRefundForm,
)
from web.orders.selectors import (
    order_after_sale,
    order_deliveries_with_attempts,
    order_delivery,
    order_for_seller,
    orders_for_seller,
    orders_refunded_totals,
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
        "refunded_totals": orders_refunded_totals(orders=orders),
        "email_problems": EMAIL_PROBLEMS,
        "filtered": any(request.GET.get(name) for name in form.fields),
    }
    return render(request, "dashboard/orders/order_list.html", context)


def _render_order(
    request: SellerRequest,
    order: Order,
    resend_form: OrderEmailResendForm | None = None,
    *,
    refund_form: SellerRefundForm | None = None,
    cancel_form: SellerCancelForm | None = None,
) -> HttpResponse:
    email = email_of(order)
    after_sale = order_after_sale(order=order)
    deliveries = order_deliveries_with_attempts(order=order)
    context = {
        "order": order,
        "after_sale": after_sale,
        # Refunds go back through our payment provider: checkout orders only.
        "refund_here": order.source == OrderSource.CHECKOUT,
        "refund_form": (
            SellerRefundForm(initial={"amount": after_sale.refundable})
            if refund_form is None
            else refund_form
        ),
        "cancellable": order_cancellable(order),
        # Cancelled, refunded in full or charged back: no license email to resend.
        "closed": order_is_closed(order),
        "cancel_form": SellerCancelForm() if cancel_form is None else cancel_form,
        "email": email,
        "deliveries": deliveries,
        "served_from_list": any(
            delivery.source == DeliverySource.FALLBACK for delivery in deliveries
        ),
        "retryable": RETRYABLE_STATUSES,
        "due": DUE_STATUSES,
        "resend_form": (OrderEmailResendForm() if resend_form is None else resend_form),
        "email_events": order_email_events(order_id=order.pk),
        "email_problem": email is not None and email.delivery in EMAIL_PROBLEMS,
        "download_counts": order_download_counts(order=order),
    }
    return render(request, "dashboard/orders/order_detail.html", context)


@login_required
@require_GET
def seller_order(request: SellerRequest, pk: int) -> HttpResponse:
    order = _get_order_for_seller(request, pk)
    return _render_order(request, order)


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


# --- After the sale: refund and cancel, each confirmed on a page of its own -------
# The order page's form posts here; the first post shows what will happen and
# asks to confirm (a plain form, no script), the confirmed post does it.
CONFIRMED = "confirmed"


def _seller(request: SellerRequest) -> Actor:
    return Actor.seller(user_id=request.user.pk, username=request.user.get_username())


def _confirm_page(request: SellerRequest, order: Order, **context) -> HttpResponse:
    context = {"order": order, "confirmed": CONFIRMED, **context}
    return render(request, "dashboard/orders/order_confirm.html", context)


def _refused_on_form(request: SellerRequest, form, exc: OrderError, what: str):
    """Put a refusal next to the fields it names, or above the form, and say so."""
    for field, field_messages in exc.fields.items():
        for message in field_messages:
            form.add_error(field if field in form.fields else None, message)
    if exc.fields:
        messages.error(request, f"Not {what}: please correct the field below.")
    else:
        form.add_error(None, exc.message)
        messages.error(request, f"Not {what}: {exc.message}")


@login_required
def seller_order_refund(request: SellerRequest, pk: int) -> HttpResponse:
    order = _get_order_for_seller(request, pk)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    form = SellerRefundForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Not refunded: please correct the field below.")
        return _render_order(request, order, refund_form=form)
    if CONFIRMED not in request.POST:
        return _refund_confirm(request, order, form)
    return _refund_apply(request, order, form)


def _refund_confirm(
    request: SellerRequest, order: Order, form: SellerRefundForm
) -> HttpResponse:
    """The page asking to confirm a refund, unless it would be refused anyway."""
    try:
        order_refund_preview(order=order, amount=form.cleaned_data["amount"])
    except OrderError as exc:
        _refused_on_form(request, form, exc, "refunded")
        return _render_order(request, order, refund_form=form)
    # The nonce makes the confirmed form one refund, however often it is sent.
    confirm = SellerRefundForm(
        initial={**form.cleaned_data, "nonce": secrets.token_urlsafe(24)}
    )
    return _confirm_page(
        request, order, action="refund", form=confirm, values=form.cleaned_data
    )


def _refund_apply(
    request: SellerRequest, order: Order, form: SellerRefundForm
) -> HttpResponse:
    amount = form.cleaned_data["amount"]
    try:
        _, created = order_refund(
            order_id=order.pk,
            amount=amount,
            reason=form.cleaned_data["reason"],
            actor=_seller(request),
            form_nonce=form.cleaned_data["nonce"],
        )
    except OrderError as exc:
        _refused_on_form(request, form, exc, "refunded")
        return _render_order(request, order, refund_form=form)
    if created:
        messages.success(request, f"Refunded {amount} {order.currency}.")
    else:
        messages.info(request, f"This refund of {amount} {order.currency} was made.")
    return redirect("orders:seller-order", pk=order.pk)


@login_required
def seller_order_cancel(request: SellerRequest, pk: int) -> HttpResponse:
    order = _get_order_for_seller(request, pk)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    form = SellerCancelForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Not cancelled: please correct the field below.")
        return _render_order(request, order, cancel_form=form)
    if CONFIRMED not in request.POST:
        return _confirm_page(
            request, order, action="cancel", form=form, values=form.cleaned_data
        )
    try:
        order_cancel(
            order_id=order.pk,
            reason=form.cleaned_data["reason"],
            actor=_seller(request),
        )
    except OrderError as exc:
        _refused_on_form(request, form, exc, "cancelled")
        return _render_order(request, order, cancel_form=form)
    messages.success(
        request,
        "Order cancelled: nothing more is sent to your server for it, and the "
        "customer gets no license.",
    )
    return redirect("orders:seller-order", pk=order.pk)
