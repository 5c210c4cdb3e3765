"""Sign-ups never confirmed are deleted after SIGNUP_UNCONFIRMED_DAYS, and
nothing else is: not a recent sign-up, not an account that logged in, not one
an admin deactivated, not one with products."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from accounts.services import signups_unconfirmed_purge
from tests.factories import ProductFactory, UserFactory

pytestmark = pytest.mark.django_db


def _pending(username: str, days_ago: float) -> User:
    user = UserFactory(username=username, is_active=False, last_login=None)
    User.objects.filter(pk=user.pk).update(
        date_joined=timezone.now() - timedelta(days=days_ago)
    )
    return user


def _remaining() -> set[str]:
    return set(User.objects.values_list("username", flat=True))


def test_a_sign_up_unconfirmed_for_31_days_is_deleted_and_frees_its_name():
    _pending("squatter", days_ago=31)

    assert signups_unconfirmed_purge() == 1
    assert "squatter" not in _remaining()


def test_a_sign_up_of_29_days_waits(settings):
    _pending("patient", days_ago=29)

    assert signups_unconfirmed_purge() == 0
    assert "patient" in _remaining()


def test_the_delay_is_a_setting(settings):
    settings.SIGNUP_UNCONFIRMED_DAYS = 7
    _pending("week-old", days_ago=8)

    assert signups_unconfirmed_purge() == 1


def test_accounts_that_were_ever_used_are_kept():
    deactivated = _pending("deactivated", days_ago=400)
    User.objects.filter(pk=deactivated.pk).update(last_login=timezone.now())
    seller = _pending("made-by-admin", days_ago=400)
    ProductFactory(seller=seller)
    staff = _pending("staff", days_ago=400)
    User.objects.filter(pk=staff.pk).update(is_staff=True)
    active = UserFactory(username="active")
    User.objects.filter(pk=active.pk).update(
        date_joined=timezone.now() - timedelta(days=400), last_login=None
    )

    assert signups_unconfirmed_purge() == 0
    assert _remaining() == {"deactivated", "made-by-admin", "staff", "active"}
