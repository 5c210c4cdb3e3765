"""The Alerts page: the seller's account-wide webhook, its secret, its test and
its log. Thin: parse, call one service, render. Every page is the signed-in
seller's own: nothing here takes another seller's id, and an alert is found only
among the seller's (`fulfillment.selectors.alerts.alert_of_seller`)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts.http import SellerRequest
from fulfillment.models import DUE_STATUSES, AlertEndpoint
from fulfillment.selectors.alerts import (
    ALERT_COUNT_DAYS,
    alert_counts,
    alert_of_seller,
    alerts_for_seller,
)
from fulfillment.services.alert_engine import alert_retry_now, alert_test_send
from fulfillment.services.alerts import (
    ALERT_API_VERSION,
    alert_endpoint_get_or_create,
    alert_endpoint_save,
    alert_endpoint_secret_regenerate,
)
from web.fulfillment.snippets import alert_snippets

from .forms import AlertEndpointForm

ALERTS_PER_PAGE = 25


def _endpoint(request: SellerRequest) -> AlertEndpoint:
    return alert_endpoint_get_or_create(seller_id=request.user.pk)


@login_required
def alerts_edit(request: SellerRequest) -> HttpResponse:
    endpoint = _endpoint(request)
    if request.method == "POST":
        form = AlertEndpointForm(request.POST)
        if form.is_valid():
            changed = alert_endpoint_save(endpoint=endpoint, **form.cleaned_data)
            if changed:
                messages.success(request, "Alerts saved. Send a test alert next.")
            else:
                messages.info(request, "Nothing changed.")
            return redirect("alerts:edit")
        messages.error(request, "Not saved: please correct the fields marked below.")
    else:
        form = AlertEndpointForm(
            initial={"url": endpoint.url, "events": endpoint.events}
        )
    alerts = alerts_for_seller(seller_id=request.user.pk)
    page = Paginator(alerts, ALERTS_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "endpoint": endpoint,
        "form": form,
        "page": page,
        "alerts": page.object_list,
        "counts": alert_counts(seller_id=request.user.pk),
        "count_days": ALERT_COUNT_DAYS,
        "snippets": alert_snippets(),
        "api_version": ALERT_API_VERSION,
        "answer_timeout": settings.FULFILLMENT["TOTAL_TIMEOUT"],
    }
    return render(request, "dashboard/alerts/alerts.html", context)


@login_required
@require_POST
def alerts_secret_regenerate(request: SellerRequest) -> HttpResponse:
    alert_endpoint_secret_regenerate(endpoint=_endpoint(request))
    messages.success(
        request,
        "New Alerts signing secret created. The previous one keeps signing for 24 "
        "hours while you deploy the new one.",
    )
    return redirect("alerts:edit")


@login_required
@require_GET
def alerts_secret_reveal(request: SellerRequest) -> HttpResponse:
    """The Alerts signing secret on a page of its own, asked for: the Alerts
    page carries only its last four characters."""
    context = {"endpoint": _endpoint(request)}
    return render(request, "dashboard/alerts/alert_secret.html", context)


@login_required
@require_POST
def alerts_test(request: SellerRequest) -> HttpResponse:
    endpoint = _endpoint(request)
    if not endpoint.url:
        messages.error(request, "Save an Alerts URL first.")
        return redirect("alerts:edit")
    alert = alert_test_send(seller_id=request.user.pk)
    if alert.status == "succeeded":
        messages.success(request, "Test alert accepted by your server.")
    else:
        messages.error(request, f"Test alert failed: {alert.last_error}")
    return redirect("alerts:detail", alert_id=alert.alert_id)


@login_required
@require_GET
def alert_detail(request: SellerRequest, alert_id: str) -> HttpResponse:
    alert = alert_of_seller(seller_id=request.user.pk, alert_id=alert_id)
    context = {
        "alert": alert,
        "attempts": alert.attempts.order_by("number"),
        "due": DUE_STATUSES,
    }
    return render(request, "dashboard/alerts/alert_detail.html", context)


@login_required
@require_POST
def alert_retry(request: SellerRequest, alert_id: str) -> HttpResponse:
    alert = alert_of_seller(seller_id=request.user.pk, alert_id=alert_id)
    if alert_retry_now(seller_id=request.user.pk, alert_id=alert.alert_id):
        messages.success(request, "Sending this alert again now.")
    else:
        messages.error(request, "Only a failed alert can be sent again.")
    return redirect("alerts:detail", alert_id=alert.alert_id)
