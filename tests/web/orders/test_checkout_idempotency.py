"""The public checkout form: one form shown, at most one order and one license."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse

from fulfillment.models import Delivery
from orders import checkout_tokens
from orders.checkout_tokens import checkout_token_issue
from orders.models import Checkout, Order
from orders.payments import PaymentDeclined, PaymentResult
from tests.factories import ProductFactory, WebhookConfigFactory
from web.orders import services as order_services
from web.orders.services import (
    CHECKOUT_BUSY_MESSAGE,
    CHECKOUT_EXPIRED_MESSAGE,
    CHECKOUT_USED_MESSAGE,
    checkout_create,
)

pytestmark = pytest.mark.django_db


def _page_token(client, product) -> str:
    """The token the product page put into its form, as a browser would send it."""
    content = client.get(f"/p/{product.slug}/").content.decode()
    return re.search(r'name="checkout_token" value="([^"]+)"', content).group(1)


def _post(client, product, token, **data):
    url = reverse("orders:checkout", kwargs={"slug": product.slug})
    fields = {"customer_email": "buyer@example.com", "quantity": 1, **data}
    if token is not None:
        fields["checkout_token"] = token
    return client.post(url, fields)


def _non_field_errors(response) -> list[str]:
    return list(response.context["form"].non_field_errors())


def test_posting_the_same_form_twice_makes_one_order(client, live_product):
    token = _page_token(client, live_product)

    first = _post(client, live_product, token)
    second = _post(client, live_product, token)

    order = Order.objects.get()
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"] == f"/orders/{order.token}/"
    assert Delivery.objects.count() == 1


def test_the_same_form_matches_the_email_case_insensitively(client, live_product):
    token = _page_token(client, live_product)
    _post(client, live_product, token)
    second = _post(client, live_product, token, customer_email="BUYER@example.com")
    assert second.status_code == 302
    assert Order.objects.count() == 1


def test_the_same_form_with_another_email_is_refused(client, live_product):
    token = _page_token(client, live_product)
    _post(client, live_product, token)

    response = _post(client, live_product, token, customer_email="else@example.com")

    assert response.status_code == 200
    assert _non_field_errors(response) == [CHECKOUT_USED_MESSAGE]
    assert Order.objects.count() == 1


def test_each_page_view_issues_a_new_token(client, live_product):
    first = _page_token(client, live_product)
    assert _page_token(client, live_product) != first
    _post(client, live_product, first)
    _post(client, live_product, _page_token(client, live_product))
    assert Order.objects.count() == 2


def test_product_page_is_not_cached(client, live_product):
    response = client.get(f"/p/{live_product.slug}/")
    assert response["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    "mangle",
    [
        lambda token: token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
        lambda token: "",
        lambda token: "not-a-token",
    ],
    ids=["tampered", "empty", "garbage"],
)
def test_a_bad_token_is_a_form_error_and_creates_nothing(client, live_product, mangle):
    token = mangle(_page_token(client, live_product))

    response = _post(client, live_product, token)

    assert response.status_code == 200
    assert _non_field_errors(response) == [CHECKOUT_EXPIRED_MESSAGE]
    assert CHECKOUT_EXPIRED_MESSAGE in response.content.decode()
    assert Order.objects.count() == Checkout.objects.count() == 0


def test_a_missing_token_is_a_form_error(client, live_product):
    response = _post(client, live_product, None)
    assert _non_field_errors(response) == [CHECKOUT_EXPIRED_MESSAGE]
    assert Order.objects.count() == 0


def test_an_expired_token_is_a_form_error(client, live_product, monkeypatch):
    token = _page_token(client, live_product)
    monkeypatch.setattr(checkout_tokens, "MAX_AGE", timedelta(seconds=-1))
    response = _post(client, live_product, token)
    assert _non_field_errors(response) == [CHECKOUT_EXPIRED_MESSAGE]
    assert Order.objects.count() == 0


def test_a_token_of_another_product_is_a_form_error(client, live_product, alice):
    other = ProductFactory(seller=alice, slug="other", status="live")
    WebhookConfigFactory(product=other)
    response = _post(client, live_product, checkout_token_issue(product_pk=other.pk))
    assert _non_field_errors(response) == [CHECKOUT_EXPIRED_MESSAGE]
    assert Order.objects.count() == 0


def test_the_error_page_carries_a_fresh_token_that_works(client, live_product):
    response = _post(client, live_product, "tampered")
    fresh = re.search(
        r'name="checkout_token" value="([^"]+)"', response.content.decode()
    ).group(1)
    assert _post(client, live_product, fresh).status_code == 302
    assert Order.objects.count() == 1


class DeclineOnce:
    """A provider that declines its first charge, then accepts."""

    name = "decline-once"
    label = "Declines once"
    is_test = False
    calls = 0

    def charge(self, *, checkout):
        type(self).calls += 1
        if type(self).calls == 1:
            raise PaymentDeclined("Card declined.")
        return PaymentResult(transaction_id=f"real_{checkout.pk}")


def test_after_a_decline_the_same_form_can_be_posted_again(
    client, live_product, settings, monkeypatch
):
    from orders import payments

    monkeypatch.setitem(payments.PROVIDERS, DeclineOnce.name, DeclineOnce)
    monkeypatch.setattr(DeclineOnce, "calls", 0)
    settings.PAYMENT_PROVIDER = DeclineOnce.name
    token = _page_token(client, live_product)

    declined = _post(client, live_product, token)
    accepted = _post(client, live_product, token)

    assert _non_field_errors(declined) == ["Card declined."]
    assert accepted.status_code == 302
    order = Order.objects.get()
    assert not order.is_test  # A provider that moves money makes real orders.


def test_a_twin_post_that_lost_the_race_gets_the_winners_order(
    client, live_product, monkeypatch
):
    token = _page_token(client, live_product)
    first = _post(client, live_product, token)
    # The twin's first look finds nothing, as when both posts look at once; its
    # insert then meets the unique nonce and it reads the winner's order.
    real_replay = order_services._checkout_replay
    looks = []

    def racing_replay(**kwargs):
        looks.append(kwargs)
        return None if len(looks) == 1 else real_replay(**kwargs)

    monkeypatch.setattr(order_services, "_checkout_replay", racing_replay)

    second = _post(client, live_product, token)

    assert len(looks) == 2
    assert second["Location"] == first["Location"]
    assert Order.objects.count() == Checkout.objects.count() == 1


def test_a_twin_still_being_charged_is_refused_after_waiting(
    client, live_product, monkeypatch
):
    monkeypatch.setattr(order_services, "CHECKOUT_REPLAY_WAIT_SECONDS", 0)
    token = _page_token(client, live_product)
    nonce = checkout_tokens.checkout_token_nonce(
        token=token, product_pk=live_product.pk
    )
    # The first post's checkout, claimed but not yet paid.
    checkout_create(
        product=live_product,
        quantity=1,
        customer_email="buyer@example.com",
        nonce=nonce,
    )

    response = _post(client, live_product, token)

    assert _non_field_errors(response) == [CHECKOUT_BUSY_MESSAGE]
    assert Order.objects.count() == 0
