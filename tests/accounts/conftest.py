"""Sign-up helpers. alice (tests/conftest.py) holds alice@example.com; dora is
a newcomer who signs up in these tests; mallory signs up with addresses that
are not hers."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse

STRONG = "violet kettle 93 drums"


@pytest.fixture
def mailbox(settings):
    """The emails sent during the test, in order."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox = []
    return mail.outbox


def signup(client, *, follow=False, **overrides):
    data = {
        "username": "dora",
        "email": "dora@example.com",
        "password1": STRONG,
        "password2": STRONG,
        **overrides,
    }
    return client.post(reverse("signup"), data, follow=follow)


def confirmation_path(message) -> str:
    """The path of the confirmation link in an email's text part."""
    [url] = re.findall(r"\S+/accounts/signup/confirm/\S+", message.body)
    assert url.startswith(settings.SITE_URL + "/")
    return url.removeprefix(settings.SITE_URL)
