"""The Webhook Editor and its test request. Thin: parse, call one service, render."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts.http import SellerRequest
from config.csp import email_preview_csp
from fulfillment.services.config import (
    STANDARD_FIELDS,
    webhook_config_get_or_create,
    webhook_config_save,
    webhook_config_secret_regenerate,
)
from fulfillment.services.testing import (
    webhook_test_run,
    webhook_test_run_emails,
    webhook_test_run_get,
)
from keylists.selectors import key_list_fallback_of
from keylists.services import key_list_fallback_save
from lib.rendering import render_markdown
from products.models import Product
from web.products.checklist import (
    checklist_item_done,
    checklist_missing,
    product_checklist,
)
from web.products.selectors import product_of_seller

from .forms import (
    EXTRA_ROWS,
    CustomFieldFormSet,
    KeyListFallbackForm,
    WebhookConfigForm,
)
from .snippets import verification_snippets

# The fallback section's fields are named fallback-enabled, fallback-minutes.
FALLBACK_PREFIX = "fallback"
# Longer Instructions than this are not a preview anybody reads.
INSTRUCTIONS_PREVIEW_MAX = 20_000


def _with_more_rows(data, prefix: str):
    """The posted data with EXTRA_ROWS more blank custom-field rows (no JS needed)."""
    data = data.copy()
    key = f"{prefix}-TOTAL_FORMS"
    data[key] = str(int(data.get(key) or 0) + EXTRA_ROWS)
    return data


def _fallback_form(product: Product, data=None) -> KeyListFallbackForm:
    """The fallback section, bound to a post that has it. A post without it (a
    script written before the section existed) leaves the fallback as saved:
    an absent checkbox would otherwise read as "off"."""
    if data is not None and f"{FALLBACK_PREFIX}-minutes" not in data:
        data = None
    saved = key_list_fallback_of(product_id=product.pk)
    initial = {"enabled": saved.enabled, "minutes": saved.minutes}
    return KeyListFallbackForm(data, initial=initial, prefix=FALLBACK_PREFIX)


def _fallback_save(product: Product, form: KeyListFallbackForm) -> bool:
    if not form.is_bound:
        return False
    return key_list_fallback_save(product_id=product.pk, **form.cleaned_data)


def _saved_message(request: SellerRequest, *, config: bool, fallback: bool) -> None:
    if config:
        messages.success(request, "Webhook saved. Send a test request next.")
    elif fallback:
        # The fallback changes no request: the last test request still counts.
        messages.success(request, "Fallback saved.")
    else:
        messages.info(request, "Nothing changed.")


@login_required
@email_preview_csp
def config_edit(request: SellerRequest, pk: int) -> HttpResponse:
    product = product_of_seller(seller=request.user, pk=pk)
    config = webhook_config_get_or_create(product=product)
    form_kwargs = {"product": product}
    if request.method != "POST":
        form = WebhookConfigForm(instance=config)
        formset = CustomFieldFormSet(instance=config, form_kwargs=form_kwargs)
        fallback_form = _fallback_form(product)
    elif "add_rows" in request.POST or "preview_instructions" in request.POST:
        # Neither saves: more blank rows, or the typed Instructions rendered.
        form = WebhookConfigForm(request.POST, instance=config)
        data = request.POST
        if "add_rows" in request.POST:
            data = _with_more_rows(data, CustomFieldFormSet.get_default_prefix())
        formset = CustomFieldFormSet(data, instance=config, form_kwargs=form_kwargs)
        fallback_form = _fallback_form(product, request.POST)
    else:
        form = WebhookConfigForm(request.POST, instance=config)
        formset = CustomFieldFormSet(
            request.POST, instance=config, form_kwargs=form_kwargs
        )
        fallback_form = _fallback_form(product, request.POST)
        # Every form validated, so each shows its errors at once.
        fallback_valid = not fallback_form.is_bound or fallback_form.is_valid()
        if all([form.is_valid(), formset.is_valid(), fallback_valid]):
            changed = webhook_config_save(
                config=config, **form.values(), custom_fields=formset.rows()
            )
            fallback_changed = _fallback_save(product, fallback_form)
            _saved_message(request, config=changed, fallback=fallback_changed)
            return redirect("fulfillment:config-edit", pk=product.pk)
        messages.error(request, "Not saved: please correct the fields marked below.")
    saved = webhook_config_get_or_create(product=product)
    context = {
        "product": product,
        "config": saved,
        "form": form,
        "formset": formset,
        "fallback_form": fallback_form,
        "fallback": key_list_fallback_of(product_id=product.pk),
        "standard_fields": STANDARD_FIELDS,
        "missing": checklist_missing(product_checklist(product)),
        "snippets": verification_snippets(saved),
        "answer_timeout": settings.FULFILLMENT["TOTAL_TIMEOUT"],
        "instructions_html": render_markdown(form["instructions"].value() or ""),
    }
    return render(request, "dashboard/webhook_editor.html", context)


@login_required
@require_POST
def config_secret_regenerate(request: SellerRequest, pk: int) -> HttpResponse:
    product = product_of_seller(seller=request.user, pk=pk)
    config = webhook_config_get_or_create(product=product)
    webhook_config_secret_regenerate(config=config)
    messages.success(
        request,
        "New signing secret created. The previous one keeps signing for 24 hours "
        "while you deploy the new one.",
    )
    return redirect("fulfillment:config-edit", pk=product.pk)


@login_required
@require_GET
def config_secret_reveal(request: SellerRequest, pk: int) -> HttpResponse:
    """The signing secret on a page of its own, asked for: the editor's HTML
    carries only its last four characters (signed-in pages are never stored)."""
    product = product_of_seller(seller=request.user, pk=pk)
    config = webhook_config_get_or_create(product=product)
    context = {"product": product, "config": config}
    return render(request, "dashboard/webhook_secret.html", context)


def _wants_fragment(request: SellerRequest) -> bool:
    """The editor's script asks for a page fragment instead of a redirect."""
    return request.headers.get("X-Requested-With") == "fetch"


def _test_result_context(product: Product, run) -> dict:
    items = product_checklist(product)
    return {
        "product": product,
        "run": run,
        "emails": webhook_test_run_emails(product=product, run=run),
        "checklist_test_done": checklist_item_done(items, "test_delivery"),
        "missing": checklist_missing(items),
    }


@login_required
@require_POST
@email_preview_csp
def config_test(request: SellerRequest, pk: int) -> HttpResponse:
    product = product_of_seller(seller=request.user, pk=pk)
    webhook_config_get_or_create(product=product)
    run = webhook_test_run(product=product)
    if _wants_fragment(request):
        context = _test_result_context(product, run)
        return render(request, "dashboard/_test_result.html", context)
    failure = run.first_failure()
    if failure is None:
        messages.success(request, "Test request succeeded.")
    else:
        messages.error(request, f"Test request failed: {failure.last_error}")
    return redirect(
        "fulfillment:config-test-result", pk=product.pk, delivery_id=run.run_id
    )


@login_required
@email_preview_csp
def config_test_result(
    request: SellerRequest, pk: int, delivery_id: str
) -> HttpResponse:
    product = product_of_seller(seller=request.user, pk=pk)
    run = webhook_test_run_get(product=product, run_id=delivery_id)
    context = _test_result_context(product, run)
    return render(request, "dashboard/webhook_test_result.html", context)


@login_required
@require_POST
def config_instructions_preview(request: SellerRequest, pk: int) -> HttpResponse:
    """The Instructions as the customer's email shows them (same renderer)."""
    product_of_seller(seller=request.user, pk=pk)
    text = request.POST.get("instructions", "")[:INSTRUCTIONS_PREVIEW_MAX]
    return HttpResponse(render_markdown(text), content_type="text/html; charset=utf-8")
