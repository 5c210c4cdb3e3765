"""django-axes: five wrong passwords lock one username from one IP out.

alice is the seller who forgets her password (or whose password someone guesses);
bob logs in from the same address and must not be locked out with her; dora
has signed up and not confirmed yet.
"""

from __future__ import annotations

from django.urls import reverse

from tests.accounts.conftest import STRONG, confirmation_path, signup

RIGHT = "correct horse 42"  # tests.factories.UserFactory's password


def _login(client, username, password, **extra):
    return client.post(
        reverse("login"), {"username": username, "password": password}, **extra
    )


def _fail_five_times(client, username, **extra):
    statuses = [
        _login(client, username, "wrong guess", **extra).status_code for _ in range(5)
    ]
    # Four ordinary form errors; the fifth failure is the one that locks out.
    assert statuses == [200, 200, 200, 200, 429]


def test_right_password_works_without_failures(client, alice):
    response = _login(client, "alice", RIGHT)

    assert response.status_code == 302


def test_five_wrong_passwords_then_the_right_one_shows_the_lockout_page(client, alice):
    _fail_five_times(client, "alice")

    response = _login(client, "alice", RIGHT)

    assert response.status_code == 429
    assert "registration/lockout.html" in [t.name for t in response.templates]
    content = response.content.decode()
    assert "Too many failed logins" in content
    assert "Try again in 15 minutes" in content
    assert "_auth_user_id" not in client.session


def test_lockout_of_one_user_leaves_another_user_unaffected(client, alice, bob):
    _fail_five_times(client, "alice")

    response = _login(client, "bob", RIGHT)

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(bob.pk)


def test_lockout_is_per_ip_address(client, alice):
    _fail_five_times(client, "alice", REMOTE_ADDR="198.51.100.7")

    response = _login(client, "alice", RIGHT, REMOTE_ADDR="198.51.100.8")

    assert response.status_code == 302


def test_a_forged_forwarded_for_header_does_not_escape_the_lockout(client, alice):
    # Without TRUSTED_PROXY the header is the client's own words: a fresh "IP" on
    # every try must not reset the count.
    for n in range(5):
        _login(client, "alice", "wrong guess", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")

    response = _login(client, "alice", RIGHT, HTTP_X_FORWARDED_FOR="203.0.113.99")

    assert response.status_code == 429


def test_four_wrong_passwords_do_not_lock_out(client, alice):
    for _ in range(4):
        _login(client, "alice", "wrong guess")

    assert _login(client, "alice", RIGHT).status_code == 302


def test_an_unconfirmed_account_is_locked_out_too_and_its_link_lifts_it(
    client, db, mailbox
):
    """dora tries to log in before confirming: her own password counts as a
    failure like any other (nothing tells her it was right). Her link proves she
    holds the address, logs her in and clears the count, as a successful login
    does."""
    signup(client)
    for _ in range(4):
        assert _login(client, "dora", STRONG).status_code == 200
    assert _login(client, "dora", "wrong guess").status_code == 429

    client.post(confirmation_path(mailbox[0]))
    assert client.session["_auth_user_id"]
    client.post(reverse("logout"))

    assert _login(client, "dora", STRONG).status_code == 302
