"""What the customer gets when the fallback serves their order: one email with
the key, as any license, and the key on their order page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from emails.models import OrderEmail
from fulfillment.services.keylist import deliveries_serve_from_lists
from tests.fulfillment.fallback import fallback_on, overdue

pytestmark = pytest.mark.django_db


@pytest.fixture
def served(live_product, mailoutbox, django_capture_on_commit_callbacks):
    fallback_on(live_product, "SPARE-1", "SPARE-2")
    delivery = overdue(live_product, email="customer@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        assert deliveries_serve_from_lists() == 1
    return delivery


def _to_customer(mailoutbox) -> list:
    # The seller may get the low-stock email too: the list is short.
    return [m for m in mailoutbox if m.to == ["customer@example.com"]]


def test_the_customer_gets_one_email_with_the_key(served, mailoutbox):
    [message] = _to_customer(mailoutbox)
    assert "Your license:\n\n`SPARE-1`" in message.body
    assert "<code>SPARE-1</code>" in message.alternatives[0][0]
    assert OrderEmail.objects.filter(order_id=served.order_id).count() == 1


def test_a_second_sweep_sends_no_second_email(
    served, mailoutbox, django_capture_on_commit_callbacks
):
    sent = len(mailoutbox)
    with django_capture_on_commit_callbacks(execute=True):
        assert deliveries_serve_from_lists() == 0

    assert len(mailoutbox) == sent
    assert len(_to_customer(mailoutbox)) == 1


def test_the_customers_order_page_shows_the_key_as_their_license(client, served):
    order = served.order

    page = client.get(reverse("orders:order", args=[order.token])).content.decode()

    assert "Your license" in page
    assert "<code>SPARE-1</code>" in page
    # The customer is not told where it came from: it is their license.
    assert "key list" not in page
