"""Sign-up's services under races: two confirmations at once, one username
taken twice. dora signs up; mallory signs up with dora's address."""

from __future__ import annotations

import threading

import pytest
from django.contrib.auth.models import User
from django.db import connection

from accounts.services import (
    UsernameTaken,
    seller_confirm,
    seller_signup,
)
from tests.accounts.conftest import STRONG, confirmation_path


def _link(message) -> dict[str, str]:
    uidb64, token = confirmation_path(message).strip("/").split("/")[-2:]
    return {"uidb64": uidb64, "token": token}


def _confirm_at_once(links: list[dict[str, str]]) -> list:
    """Confirm every link, each in its own thread and connection, together."""
    barrier = threading.Barrier(len(links))
    results: list = [None] * len(links)

    def confirm(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = seller_confirm(**links[index])
        finally:
            connection.close()

    threads = [threading.Thread(target=confirm, args=(i,)) for i in range(len(links))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


@pytest.mark.django_db(transaction=True)
def test_two_confirmations_of_one_address_at_once_activate_one_account(mailbox):
    seller_signup(username="dora", email="dora@example.com", password=STRONG)
    seller_signup(username="mallory", email="DORA@example.com", password=STRONG)
    assert [m.to for m in mailbox] == [["dora@example.com"], ["DORA@example.com"]]

    results = _confirm_at_once([_link(m) for m in mailbox])

    assert sorted((r.user is not None, r.address_taken) for r in results) == [
        (False, True),
        (True, False),
    ]
    assert (
        User.objects.filter(email__iexact="dora@example.com", is_active=True).count()
        == 1
    )


@pytest.mark.django_db(transaction=True)
def test_one_link_confirmed_twice_at_once_activates_once(mailbox):
    seller_signup(username="dora", email="dora@example.com", password=STRONG)
    link = _link(mailbox[0])

    results = _confirm_at_once([link, link])

    assert sorted(r.user is not None for r in results) == [False, True]
    assert not any(r.address_taken for r in results)


def test_a_username_taken_meanwhile_raises_and_sends_nothing(db, mailbox):
    seller_signup(username="dora", email="dora@example.com", password=STRONG)

    with pytest.raises(UsernameTaken):
        seller_signup(username="dora", email="other@example.com", password=STRONG)

    assert [m.to for m in mailbox] == [["dora@example.com"]]
    assert User.objects.filter(username="dora").count() == 1


def test_an_unconfirmed_address_does_not_block_a_new_sign_up(db, mailbox):
    """mallory's unconfirmed sign-up with dora's address must not keep dora
    out: dora gets her own account and link."""
    seller_signup(username="mallory", email="dora@example.com", password=STRONG)

    seller_signup(username="dora", email="dora@example.com", password=STRONG)

    assert [m.to for m in mailbox] == [["dora@example.com"]] * 2
    doras = seller_confirm(**_link(mailbox[1]))
    assert doras.user is not None and doras.user.username == "dora"
