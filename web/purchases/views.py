""" "Find my purchase": the form, its one answer, and the emailed link's list of
the address's orders. Public: the emailed link is the only credential."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from accounts.http import client_ip
from emails.purchases import purchases_link_lifetime
from orders.purchases import LinkState, customer_orders, purchases_link_check
from web.purchases.forms import PurchasesFindForm
from web.purchases.services import LinkRequest, purchases_link_request

# What the form page says, and answers, when no link was asked for.
REFUSALS = {
    LinkRequest.LIMITED: (
        429,
        "Too many links were asked for from here or for this address. "
        "Try again in an hour.",
    ),
    LinkRequest.UNAVAILABLE: (
        503,
        "We cannot send links right now. Try again in a few minutes.",
    ),
}
LINK_STATUS = {LinkState.EXPIRED: 410, LinkState.INVALID: 404}


@require_http_methods(["GET", "POST"])
def purchases_find(request: HttpRequest) -> HttpResponse:
    form = PurchasesFindForm(request.POST or None)
    if request.method != "POST" or not form.is_valid():
        return _find_page(request, form)
    outcome = purchases_link_request(
        email=form.cleaned_data["email"], client_ip=client_ip(request)
    )
    if outcome is LinkRequest.SENT:
        return redirect("purchases:sent")
    status, refusal = REFUSALS[outcome]
    return _find_page(request, form, refusal=refusal, status=status)


@require_GET
def purchases_sent(request: HttpRequest) -> HttpResponse:
    """The one answer, whether or not the address has orders."""
    context = {"lifetime": purchases_link_lifetime()}
    return render(request, "public/purchases_sent.html", context)


@require_GET
def purchases_list(request: HttpRequest, token: str) -> HttpResponse:
    check = purchases_link_check(token=token)
    if check.state is not LinkState.VALID:
        return _private(_link_refused(request, check.state))
    context = {"email": check.email, "orders": customer_orders(email=check.email)}
    return _private(render(request, "public/purchases_list.html", context))


def _link_refused(request: HttpRequest, state: LinkState) -> HttpResponse:
    """Why the link opens nothing, with the form to ask for a new one."""
    context = {"expired": state is LinkState.EXPIRED, "form": PurchasesFindForm()}
    template = "public/purchases_link.html"
    return render(request, template, context, status=LINK_STATUS[state])


def _find_page(
    request: HttpRequest,
    form: PurchasesFindForm,
    *,
    refusal: str = "",
    status: int = 200,
) -> HttpResponse:
    context = {"form": form, "refusal": refusal}
    return render(request, "public/purchases_find.html", context, status=status)


def _private(response: HttpResponse) -> HttpResponse:
    """The link is a credential: it must not leak to the order pages' Referer
    (nor anywhere else), and nothing on the page is stored."""
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "no-store"
    return response
