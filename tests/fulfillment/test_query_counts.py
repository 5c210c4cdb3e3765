"""Queries per delivery, pinned: a change that adds one shows up here.

The figures are for one order of quantity 1 against a real seller server:
the attempt (admission, claim, load, attempt row, settle, order refresh,
circuit bookkeeping) and the customer email (claim, load, send, record).
"""

from __future__ import annotations

import pytest
from django.test import TestCase

from fulfillment.services.deliveries import delivery_attempt
from fulfillment.services.emails import order_email_send
from tests.factories import CustomFieldFactory, place

pytestmark = pytest.mark.django_db

# Two transactions (each a savepoint pair here, a BEGIN and COMMIT outside the
# test's transaction), so two commits: the claim, with the circuit check folded
# in (1), the delivery with its order, product, config, the config's custom
# fields (as one JSON column) and endpoint health (1); then, after the request,
# the attempt row (1), the settle (1), the order of one delivery (1, without
# reading it) and, as that fulfilled it, its email opened (1). Six statements.
ATTEMPT_QUERIES = 10
# Two transactions, so two commits: the claim (1), the order with its product
# (1) and its licenses (1), the product's files for their download links (1,
# issue 15 §3: the email lists them); then, after the provider took it, sent
# with the ESP's message id (1) and, in a savepoint of its own, its log entry
# (1) and any report of it that came first (1). Seven statements and three
# savepoint pairs.
EMAIL_QUERIES = 13


@pytest.fixture
def product_with_buyer_field(answering_product, email_backend):
    """The answering product; its config sends the buyer's email as a custom field."""
    CustomFieldFactory(
        config=answering_product.webhook_config, kind="customer_email", name="buyer"
    )
    return answering_product


def test_one_successful_attempt(product_with_buyer_field, django_assert_num_queries):
    order = place(product_with_buyer_field, email="jo@example.com")
    delivery = order.deliveries.get()

    with (
        django_assert_num_queries(ATTEMPT_QUERIES),
        TestCase.captureOnCommitCallbacks(execute=False),
    ):
        delivery_attempt(delivery_pk=delivery.pk)

    delivery.refresh_from_db()
    assert delivery.status == "succeeded"


def test_one_customer_email(product_with_buyer_field, django_assert_num_queries):
    order = place(product_with_buyer_field, email="jo@example.com")
    with TestCase.captureOnCommitCallbacks(execute=False):
        delivery_attempt(delivery_pk=order.deliveries.get().pk)

    with django_assert_num_queries(EMAIL_QUERIES):
        assert order_email_send(order_id=order.pk)


def test_queries_do_not_grow_with_custom_fields(
    product_with_buyer_field, django_assert_num_queries
):
    for i in range(5):
        CustomFieldFactory(
            config=product_with_buyer_field.webhook_config,
            kind="static",
            name=f"f{i}",
            value="v",
        )
    order = place(product_with_buyer_field, email="jo@example.com")
    delivery_pk = order.deliveries.get().pk

    with (
        django_assert_num_queries(ATTEMPT_QUERIES),
        TestCase.captureOnCommitCallbacks(execute=False),
    ):
        delivery_attempt(delivery_pk=delivery_pk)
