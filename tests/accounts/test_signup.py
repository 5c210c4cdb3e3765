"""Sign-up answers the same whether or not the address has an account; the
confirmation link activates the account and logs the seller in.

alice holds alice@example.com; dora signs up with a new address; mallory signs
up with addresses that are not hers.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from accounts.tokens import signup_confirmation_token
from tests.accounts.conftest import STRONG, confirmation_path, signup

pytestmark = pytest.mark.django_db


def _page_text(response) -> str:
    return response.content.decode()


def test_a_new_and_a_taken_address_get_the_same_answer(client, alice, mailbox):
    from django.test import Client

    new = signup(client, follow=True)
    taken = signup(Client(), username="mallory", email="ALICE@Example.com", follow=True)

    assert new.status_code == taken.status_code == 200
    assert new.redirect_chain == taken.redirect_chain == [(reverse("signup-sent"), 302)]
    assert _page_text(new) == _page_text(taken)
    assert "Check your inbox" in _page_text(new)
    assert "already" not in _page_text(taken)


def test_a_new_address_gets_an_inactive_account_and_a_confirmation_link(
    client, mailbox
):
    signup(client)

    dora = User.objects.get(username="dora")
    assert dora.email == "dora@example.com"
    assert not dora.is_active
    [message] = mailbox
    assert message.to == ["dora@example.com"]
    assert message.subject == "Confirm your email address to finish signing up"
    path = confirmation_path(message)
    assert path in message.alternatives[0].content
    assert "_auth_user_id" not in client.session


def test_a_taken_address_creates_nothing_and_tells_its_holder(client, alice, mailbox):
    before = User.objects.count()

    signup(client, username="mallory", email="Alice@EXAMPLE.com")

    assert User.objects.count() == before
    [message] = mailbox
    assert message.to == ["alice@example.com"]
    assert message.subject == "You already have a seller account"
    assert "tried to sign up" in message.body
    assert "log in as alice" in message.body
    assert "http://testserver" not in message.body  # links use SITE_URL
    assert "/accounts/login/" in message.body
    assert "/accounts/password_reset/" in message.body
    assert "/accounts/signup/confirm/" not in message.body


def test_a_taken_username_is_reported_beside_its_field(client, alice, mailbox):
    response = signup(client, username="Alice", email="someone@example.com")

    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["username"]
    assert mailbox == []


def test_the_form_never_reports_a_taken_address(client, alice, mailbox):
    response = signup(client, email="alice@example.com", password2="different")

    assert list(response.context["form"].errors) == ["password2"]
    assert "already" not in _page_text(response)
    assert mailbox == []


def test_a_weak_password_is_reported_beside_its_field(client, mailbox):
    response = signup(client, password1="12345678", password2="12345678")

    assert response.status_code == 200
    assert response.context["form"].errors["password2"]
    assert not User.objects.filter(username="dora").exists()
    assert mailbox == []


def test_a_failed_send_still_gives_the_same_answer(client, alice, settings, caplog):
    from django.test import Client

    settings.EMAIL_BACKEND = "tests.accounts.test_signup.BrokenBackend"

    new = signup(client, follow=True)
    taken = signup(Client(), username="mallory", email="alice@example.com", follow=True)

    assert new.status_code == taken.status_code == 200
    assert _page_text(new) == _page_text(taken)
    assert caplog.text.count("Sending the signup_") == 2


class BrokenBackend:
    """An email backend whose provider is down."""

    def __init__(self, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionError("the provider is down")


def test_in_development_the_page_says_where_emails_are_written(
    client, settings, mailbox
):
    settings.DEBUG = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(settings.BASE_DIR / "var" / "mail")

    page = _page_text(client.get(reverse("signup-sent")))

    assert "emails are written as files to <code>var/mail/</code>" in page


def test_in_production_the_page_does_not_mention_mail_files(client, mailbox):
    signup(client)

    page = _page_text(client.get(reverse("signup-sent")))

    assert "var/mail" not in page
    assert "/accounts/signup/confirm/" not in page


# --- The confirmation link ---------------------------------------------------


def test_the_link_activates_logs_in_and_welcomes_the_seller(client, mailbox):
    signup(client)
    path = confirmation_path(mailbox[0])

    page = client.get(path)
    assert "Confirm and log in" in _page_text(page)
    response = client.post(path, follow=True)

    assert response.redirect_chain == [(reverse("products:list"), 302)]
    dora = User.objects.get(username="dora")
    assert dora.is_active
    assert response.context["user"] == dora
    assert "Welcome, dora: your address is confirmed." in _page_text(response)


def test_opening_the_link_alone_activates_nothing(client, mailbox):
    """A mail scanner that follows links must not use the link up."""
    signup(client)
    path = confirmation_path(mailbox[0])

    client.get(path)
    client.get(path)

    assert not User.objects.get(username="dora").is_active
    assert "_auth_user_id" not in client.session


def test_a_used_link_is_refused(client, mailbox):
    from django.test import Client

    signup(client)
    path = confirmation_path(mailbox[0])
    client.post(path)

    other = Client()
    again = other.post(path)

    assert again.status_code == 200
    assert "This link no longer works" in _page_text(again)
    assert "_auth_user_id" not in other.session


def test_an_expired_link_is_refused_and_a_new_one_can_be_asked_for(
    client, mailbox, settings, monkeypatch
):
    # The link was sent a second longer ago than links live.
    now = signup_confirmation_token._now
    age = timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT + 1)
    monkeypatch.setattr(signup_confirmation_token, "_now", lambda: now() - age)
    signup(client)
    monkeypatch.undo()
    expired = confirmation_path(mailbox[0])

    page = client.get(expired)
    refused = client.post(expired)

    for response in (page, refused):
        assert "This link no longer works" in _page_text(response)
        assert 'action="/accounts/signup/resend/"' in _page_text(response)
    assert not User.objects.get(username="dora").is_active

    client.post(reverse("signup-resend"), {"email": "DORA@example.com"})
    fresh = confirmation_path(mailbox[1])
    assert mailbox[1].to == ["dora@example.com"]
    client.post(fresh)
    assert User.objects.get(username="dora").is_active


@pytest.mark.parametrize(
    "tamper",
    [
        lambda uid, token: (uid, token[:-1] + ("0" if token[-1] != "0" else "1")),
        lambda uid, token: ("MTIzNDU2", token),  # another account's id
        lambda uid, token: ("!!", token),
        lambda uid, token: (uid, "not-a-token"),
    ],
    ids=["token", "other-id", "garbage-id", "garbage-token"],
)
def test_a_tampered_link_is_refused_with_a_readable_page(client, mailbox, tamper):
    signup(client)
    uid, token = confirmation_path(mailbox[0]).strip("/").split("/")[-2:]
    uid, token = tamper(uid, token)
    path = reverse("signup-confirm", args=[uid, token])

    for response in (client.get(path), client.post(path)):
        assert response.status_code == 200
        assert "This link no longer works" in _page_text(response)
    assert not User.objects.get(username="dora").is_active


def test_a_password_reset_token_does_not_confirm_an_account(client, mailbox):
    from django.contrib.auth.tokens import default_token_generator

    signup(client)
    dora = User.objects.get(username="dora")
    uid = confirmation_path(mailbox[0]).strip("/").split("/")[-2]

    client.post(
        reverse("signup-confirm", args=[uid, default_token_generator.make_token(dora)])
    )

    dora.refresh_from_db()
    assert not dora.is_active


def test_a_second_account_for_the_same_address_is_never_activated(client, mailbox):
    """mallory signs up with dora's address first (she cannot open its link);
    dora signs up with her own username and confirms; mallory's link, should
    dora open it too, activates nothing."""
    from django.test import Client

    signup(Client(), username="mallory", password1=STRONG + "!", password2=STRONG + "!")
    signup(client, email="Dora@Example.com")
    mallorys, doras = (confirmation_path(m) for m in mailbox)

    client.post(doras)
    refused = Client().post(mallorys)

    assert "This address already has an account" in _page_text(refused)
    active = User.objects.filter(email__iexact="dora@example.com", is_active=True)
    assert [u.username for u in active] == ["dora"]


def test_once_confirmed_the_address_is_taken_for_new_sign_ups(client, mailbox):
    from django.test import Client

    signup(client)
    client.post(confirmation_path(mailbox[0]))

    signup(Client(), username="mallory", email="dora@example.com")

    assert not User.objects.filter(username="mallory").exists()
    assert [m.to for m in mailbox] == [["dora@example.com"], ["dora@example.com"]]
    assert mailbox[1].subject == "You already have a seller account"


# --- Asking for a new link ---------------------------------------------------


def test_asking_for_a_new_link_answers_the_same_for_any_address(client, alice, mailbox):
    from django.test import Client

    signup(client)  # dora, unconfirmed
    mailbox.clear()
    pages = [
        Client().post(reverse("signup-resend"), {"email": email}, follow=True)
        for email in ("nobody@example.com", "dora@example.com", "alice@example.com")
    ]

    assert len({_page_text(p) for p in pages}) == 1
    assert {p.status_code for p in pages} == {200}
    assert {tuple(p.redirect_chain) for p in pages} == {
        ((reverse("signup-sent"), 302),)
    }
    assert [(m.to, m.subject) for m in mailbox] == [
        (["dora@example.com"], "Confirm your email address to finish signing up"),
        (["alice@example.com"], "You already have a seller account"),
    ]
    assert "asked for a link to confirm" in mailbox[1].body


# --- Logging in before confirming ---------------------------------------------


def test_an_unconfirmed_account_cannot_log_in_and_gets_the_generic_error(
    client, mailbox
):
    signup(client)

    unconfirmed = client.post(
        reverse("login"), {"username": "dora", "password": STRONG}
    )
    unknown = client.post(reverse("login"), {"username": "nobody", "password": STRONG})

    assert unconfirmed.status_code == unknown.status_code == 200
    assert "_auth_user_id" not in client.session
    errors = unconfirmed.context["form"].non_field_errors()
    assert errors == unknown.context["form"].non_field_errors()
    assert "Open the link in the email we sent you" in errors[0]
    assert "inactive" not in _page_text(unconfirmed)
