"""The tables every order writes carry no index that nothing reads
(orders 0007, fulfillment 0008, and the emails app's Meta indexes;
docs/decisions.md)."""

from __future__ import annotations

import pytest
from django.db import connection

from tests.services import SERVICES_HINT, on_postgres

pytestmark = pytest.mark.django_db

HOT_TABLES = (
    "orders_order",
    "orders_checkout",
    "emails_orderemail",
    "emails_emailevent",
    "fulfillment_delivery",
    "fulfillment_deliveryattempt",
)


def _indexes(table: str) -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", [table]
        )
        return dict(cursor.fetchall())


@pytest.mark.parametrize("table", HOT_TABLES)
def test_no_pattern_ops_copy_of_an_index_on_a_hot_table(table):
    if not on_postgres():
        pytest.skip(f"only PostgreSQL gets them: {SERVICES_HINT}")
    copies = [name for name, sql in _indexes(table).items() if "pattern_ops" in sql]
    assert copies == []


def test_the_unique_indexes_they_copied_still_hold():
    if not on_postgres():
        pytest.skip(f"PostgreSQL's index names: {SERVICES_HINT}")
    names = {name for table in HOT_TABLES for name in _indexes(table)}
    assert {
        "orders_order_transaction_id_key",
        "orders_order_token_key",
        "orders_checkout_hash_key",
        "orders_checkout_nonce_key",
        "fulfillment_delivery_delivery_id_key",
    } <= names
