"""Forms that mail an address anyone can type (sign-up, its resend, password
reset) send at most ACCOUNT_EMAIL_RATE_PER_ADDRESS emails to one address and
serve at most ACCOUNT_EMAIL_RATE_PER_IP requests to one client per window.

mallory types other people's addresses into every form, over and over.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import Client
from django.urls import reverse

from tests.accounts.conftest import signup

pytestmark = pytest.mark.django_db

LIMITED = "Too many emails were asked for from here or for this address."


def _from(ip: str) -> Client:
    return Client(REMOTE_ADDR=ip)


def test_one_address_gets_at_most_three_emails_an_hour(mailbox):
    answers = [
        signup(_from(f"10.0.0.{n}"), username=f"victim{n}", email="victim@example.com")
        for n in range(1, 5)
    ]

    assert [answer.status_code for answer in answers] == [302, 302, 302, 429]
    assert LIMITED in answers[-1].content.decode()
    assert len(mailbox) == 3


def test_resends_and_resets_count_against_the_same_address(mailbox, alice):
    mallory = _from("10.0.0.9")
    forms = [
        (reverse("signup-resend"), {"email": "alice@example.com"}),
        (reverse("password_reset"), {"email": "alice@example.com"}),
        (reverse("signup-resend"), {"email": "alice@example.com"}),
        (reverse("password_reset"), {"email": "alice@example.com"}),
    ]

    answers = [mallory.post(url, data) for url, data in forms]

    assert [answer.status_code for answer in answers] == [302, 302, 302, 429]
    assert len(mailbox) == 3


def test_one_client_is_refused_after_ten_requests_whatever_the_addresses(mailbox):
    mallory = _from("10.0.0.7")
    answers = [
        mallory.post(reverse("signup-resend"), {"email": f"person{n}@example.com"})
        for n in range(11)
    ]

    assert [answer.status_code for answer in answers].count(302) == 10
    assert answers[-1].status_code == 429


def test_another_client_is_not_held_back_by_a_limited_one(mailbox):
    mallory = _from("10.0.0.7")
    for n in range(11):
        mallory.post(reverse("signup-resend"), {"email": f"person{n}@example.com"})

    answer = signup(_from("10.0.0.8"))

    assert answer.status_code == 302


def test_a_refused_sign_up_keeps_what_was_typed_and_creates_no_account(mailbox):
    for n in range(3):
        signup(_from(f"10.0.1.{n}"), username=f"v{n}", email="victim@example.com")

    answer = signup(_from("10.0.1.9"), username="dora", email="victim@example.com")

    assert answer.status_code == 429
    assert 'value="dora"' in answer.content.decode()
    assert not User.objects.filter(username="dora").exists()


def test_when_the_limit_cannot_count_no_email_is_sent(mailbox, monkeypatch):
    from orders import ratelimit

    def unavailable(key, *, window, fail_open=True):
        raise ratelimit.redis.ConnectionError("Redis is restarting")

    monkeypatch.setattr(ratelimit, "_count", unavailable)

    answer = signup(Client())

    assert answer.status_code == 503
    assert "Try again in a few minutes" in answer.content.decode()
    assert mailbox == []


def test_a_malformed_limit_fails_the_system_check(settings):
    settings.ACCOUNT_EMAIL_RATE_PER_ADDRESS = "three an hour"

    with pytest.raises(SystemCheckError, match="accounts.E001"):
        call_command("check")
