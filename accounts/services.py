"""Sign-up that does not tell whether an address already has an account.

A valid sign-up always ends the same way for the visitor; what differs is the
email the address receives: a confirmation link for a new account, or, for an
address some account holds, a note to its holder. The account stays inactive
until its link is confirmed, and an address never ends up held by two accounts:
confirmation re-checks it under a lock (see `seller_confirm`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from .mail import signup_confirmation_email_send, signup_existing_account_email_send
from .selectors import (
    PENDING,
    accounts_with_email,
    email_holder,
    signup_pending_for_link,
    signup_pending_latest,
)


class UsernameTaken(Exception):
    """Another sign-up took the username between the form's check and ours."""


@dataclass(frozen=True)
class ConfirmResult:
    user: User | None  # the account now active, to log in; None if refused
    address_taken: bool = False  # refused: another account confirmed it first


def seller_signup(*, username: str, email: str, password: str) -> None:
    """Create an inactive account and email it a confirmation link; or, if an
    account holds `email`, create nothing and tell that account's holder.

    The caller cannot tell which happened, and should not try. Both ways send
    one email and hash the password once, so they also take about as long.
    """
    holder = email_holder(email=email)
    if holder is not None:
        make_password(password)  # the work create_user would have done
        signup_existing_account_email_send(user=holder)
        return
    try:
        with transaction.atomic():
            user = User.objects.create_user(
                username=username, email=email, password=password, is_active=False
            )
    except IntegrityError:
        raise UsernameTaken(username) from None
    signup_confirmation_email_send(user=user)


def seller_confirm(*, uidb64: str, token: str) -> ConfirmResult:
    """Activate the account of a genuine, unexpired, unused confirmation link,
    unless another account confirmed the same address first."""
    user = signup_pending_for_link(uidb64=uidb64, token=token)
    if user is None:
        return ConfirmResult(user=None)
    with transaction.atomic():
        # Two sign-ups with one address may both wait for confirmation. Lock
        # every account with the address, in one order, so that two
        # confirmations run one after the other and the second sees the first.
        list(
            accounts_with_email(email=user.email)
            .select_for_update()
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if email_holder(email=user.email, exclude_pk=user.pk) is not None:
            return ConfirmResult(user=None, address_taken=True)
        # Conditional: the same link opened twice at once activates once.
        if not User.objects.filter(PENDING, pk=user.pk).update(is_active=True):
            return ConfirmResult(user=None)
    user.is_active = True
    return ConfirmResult(user=user)


def seller_confirmation_resend(*, email: str) -> None:
    """Send a new confirmation link to the newest unconfirmed account of
    `email`; to an address an account holds, the note that it has one; to any
    other address, nothing. The caller shows the same page every time."""
    holder = email_holder(email=email)
    if holder is not None:
        signup_existing_account_email_send(user=holder, resend=True)
        return
    pending = signup_pending_latest(email=email)
    if pending is not None:
        signup_confirmation_email_send(user=pending)


def signups_unconfirmed_purge(*, now: datetime | None = None) -> int:
    """Delete the sign-ups never confirmed within SIGNUP_UNCONFIRMED_DAYS; returns
    how many. They hold a username (unique) and an address nobody proved, and
    their links expired long ago (PASSWORD_RESET_TIMEOUT, 3 days, from the last
    one sent). An account an admin made or deactivated is never one of them:
    it has logged in, or owns products."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.SIGNUP_UNCONFIRMED_DAYS)
    stale = User.objects.filter(
        PENDING, date_joined__lt=cutoff, is_staff=False, products__isnull=True
    )
    deleted, _ = stale.delete()
    return deleted
