"""The purchase link: signed for one address, refused when changed or old."""

from __future__ import annotations

import pytest
from django.core import signing

from orders.purchases import (
    PURCHASES_LINK_SALT,
    LinkState,
    customer_orders,
    purchases_link_check,
    purchases_link_token,
)
from tests.factories import place


def test_a_link_is_for_the_normalised_address():
    check = purchases_link_check(token=purchases_link_token(email=" Jo@Example.COM "))

    assert (check.state, check.email) == (LinkState.VALID, "jo@example.com")


def test_a_value_signed_for_something_else_is_no_link():
    other = signing.dumps("jo@example.com", salt="accounts.something")

    assert purchases_link_check(token=other).state is LinkState.INVALID


def test_a_link_signed_with_another_key_is_invalid(settings):
    token = purchases_link_token(email="jo@example.com")
    settings.SECRET_KEY = "another-" + settings.SECRET_KEY

    assert purchases_link_check(token=token).state is LinkState.INVALID


def test_a_link_signed_with_a_fallback_key_still_works(settings):
    token = purchases_link_token(email="jo@example.com")
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "rotated-" + settings.SECRET_KEY

    assert purchases_link_check(token=token).state is LinkState.VALID


def test_a_signed_non_address_is_invalid():
    token = signing.dumps({"email": "jo@example.com"}, salt=PURCHASES_LINK_SALT)

    assert purchases_link_check(token=token).state is LinkState.INVALID


@pytest.mark.django_db
def test_orders_match_whatever_the_case(live_product):
    mine = [place(live_product, email=e) for e in ("JO@example.com", "jo@EXAMPLE.com")]
    place(live_product, email="jo2@example.com")

    assert set(customer_orders(email="Jo@Example.com")) == set(mine)
