"""The "Find my purchase" pages: the form, its one answer, the emailed link."""

from __future__ import annotations

import re
import time

import pytest
from django.core import signing
from django.urls import reverse

from orders.purchases import purchases_link_token
from tests.factories import place
from tests.web.purchases.conftest import CUSTOMER, FIND, link_in

pytestmark = pytest.mark.django_db


def _sent_page(client, response):
    assert response.status_code == 302
    assert response["Location"] == reverse("purchases:sent")
    return client.get(response["Location"])


def test_the_answer_is_the_same_for_an_address_with_and_without_orders(
    client, ask, jo_orders, mailoutbox
):
    known = ask(CUSTOMER)
    unknown = ask("nobody@example.com")

    assert (known.status_code, known["Location"]) == (
        unknown.status_code,
        unknown["Location"],
    )
    known_page, unknown_page = _sent_page(client, known), _sent_page(client, unknown)
    assert known_page.status_code == unknown_page.status_code == 200
    assert known_page.content == unknown_page.content
    assert b"If we have orders for this address, we have sent a link to it." in (
        known_page.content
    )
    # Only the address with orders gets an email.
    assert [[to.lower() for to in m.to] for m in mailoutbox] == [[CUSTOMER.lower()]]


def test_one_email_lists_every_order_of_the_address_from_every_seller(
    client, ask, jo_orders, mailoutbox
):
    ask("  JO.BUYER@example.COM ")

    [message] = mailoutbox
    assert "Pixel Editor" in message.body and "Bob's Font" in message.body
    page = client.get(link_in(message))
    assert page.status_code == 200
    for order in jo_orders:
        assert reverse("orders:order", args=[order.token]).encode() in page.content
    assert page["Referrer-Policy"] == "no-referrer"
    assert page["Cache-Control"] == "no-store"


def test_the_list_shows_no_order_of_another_address(client, jo_orders, live_product):
    other = place(live_product, email="someone.else@example.com")

    page = client.get(reverse("purchases:list", args=[_token(CUSTOMER)]))

    assert reverse("orders:order", args=[other.token]).encode() not in page.content
    assert page.content.count(b'class="purchase"') == 2


def test_a_link_changed_to_another_address_opens_nothing(client, jo_orders):
    # Jo's address, signed as another address's link was.
    signed_other = _token("someone.else@example.com").partition(":")[2]
    forged = _token(CUSTOMER).partition(":")[0] + ":" + signed_other

    page = client.get(reverse("purchases:list", args=[forged]))

    assert page.status_code == 404
    assert b"This link is invalid" in page.content
    for order in jo_orders:
        assert order.token.encode() not in page.content


@pytest.mark.parametrize("token", ["garbage", "a:b:c", "x" * 300])
def test_a_tampered_link_offers_a_new_one(client, token):
    page = client.get(reverse("purchases:list", args=[token]))

    assert page.status_code == 404
    assert b"This link is invalid" in page.content
    assert f'action="{FIND}"'.encode() in page.content


def test_a_link_works_for_30_minutes(client, jo_orders, monkeypatch):
    _sign_minutes_ago(monkeypatch, 29)
    token = _token(CUSTOMER)
    monkeypatch.undo()

    page = client.get(reverse("purchases:list", args=[token]))

    assert page.status_code == 200
    assert jo_orders[0].token.encode() in page.content


def test_a_link_older_than_30_minutes_has_expired(client, jo_orders, monkeypatch):
    _sign_minutes_ago(monkeypatch, 31)
    token = _token(CUSTOMER)
    monkeypatch.undo()

    page = client.get(reverse("purchases:list", args=[token]))

    assert page.status_code == 410
    assert b"This link has expired" in page.content
    assert f'action="{FIND}"'.encode() in page.content
    assert jo_orders[0].token.encode() not in page.content


def test_five_links_an_hour_per_address(ask, jo_orders, mailoutbox, settings):
    answers = [ask(CUSTOMER, ip=f"203.0.113.{n}") for n in range(6)]

    assert [a.status_code for a in answers] == [302] * 5 + [429]
    assert b"Try again in an hour" in answers[-1].content
    assert len(mailoutbox) == 5


def test_the_limit_per_address_ignores_case(ask, jo_orders, mailoutbox):
    for n in range(5):
        ask(CUSTOMER.upper() if n % 2 else CUSTOMER.lower())

    assert ask(CUSTOMER).status_code == 429


def test_twenty_links_an_hour_per_ip(ask, jo_orders, mailoutbox):
    answers = [ask(f"someone{n}@example.com") for n in range(20)]
    assert {a.status_code for a in answers} == {302}

    limited = ask(CUSTOMER)

    assert limited.status_code == 429
    assert mailoutbox == []
    # Another client is not limited by this one.
    assert ask(CUSTOMER, ip="198.51.100.1").status_code == 302


def test_the_limited_answer_is_the_same_with_and_without_orders(ask, jo_orders):
    for n in range(20):
        ask(f"someone{n}@example.com")

    known, unknown = ask(CUSTOMER), ask("nobody@example.com")

    assert known.status_code == unknown.status_code == 429
    assert _page(known, CUSTOMER) == _page(unknown, "nobody@example.com")


def test_the_limits_are_settings(ask, jo_orders, settings):
    settings.PURCHASES_RATE_PER_ADDRESS = "1/3600"

    assert ask(CUSTOMER).status_code == 302
    assert ask(CUSTOMER).status_code == 429


def test_when_the_limit_cannot_count_no_link_is_sent(
    ask, jo_orders, mailoutbox, monkeypatch
):
    from orders import ratelimit

    def unavailable(key, *, window, fail_open=True):
        if fail_open:
            return None
        raise ratelimit.redis.ConnectionError("Redis is restarting")

    monkeypatch.setattr(ratelimit, "_count", unavailable)

    answer = ask(CUSTOMER)

    assert answer.status_code == 503
    assert b"Try again in a few minutes" in answer.content
    assert mailoutbox == []


@pytest.mark.parametrize("email", ["", "not-an-address", "a@" + "b" * 260 + ".com"])
def test_a_bad_address_is_refused_next_to_the_field(ask, email, mailoutbox):
    answer = ask(email)

    assert answer.status_code == 200
    assert b'id="id_email_error"' in answer.content
    assert mailoutbox == []


def test_the_order_email_says_where_to_find_purchases(live_product, mailoutbox):
    from emails.build import order_email_build

    order = place(live_product, email=CUSTOMER)
    message = order_email_build(order=order, licenses=["KEY-1"])

    assert "Lost this email? Find your purchases at http" in message.body
    assert FIND in message.body


@pytest.mark.parametrize("page", ["orders:product", "purchases:find"])
def test_public_pages_link_to_the_form(client, live_product, page):
    args = [live_product.slug] if page == "orders:product" else []

    response = client.get(reverse(page, args=args))

    assert f'href="{FIND}"'.encode() in response.content


def test_the_order_page_links_to_the_form(client, live_product):
    order = place(live_product, email=CUSTOMER)

    response = client.get(reverse("orders:order", args=[order.token]))

    assert f'href="{FIND}"'.encode() in response.content


def _page(response, email: str) -> str:
    """The page without what differs in every rendering: the address typed, and
    the CSRF token (masked afresh each time)."""
    content = response.content.decode().replace(email, "")
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", content)


def _token(email: str) -> str:
    return purchases_link_token(email=email)


def _sign_minutes_ago(monkeypatch, minutes: int) -> None:
    then = int(time.time()) - minutes * 60
    monkeypatch.setattr(
        signing.TimestampSigner, "timestamp", lambda self: signing.b62_encode(then)
    )
