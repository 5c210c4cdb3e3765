"""The two emails of sign-up: the confirmation link to a new address, and to an
address that already has an account, a note that someone tried to sign up.

Like Django's password reset, a send that fails is logged, not raised: what a
visitor sees after signing up must not depend on which email was due, or on
whether one was. (Built here, not with `emails.messages`: the emails app depends
on orders, which depends on accounts, and accounts stays at the bottom.)
"""

from __future__ import annotations

import logging

from anymail.message import AnymailMessage
from django.conf import settings
from django.contrib.auth.models import User
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from .tokens import confirmation_link_lifetime, signup_confirmation_token

logger = logging.getLogger(__name__)


def confirmation_url(user: User) -> str:
    uidb64 = urlsafe_base64_encode(force_bytes(user.pk))
    token = signup_confirmation_token.make_token(user)
    return settings.SITE_URL + reverse("signup-confirm", args=[uidb64, token])


def signup_confirmation_email_send(*, user: User) -> None:
    _send(
        template="signup_confirm",
        to=user.email,
        context={
            "username": user.get_username(),
            "confirm_url": confirmation_url(user),
            "lifetime": confirmation_link_lifetime(),
        },
    )


def signup_existing_account_email_send(*, user: User, resend: bool = False) -> None:
    """To the holder of an address someone signed up with (`resend`: asked for a
    new confirmation link with): log in, or reset the password."""
    _send(
        template="signup_existing_account",
        to=user.email,
        context={
            "username": user.get_username(),
            "resend": resend,
            "login_url": settings.SITE_URL + reverse("login"),
            "reset_url": settings.SITE_URL + reverse("password_reset"),
        },
    )


def _send(*, template: str, to: str, context: dict) -> None:
    context = {**context, "site_url": settings.SITE_URL}
    subject = render_to_string(f"emails/{template}_subject.txt", context)
    message = AnymailMessage(
        subject=" ".join(subject.split()),
        # A plain str: the text part is unescaped, it must not pass as safe HTML.
        body=str.__str__(render_to_string(f"emails/{template}.txt", context)),
        to=[to],
    )
    message.attach_alternative(
        render_to_string(f"emails/{template}.html", context), "text/html"
    )
    message.tags = [template.replace("_", "-")]
    try:
        message.send()
    except Exception:
        logger.exception("Sending the %s email failed", template)
