"""The tables every order writes carry no index that nothing reads
(orders 0007, fulfillment 0008, and the emails app's Meta indexes;
docs/decisions.md); orders 0010 grants the refund scope."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

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


# --- orders 0010: the orders:refund scope for tokens that create orders ---------

BEFORE_REFUNDS = [
    ("orders", "0009_order_passthrough"),
    ("emails", "0002_copy_from_orders"),
]
AFTER_REFUNDS = [("orders", "0010_order_after_sale")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_tokens_that_create_orders_may_report_their_refunds():
    apps = _migrate(BEFORE_REFUNDS)
    ApiToken = apps.get_model("orders", "ApiToken")
    writer = ApiToken.objects.create(
        name="Provider",
        prefix="fk_a",
        token_hash="a",
        scopes="orders:read,orders:write",
    )
    reader = ApiToken.objects.create(
        name="Reporting", prefix="fk_b", token_hash="b", scopes="orders:read"
    )
    try:
        apps = _migrate(AFTER_REFUNDS)
        ApiToken = apps.get_model("orders", "ApiToken")
        assert ApiToken.objects.get(pk=writer.pk).scopes == (
            "orders:read,orders:refund,orders:write"
        )
        assert ApiToken.objects.get(pk=reader.pk).scopes == "orders:read"

        apps = _migrate(BEFORE_REFUNDS)
        ApiToken = apps.get_model("orders", "ApiToken")
        assert ApiToken.objects.get(pk=writer.pk).scopes == "orders:read,orders:write"
    finally:
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
