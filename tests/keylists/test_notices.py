"""The seller's low-stock email: once per crossing of the threshold, none while
the stock is above it, again after a refill and a new crossing."""

from __future__ import annotations

import pytest
from django.core import mail
from django.utils import timezone

from keylists.models import KeyList
from keylists.notices import key_list_low_stock_email_send
from keylists.services import (
    key_list_stock_note,
    key_list_threshold_save,
    license_keys_add,
)
from tests.factories import place

pytestmark = pytest.mark.django_db


@pytest.fixture
def sell(key_list_product, django_capture_on_commit_callbacks):
    """Place an order of `quantity` and run what its commit enqueues (eagerly)."""

    def sell(quantity: int = 1):
        with django_capture_on_commit_callbacks(execute=True):
            return place(key_list_product, quantity=quantity)

    return sell


@pytest.fixture
def stocked(key_list_product):
    key_list_threshold_save(product_id=key_list_product.pk, threshold=2)
    _add(key_list_product, 4)
    return key_list_product


def _add(product, count: int, start: int = 1) -> None:
    keys = "\n".join(f"K-{i}" for i in range(start, start + count))
    license_keys_add(product_id=product.pk, text=keys)


def _alerts(alice) -> list:
    return [m for m in mail.outbox if m.to == [alice.email]]


def test_no_email_while_the_stock_is_above_the_threshold(stocked, sell, alice):
    sell()

    assert _alerts(alice) == []
    assert KeyList.objects.get().low_stock_alerted_at is None


def test_one_email_when_the_stock_falls_to_the_threshold(stocked, sell, alice):
    sell()
    sell()

    [email] = _alerts(alice)
    assert email.subject == "2 keys left for Key Tamer"
    assert f"/dashboard/products/{stocked.pk}/keys/" in email.body
    assert KeyList.objects.get().low_stock_alerted_at is not None


def test_no_second_email_for_the_same_crossing(stocked, sell, alice):
    sell(quantity=2)
    sell()
    sell()

    assert len(_alerts(alice)) == 1


def test_a_refill_above_the_threshold_and_a_new_crossing_send_a_second_email(
    stocked, sell, alice
):
    sell(quantity=3)
    _add(stocked, 3, start=10)
    assert KeyList.objects.get().low_stock_alerted_at is None

    sell(quantity=2)

    assert [m.subject for m in _alerts(alice)] == [
        "1 key left for Key Tamer",
        "2 keys left for Key Tamer",
    ]


def test_a_refill_still_at_the_threshold_keeps_the_crossing_told(stocked, sell, alice):
    sell(quantity=3)
    _add(stocked, 1, start=10)

    sell()

    assert KeyList.objects.get().low_stock_alerted_at is not None
    assert len(_alerts(alice)) == 1


def test_concurrent_notes_stamp_the_crossing_once(stocked):
    now = timezone.now()
    KeyList.objects.update(low_stock_threshold=10)

    first = key_list_stock_note(product_id=stocked.pk, now=now)
    second = key_list_stock_note(product_id=stocked.pk, now=now)

    assert (first, second) == (True, False)


def test_a_list_refilled_before_the_email_left_sends_nothing(stocked, alice):
    # The task runs after the refill cleared the stamp: nothing to tell.
    assert key_list_low_stock_email_send(product_id=stocked.pk) == 0
    assert _alerts(alice) == []


def test_a_lower_threshold_re_arms_the_alert(stocked):
    KeyList.objects.update(low_stock_alerted_at=timezone.now())

    key_list_threshold_save(product_id=stocked.pk, threshold=1)

    assert KeyList.objects.get().low_stock_alerted_at is None


def test_the_email_escapes_the_product_name_in_html(stocked, alice):
    stocked.name = "<script>alert(1)</script>"
    stocked.save()
    KeyList.objects.update(low_stock_alerted_at=timezone.now())

    key_list_low_stock_email_send(product_id=stocked.pk)

    [email] = _alerts(alice)
    [(html, _)] = email.alternatives
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
