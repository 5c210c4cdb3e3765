"""The seller's license key list page of a product: stock, keys added (pasted
or uploaded), unused keys removed, used keys with their orders, and the
low-stock threshold. Thin: parse, call one service, render. Keys are added
through fulfillment's `key_list_keys_add`, which serves the orders waiting for
them once they are committed."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts.http import SellerRequest
from fulfillment.services.keylist import key_list_keys_add
from keylists import services
from keylists.selectors import key_list_stock, license_keys_of_product
from products.models import Product
from web.products.selectors import product_of_seller

from .forms import KeyUploadForm, ThresholdForm

KEYS_PER_PAGE = 50


def _page(
    request: SellerRequest,
    product: Product,
    *,
    upload: KeyUploadForm | None = None,
    threshold: ThresholdForm | None = None,
) -> HttpResponse:
    used = request.GET.get("show") == "used"
    keys = license_keys_of_product(product_id=product.pk, used=used)
    context = {
        "product": product,
        "stock": key_list_stock(product_id=product.pk),
        "upload": upload or KeyUploadForm(),
        "threshold": threshold
        or ThresholdForm(instance=services.key_list_for(product_id=product.pk)),
        "show_used": used,
        "page": Paginator(keys, KEYS_PER_PAGE).get_page(request.GET.get("page")),
    }
    status = 400 if (upload or threshold) else 200
    return render(request, "dashboard/keylists/key_list.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def key_list_page(request: SellerRequest, pk: int) -> HttpResponse:
    product = product_of_seller(seller=request.user, pk=pk)
    if request.method == "GET":
        return _page(request, product)
    form = KeyUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _page(request, product, upload=form)
    try:
        added = key_list_keys_add(product_id=product.pk, **form.keys_input())
    except services.KeyListError as exc:
        for error in exc.messages:
            form.add_error(form.source_field, error)
        return _page(request, product, upload=form)
    messages.success(request, f"{added} key{'s' if added != 1 else ''} added.")
    return redirect("keylists:list", pk=product.pk)


@login_required
@require_POST
def key_list_threshold(request: SellerRequest, pk: int) -> HttpResponse:
    product = product_of_seller(seller=request.user, pk=pk)
    form = ThresholdForm(request.POST)
    if not form.is_valid():
        return _page(request, product, threshold=form)
    services.key_list_threshold_save(
        product_id=product.pk, threshold=form.cleaned_data["low_stock_threshold"]
    )
    messages.success(request, "Low-stock alert saved.")
    return redirect("keylists:list", pk=product.pk)


@login_required
@require_POST
def license_key_remove(request: SellerRequest, pk: int, key_id: int) -> HttpResponse:
    product = product_of_seller(seller=request.user, pk=pk)
    if services.license_key_remove(product_id=product.pk, key_id=key_id):
        messages.success(request, "Key removed.")
    else:
        messages.error(
            request,
            "That key was not removed: a key given to an order stays on record "
            "(or it is no longer in this list).",
        )
    return redirect("keylists:list", pk=product.pk)
