"""Who holds an email address, and which account a confirmation link is for.

An address is held by an account that is active or has ever logged in (an
account an admin deactivated keeps its address). An account waiting for its
sign-up confirmation, inactive and never logged in, holds nothing yet: a
stranger who signs up with somebody else's address must not keep its owner
from signing up, and the first of them to confirm gets it.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db.models import Q, QuerySet
from django.utils.encoding import force_str
from django.utils.http import urlsafe_base64_decode

from .tokens import signup_confirmation_token

PENDING = Q(is_active=False, last_login__isnull=True)


def accounts_with_email(*, email: str) -> QuerySet[User]:
    """Every account whose address is `email`, compared case-insensitively."""
    return User.objects.filter(email__iexact=email)


def email_holder(*, email: str, exclude_pk: int | None = None) -> User | None:
    """The account holding `email`, if any (at most one, see the module's note)."""
    holders = accounts_with_email(email=email).exclude(PENDING)
    if exclude_pk is not None:
        holders = holders.exclude(pk=exclude_pk)
    return holders.order_by("pk").first()


def signup_pending_latest(*, email: str) -> User | None:
    """The newest account waiting for confirmation of `email`."""
    pending = accounts_with_email(email=email).filter(PENDING)
    return pending.order_by("-date_joined", "-pk").first()


def signup_pending_for_link(*, uidb64: str, token: str) -> User | None:
    """The unconfirmed account a confirmation link is for, if the link is
    genuine, unexpired and unused; None otherwise."""
    try:
        pk = int(force_str(urlsafe_base64_decode(uidb64)))
    except (ValueError, OverflowError):
        return None
    user = User.objects.filter(PENDING, pk=pk).first()
    if user is None or not signup_confirmation_token.check_token(user, token):
        return None
    return user
