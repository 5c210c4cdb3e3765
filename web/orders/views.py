"""Public pages: a live product, its checkout, and the customer's order page.

The seller's order pages are in `seller_views`.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from downloads.links import download_link_lifetime
from downloads.selectors import order_download_links
from keylists.selectors import key_list_free_count
from orders.aftersale import order_is_closed
from orders.checkout_tokens import checkout_token_issue
from orders.errors import OrderError
from orders.models import FulfillmentStatus
from orders.payments import PaymentDeclined, get_provider
from products.models import Product
from web.orders.forms import CheckoutForm, CheckoutLinkForm
from web.orders.selectors import (
    order_after_sale,
    order_deliveries,
    order_get_by_token,
    order_instructions,
    order_licenses,
    order_pending_by_token,
    product_get_live,
)
from web.orders.services import checkout_submit

# Without JavaScript: seconds between reloads of the order page while the
# license is on its way. With it, static/js/order.js asks `order_status` every
# ORDER_POLL_SECONDS (the page's data-poll-seconds) and reloads once it is there.
PENDING_REFRESH_SECONDS = 5
ORDER_POLL_SECONDS = 1


def _get_live_product(slug: str) -> Product:
    product = product_get_live(slug=slug)
    if product is None:
        raise Http404("No such product.")
    return product


def _product_page(
    request: HttpRequest,
    product: Product,
    form: CheckoutForm,
    link_errors: list[str] | None = None,
) -> HttpResponse:
    """The product with its checkout form; or, for a link whose passthrough was
    refused, with why instead of the form (see the template)."""
    if link_errors is None and form.is_bound:
        # A posted form's passthrough is the link's, carried in a hidden field.
        link_errors = _messages(form.errors.get("passthrough", []))
    context = {
        "product": product,
        "form": form,
        "link_errors": link_errors,
        "provider": get_provider(),
        # A key list without keys left: no form to pay for what cannot be sent.
        "sold_out": product.uses_key_list
        and not key_list_free_count(product_id=product.pk),
        # A fresh token for every page shown: one form, at most one order.
        "checkout_token": checkout_token_issue(product_pk=product.pk),
    }
    status = 400 if link_errors else 200
    response = render(request, "public/product.html", context, status=status)
    # A cached page would hand the same token to several buyers.
    response["Cache-Control"] = "no-store"
    return response


def _messages(errors: Iterable) -> list[str]:
    return [str(error) for error in errors]


@require_http_methods(["GET"])
def product_detail(request: HttpRequest, slug: str) -> HttpResponse:
    product = _get_live_product(slug)
    link = CheckoutLinkForm(request.GET)
    if not link.is_valid():
        form = CheckoutForm(collect_name=product.collect_customer_name)
        errors = _messages(link.errors["passthrough"])
        return _product_page(request, product, form, errors)
    form = CheckoutForm(
        collect_name=product.collect_customer_name,
        initial={"passthrough": link.cleaned_data["passthrough"]},
    )
    return _product_page(request, product, form)


@require_http_methods(["POST"])
def checkout(request: HttpRequest, slug: str) -> HttpResponse:
    product = _get_live_product(slug)
    form = CheckoutForm(request.POST, collect_name=product.collect_customer_name)
    if not form.is_valid():
        return _product_page(request, product, form)
    try:
        order = checkout_submit(product=product, **form.cleaned_data)
    except PaymentDeclined as exc:
        form.add_error(None, exc.message)
        return _product_page(request, product, form)
    except OrderError as exc:
        for field, messages in exc.fields.items():
            for message in messages:
                form.add_error(field if field in form.fields else None, message)
        if not exc.fields:
            form.add_error(None, exc.message)
        return _product_page(request, product, form)
    return redirect("orders:order", token=order.token)


@require_http_methods(["GET"])
def order_detail(request: HttpRequest, token: str) -> HttpResponse:
    order = order_get_by_token(token=token)
    if order is None:
        raise Http404("No such order.")
    after_sale = order_after_sale(order=order)
    pending = order.fulfillment_status == FulfillmentStatus.PENDING and not (
        order_is_closed(order)
    )
    deliveries = order_deliveries(order=order)
    context = {
        "order": order,
        "after_sale": after_sale,
        "deliveries": deliveries,
        "licenses": order_licenses(deliveries=deliveries),
        "instructions": order_instructions(order=order),
        # Fresh links on every visit: that is how a customer renews them.
        "downloads": order_download_links(order=order),
        "download_link_lifetime": download_link_lifetime(),
        "pending": pending,
        "refresh_seconds": PENDING_REFRESH_SECONDS,
        "poll_seconds": ORDER_POLL_SECONDS,
    }
    return _private(render(request, "public/order.html", context))


@require_http_methods(["GET"])
def order_status(request: HttpRequest, token: str) -> HttpResponse:
    """Whether the order page would still say "on its way": what the page's
    script polls, so that a license shows within a second of arriving."""
    pending = order_pending_by_token(token=token)
    if pending is None:
        raise Http404("No such order.")
    return _private(JsonResponse({"pending": pending}))


def _private(response: HttpResponse) -> HttpResponse:
    """The order's secret URL must not leak to other sites through the Referer
    header, and nothing on it is stored."""
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "no-store"
    return response
