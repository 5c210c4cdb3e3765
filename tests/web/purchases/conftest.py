"""Who may see what: a customer's purchases open only through the link emailed
to their address; alice and bob are sellers whose products the customer bought,
and nothing about them makes them able to see the list."""

from __future__ import annotations

import re

import pytest

from tests.factories import LiveProductFactory, place

FIND = "/purchases/"
CUSTOMER = "Jo.Buyer@Example.com"


@pytest.fixture
def bobs_product(bob):
    return LiveProductFactory(seller=bob, name="Bob's Font", slug="bobs-font")


@pytest.fixture
def jo_orders(live_product, bobs_product):
    """Jo's orders from two sellers, typed in two spellings of her address."""
    return [
        place(live_product, email=CUSTOMER),
        place(bobs_product, email="jo.buyer@example.com"),
    ]


@pytest.fixture
def ask(client):
    def ask(email: str, ip: str = "203.0.113.7"):
        return client.post(FIND, {"email": email}, REMOTE_ADDR=ip)

    return ask


def link_in(message) -> str:
    """The purchase list's path in an email we sent."""
    [url] = set(re.findall(r"https?://\S+/purchases/[^/\s]+/", message.body))
    return url[url.index("/purchases/") :]
