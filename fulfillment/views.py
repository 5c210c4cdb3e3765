"""The Webhook Editor and its test request. Thin: parse, call one service, render."""

from __future__ import annotations

from csp.decorators import csp_update
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from products.checklist import checklist_missing, product_checklist
from products.models import Product

from .emails import order_email_preview
from .forms import EXTRA_ROWS, CustomFieldFormSet, WebhookConfigForm
from .models import Delivery, DeliveryStatus
from .payload import STANDARD_FIELDS
from .services.config import (
    webhook_config_get_or_create,
    webhook_config_save,
    webhook_config_secret_regenerate,
)
from .services.deliveries import delivery_test_send


def get_product_for_seller(request: HttpRequest, pk: int) -> Product:
    """The product if the logged-in seller owns it; 404 for everyone else."""
    return get_object_or_404(Product, pk=pk, seller=request.user)


def _with_more_rows(data, prefix: str):
    """The posted data with EXTRA_ROWS more blank custom-field rows (no JS needed)."""
    data = data.copy()
    key = f"{prefix}-TOTAL_FORMS"
    data[key] = str(int(data.get(key) or 0) + EXTRA_ROWS)
    return data


@login_required
def config_edit(request: HttpRequest, pk: int) -> HttpResponse:
    product = get_product_for_seller(request, pk)
    config = webhook_config_get_or_create(product=product)
    form_kwargs = {"product": product}
    if request.method != "POST":
        form = WebhookConfigForm(instance=config)
        formset = CustomFieldFormSet(instance=config, form_kwargs=form_kwargs)
    elif "add_rows" in request.POST:
        form = WebhookConfigForm(request.POST, instance=config)
        data = _with_more_rows(request.POST, CustomFieldFormSet.get_default_prefix())
        formset = CustomFieldFormSet(data, instance=config, form_kwargs=form_kwargs)
    else:
        form = WebhookConfigForm(request.POST, instance=config)
        formset = CustomFieldFormSet(
            request.POST, instance=config, form_kwargs=form_kwargs
        )
        if form.is_valid() and formset.is_valid():
            if webhook_config_save(config=config, form=form, formset=formset):
                messages.success(request, "Webhook saved. Send a test request next.")
            else:
                messages.info(request, "Nothing changed.")
            return redirect("fulfillment:config-edit", pk=product.pk)
        messages.error(request, "Not saved: please correct the fields marked below.")
    saved = webhook_config_get_or_create(product=product)
    context = {
        "product": product,
        "config": saved,
        "form": form,
        "formset": formset,
        "standard_fields": STANDARD_FIELDS,
        "missing": checklist_missing(product_checklist(product)),
    }
    return render(request, "dashboard/webhook_editor.html", context)


@login_required
@require_POST
def config_secret_regenerate(request: HttpRequest, pk: int) -> HttpResponse:
    product = get_product_for_seller(request, pk)
    config = webhook_config_get_or_create(product=product)
    webhook_config_secret_regenerate(config=config)
    messages.success(
        request,
        "New signing secret created. The previous one keeps signing for 24 hours "
        "while you deploy the new one.",
    )
    return redirect("fulfillment:config-edit", pk=product.pk)


@login_required
@require_POST
def config_test(request: HttpRequest, pk: int) -> HttpResponse:
    product = get_product_for_seller(request, pk)
    webhook_config_get_or_create(product=product)
    delivery = delivery_test_send(product=product)
    if delivery.status == DeliveryStatus.SUCCEEDED:
        messages.success(request, "Test delivery succeeded.")
    else:
        messages.error(request, f"Test delivery failed: {delivery.last_error}")
    return redirect(
        "fulfillment:config-test-result",
        pk=product.pk,
        delivery_id=delivery.delivery_id,
    )


# The email preview is an iframe srcdoc: it inherits this page's policy, and an
# email's HTML is styled inline. Only these pages allow inline styles.
EMAIL_PREVIEW_CSP = {"style-src": ["'self'", "'unsafe-inline'"]}


@login_required
@csp_update(EMAIL_PREVIEW_CSP)
def config_test_result(request: HttpRequest, pk: int, delivery_id: str) -> HttpResponse:
    product = get_product_for_seller(request, pk)
    delivery = get_object_or_404(
        Delivery, product=product, is_test=True, delivery_id=delivery_id
    )
    succeeded = delivery.status == DeliveryStatus.SUCCEEDED
    preview = None
    if succeeded:
        preview = order_email_preview(
            product=product,
            quantity=delivery.quantity,
            licenses=[delivery.response_text],
        )
    context = {
        "product": product,
        "delivery": delivery,
        "succeeded": succeeded,
        "attempt": delivery.attempts.order_by("-number").first(),
        "preview": preview,
    }
    return render(request, "dashboard/webhook_test_result.html", context)
