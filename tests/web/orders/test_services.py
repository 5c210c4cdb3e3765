from __future__ import annotations

import hashlib
import json
from io import StringIO

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import IntegrityError

from fulfillment.models import Delivery
from orders.errors import OrderError
from orders.models import ApiToken, Checkout, Order
from orders.payments import PaymentDeclined, TestPaymentProvider, get_provider
from orders.tokens import token_hash
from web.orders import services
from web.orders.services import (
    checkout_create,
    order_complete,
    order_create_from_api,
    order_fingerprint,
)

pytestmark = pytest.mark.django_db


def _cleaned(**changes):
    return {
        "product": "pixel-editor",
        "quantity": 1,
        "customer_email": "a@example.com",
        "customer_name": "",
        "checkout_hash": "",
        **changes,
    }


def test_fingerprint_ignores_email_case():
    assert order_fingerprint(cleaned=_cleaned()) == order_fingerprint(
        cleaned=_cleaned(customer_email="A@Example.COM")
    )


def test_fingerprint_changes_with_quantity():
    assert order_fingerprint(cleaned=_cleaned()) != order_fingerprint(
        cleaned=_cleaned(quantity=2)
    )


def test_fingerprint_without_passthrough_is_the_one_stored_before_it_existed():
    # Orders created before passthrough keep their fingerprint: a replay of one
    # must still be a 200, not a conflict.
    before = json.dumps(
        _cleaned(customer_email="a@example.com"),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    expected = hashlib.sha256(before.encode()).hexdigest()

    assert order_fingerprint(cleaned=_cleaned()) == expected
    assert order_fingerprint(cleaned=_cleaned(passthrough="")) == expected
    assert order_fingerprint(cleaned=_cleaned(passthrough=None)) == expected


def test_fingerprint_changes_with_passthrough():
    fingerprints = {
        order_fingerprint(cleaned=_cleaned(passthrough=value))
        for value in ("", "acct_42", "acct_43", "ACCT_42")
    }

    assert len(fingerprints) == 4


def test_test_provider_is_the_default_and_labelled(settings):
    settings.PAYMENT_PROVIDER = "test"
    provider = get_provider()
    assert isinstance(provider, TestPaymentProvider)
    assert "no money moves" in provider.label


def test_unknown_payment_provider_fails_loudly(settings):
    settings.PAYMENT_PROVIDER = "nope"
    with pytest.raises(ImproperlyConfigured, match="PAYMENT_PROVIDER"):
        get_provider()


def test_checkout_create_refuses_a_draft_product(product):
    with pytest.raises(OrderError) as exc:
        checkout_create(product=product, quantity=1, customer_email="a@example.com")
    assert exc.value.code == "product_not_live"


@pytest.mark.parametrize(
    "passthrough", ["a\x00b", "a\tb", "a\r\nb", "a\x85b", "x" * 1001]
)
def test_checkout_create_refuses_a_passthrough_no_form_would_pass(
    live_product, passthrough
):
    # The forms check it first; the service is what nothing can go around.
    with pytest.raises(OrderError) as exc:
        checkout_create(
            product=live_product,
            quantity=1,
            customer_email="a@example.com",
            passthrough=passthrough,
        )

    assert exc.value.code == "invalid_fields"
    assert list(exc.value.fields) == ["passthrough"]
    assert Checkout.objects.count() == 0


def test_a_placed_order_keeps_the_passthrough_of_its_checkout(live_product):
    order = services.order_place(
        product=live_product,
        quantity=1,
        customer_email="a@example.com",
        passthrough=" acct_42 ",
    )

    order.refresh_from_db()
    assert order.passthrough == " acct_42 "
    assert order.checkout.passthrough == " acct_42 "


def test_a_checkout_completes_only_once(live_product):
    checkout = checkout_create(
        product=live_product, quantity=1, customer_email="a@example.com"
    )
    order_complete(checkout=checkout, transaction_id="t1", source="checkout")
    with pytest.raises(OrderError) as exc:
        order_complete(checkout=checkout, transaction_id="t2", source="checkout")
    assert exc.value.code == "checkout_completed"
    assert Order.objects.count() == 1


def test_declined_payment_leaves_an_open_checkout_and_no_order(
    monkeypatch, live_product
):
    def decline(self, *, checkout):
        raise PaymentDeclined("Card declined.")

    monkeypatch.setattr(TestPaymentProvider, "charge", decline)
    with pytest.raises(PaymentDeclined):
        services.order_place(
            product=live_product, quantity=1, customer_email="a@example.com"
        )
    assert Checkout.objects.get().status == "open"
    assert Order.objects.count() == 0


def test_a_repeated_api_call_returns_the_first_order_and_leaves_no_checkout(
    live_product,
):
    """The insert comes first: the repeat (or the loser of two identical calls
    racing) hits the unique transaction_id, its checkout is rolled back with it,
    and it answers with the first order."""
    data = {
        "product": "pixel-editor",
        "quantity": 1,
        "customer_email": "a@example.com",
        "transaction_id": "race-1",
    }
    winner, _ = order_create_from_api(data=data)

    order, created = order_create_from_api(data=data)

    assert (order, created) == (winner, False)
    assert Order.objects.count() == 1
    assert Checkout.objects.count() == 1
    assert Delivery.objects.count() == 1


def test_a_repeat_after_the_product_left_live_still_gets_its_order(live_product):
    data = {
        "product": "pixel-editor",
        "quantity": 1,
        "customer_email": "a@example.com",
        "transaction_id": "retry-1",
    }
    first, _ = order_create_from_api(data=data)
    live_product.status = "draft"
    live_product.save()

    order, created = order_create_from_api(data=data)

    assert (order, created) == (first, False)
    with pytest.raises(OrderError) as refused:
        order_create_from_api(data={**data, "transaction_id": "retry-2"})
    assert refused.value.code == "product_not_live"


def test_race_insert_failure_really_is_an_integrity_error(live_product):
    checkout = checkout_create(
        product=live_product, quantity=1, customer_email="a@example.com"
    )
    order_complete(checkout=checkout, transaction_id="dup", source="api")
    other = checkout_create(
        product=live_product, quantity=1, customer_email="a@example.com"
    )
    with pytest.raises(IntegrityError):
        order_complete(checkout=other, transaction_id="dup", source="api")


def test_api_token_command_prints_a_working_token_once():
    out = StringIO()
    call_command("api_token_create", name="Demo", stdout=out)
    raw = out.getvalue().strip()
    assert ApiToken.objects.get().token_hash == token_hash(raw)
