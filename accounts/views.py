"""Sign-up and its confirmation link; Django's auth views do the rest."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.views import PasswordResetView
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from .forms import ConfirmationResendForm, SignupForm
from .http import client_ip
from .limits import account_email_refusal
from .selectors import signup_pending_for_link
from .services import (
    UsernameTaken,
    seller_confirm,
    seller_confirmation_resend,
    seller_signup,
)
from .tokens import confirmation_link_lifetime

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
FILE_EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("products:list")
    form = SignupForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        refusal = _refusal(request, form.cleaned_data["email"])
        if refusal:
            status, message = refusal
            form.add_error(None, message)
        else:
            try:
                seller_signup(**form.values())
            except UsernameTaken:
                form.add_username_taken_error()
            else:
                return redirect("signup-sent")
    return render(request, "registration/signup.html", {"form": form}, status=status)


def signup_sent(request: HttpRequest) -> HttpResponse:
    """The "Check your inbox" page: the one answer to every sign-up and resend."""
    context = {"lifetime": confirmation_link_lifetime(), "dev_mail_dir": _mail_dir()}
    return render(request, "registration/signup_sent.html", context)


@require_http_methods(["GET", "POST"])
def signup_confirm(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    """GET asks for a click, POST activates: mail scanners that open links
    must not use up the link, nor log themselves in."""
    if request.method == "GET":
        valid = signup_pending_for_link(uidb64=uidb64, token=token) is not None
        return _confirm_page(request, valid=valid)
    result = seller_confirm(uidb64=uidb64, token=token)
    if result.user is None:
        return _confirm_page(request, address_taken=result.address_taken)
    login(request, result.user, backend=MODEL_BACKEND)
    messages.success(
        request,
        f"Welcome, {result.user.get_username()}: your address is confirmed. "
        "Create your first product to start selling.",
    )
    return redirect("products:list")


@require_http_methods(["GET", "POST"])
def signup_resend(request: HttpRequest) -> HttpResponse:
    form = ConfirmationResendForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        refusal = _refusal(request, form.cleaned_data["email"])
        if refusal is None:
            seller_confirmation_resend(email=form.cleaned_data["email"])
            return redirect("signup-sent")
        status, message = refusal
        form.add_error(None, message)
    context = {"form": form}
    return render(request, "registration/signup_resend.html", context, status=status)


class LimitedPasswordResetView(PasswordResetView):
    """Django's password reset, counted like the sign-up's emails."""

    def form_valid(self, form):
        refusal = _refusal(self.request, form.cleaned_data["email"])
        if refusal is None:
            return super().form_valid(form)
        status, message = refusal
        form.add_error(None, message)
        return self.render_to_response(self.get_context_data(form=form), status=status)


def _refusal(request: HttpRequest, email: str) -> tuple[int, str] | None:
    return account_email_refusal(email=email, client_ip=client_ip(request))


def _confirm_page(
    request: HttpRequest, *, valid: bool = False, address_taken: bool = False
) -> HttpResponse:
    context = {
        "valid": valid,
        "address_taken": address_taken,
        "resend_form": ConfirmationResendForm(),
    }
    return render(request, "registration/signup_confirm.html", context)


def _mail_dir() -> str | None:
    """In development with the file backend, where the emails are, so a new
    seller trying `make run` finds the link. Never the link itself."""
    if not (settings.DEBUG and settings.EMAIL_BACKEND == FILE_EMAIL_BACKEND):
        return None
    path = Path(settings.EMAIL_FILE_PATH)
    if path.is_relative_to(settings.BASE_DIR):
        return f"{path.relative_to(settings.BASE_DIR)}/"
    return f"{path}/"
