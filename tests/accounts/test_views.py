from __future__ import annotations

from django.core import mail
from django.urls import reverse


def test_login_page_renders(client, db):
    response = client.get(reverse("login"))

    assert response.status_code == 200
    assert b"Forgot your password?" in response.content


def test_logout_is_a_post_that_ends_the_session(alice_client):
    response = alice_client.post(reverse("logout"))

    assert response.status_code == 302
    assert alice_client.get(reverse("products:list")).status_code == 302


def test_password_reset_sends_an_email(client, alice, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

    response = client.post(reverse("password_reset"), {"email": "alice@example.com"})

    assert response.status_code == 302
    assert response.url == reverse("password_reset_done")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["alice@example.com"]
    assert message.subject == "Reset your seller account password"
    assert "/accounts/reset/" in message.body


def test_password_reset_link_lets_the_user_choose_a_new_password(
    client, alice, settings
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    client.post(reverse("password_reset"), {"email": "alice@example.com"})
    link = next(
        line for line in mail.outbox[0].body.splitlines() if "/accounts/reset/" in line
    )
    path = link.split("://", 1)[1].split("/", 1)[1]

    form_page = client.get("/" + path, follow=True)
    new = "a brand new passphrase 7"
    client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": new, "new_password2": new},
    )

    alice.refresh_from_db()
    assert alice.check_password(new)
