"""Seller dashboard pages for products. Thin: parse, call one service, render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.http import SellerRequest
from config.csp import email_preview_csp
from downloads.selectors import product_files
from emails.build import order_email_preview
from fulfillment.models import Delivery, WebhookConfig
from fulfillment.selectors.health import product_health, seller_health
from keylists.selectors import key_list_stock

from . import services
from .checklist import checklist_missing, product_checklist
from .forms import ProductForm
from .selectors import product_of_seller, products_for_seller


@login_required
def product_list(request: SellerRequest) -> HttpResponse:
    products = list(products_for_seller(seller=request.user))
    summary = seller_health(products)
    rows = [(product, summary.products[product.pk]) for product in products]
    context = {"products": products, "rows": rows, "summary": summary}
    return render(request, "dashboard/product_list.html", context)


@login_required
def product_create(request: SellerRequest) -> HttpResponse:
    form = ProductForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        product = services.product_create(seller=request.user, **form.cleaned_data)
        messages.success(request, f"“{product.name}” created as a draft.")
        if product.uses_webhook:
            return redirect("fulfillment:config-edit", pk=product.pk)
        if product.uses_key_list:
            return redirect("keylists:list", pk=product.pk)
        return redirect("products:detail", pk=product.pk)
    return render(request, "dashboard/product_form.html", {"form": form})


@login_required
def product_detail(request: SellerRequest, pk: int) -> HttpResponse:
    product = product_of_seller(seller=request.user, pk=pk)
    items = product_checklist(product)
    context = {
        "product": product,
        "config": WebhookConfig.objects.filter(product=product).first(),
        "checklist": items,
        "missing": checklist_missing(items),
        "deliveries": Delivery.objects.filter(product=product, is_test=False)[:10],
        "health": product_health(product) if product.uses_webhook else None,
        "files": product_files(product_id=product.pk),
        "key_stock": (
            key_list_stock(product_id=product.pk) if product.uses_key_list else None
        ),
    }
    return render(request, "dashboard/product_detail.html", context)


@login_required
def product_edit(request: SellerRequest, pk: int) -> HttpResponse:
    product = product_of_seller(seller=request.user, pk=pk)
    # The form works on its own copy, so a rejected edit does not rename the page.
    form = ProductForm(
        request.POST or None, instance=product_of_seller(seller=request.user, pk=pk)
    )
    if request.method == "POST" and form.is_valid():
        services.product_update(product=product, **form.cleaned_data)
        messages.success(request, "Product saved.")
        return redirect("products:detail", pk=product.pk)
    return render(
        request, "dashboard/product_form.html", {"form": form, "product": product}
    )


@login_required
def product_checklist_view(request: SellerRequest, pk: int) -> HttpResponse:
    product = product_of_seller(seller=request.user, pk=pk)
    items = product_checklist(product)
    context = {
        "product": product,
        "checklist": items,
        "missing": checklist_missing(items),
    }
    return render(request, "dashboard/checklist.html", context)


@login_required
@require_POST
def product_publish(request: SellerRequest, pk: int) -> HttpResponse:
    product = product_of_seller(seller=request.user, pk=pk)
    missing = services.product_publish(product=product)
    if missing:
        messages.error(
            request, "Not published yet. Still to do: " + ", ".join(missing) + "."
        )
    else:
        messages.success(request, f"“{product.name}” is live.")
    return redirect("products:checklist", pk=product.pk)


@login_required
@require_POST
def product_unpublish(request: SellerRequest, pk: int) -> HttpResponse:
    product = product_of_seller(seller=request.user, pk=pk)
    services.product_unpublish(product=product)
    messages.success(request, f"“{product.name}” is back to draft.")
    return redirect("products:checklist", pk=product.pk)


@login_required
@email_preview_csp
def product_email_preview(request: SellerRequest, pk: int) -> HttpResponse:
    product = product_of_seller(seller=request.user, pk=pk)
    previews = [
        (quantity, order_email_preview(product=product, quantity=quantity))
        for quantity in (1, 3)
    ]
    services.product_email_preview_seen(product=product)
    config = WebhookConfig.objects.filter(product=product).first()
    context = {"product": product, "config": config, "previews": previews}
    return render(request, "dashboard/email_preview.html", context)
