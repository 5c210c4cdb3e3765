"""Loading a claimed delivery with everything its attempt needs, without
compiling a query for every attempt.

The ORM version (`select_related` over five tables, two annotations and a
prefetch) spent more of a fulfillment worker's CPU compiling SQL than the rest
of the attempt (the profile of `make bench`: 39 %). Here the SELECT is written
once per thread from the models' own fields, and the rows become model
instances exactly as the ORM makes them: each value through the same database
and field converters (datetimes on SQLite, decryption of the signing secrets),
then `Model.from_db`, with the relations cached on the instances.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import Model

from orders.models import Checkout, Order
from products.models import Product

from ..models import CustomField, Delivery, EndpointHealth, WebhookConfig

# The rows of one SELECT, in order: (model, table alias, nullable join).
_TABLES = (
    (Delivery, "d", False),
    (Order, "o", True),
    (Checkout, "c", True),
    (Product, "p", False),
    (WebhookConfig, "w", True),
)
_HEALTH_FIELDS = ("consecutive_failures", "open_until")


@dataclass(frozen=True)
class _Columns:
    """One model's columns in a SELECT, with their converters."""

    model: type[Model]
    attnames: list[str]
    converters: list[tuple]  # per column: ((converter, expression), ...)

    def build(self, values: list) -> Model | None:
        if values[0] is None:  # the primary key: an outer join found no row
            return None
        return self.model.from_db(
            connection.alias, self.attnames, _converted(values, self.converters)
        )


@dataclass(frozen=True)
class _Compiled:
    delivery_sql: str
    delivery_columns: list[_Columns]
    health_converters: list[tuple]
    custom_fields_sql: str
    custom_fields_columns: _Columns


def _converted(values: list, converters: list[tuple]) -> list:
    out = []
    for value, convs in zip(values, converters, strict=True):
        for convert, expression in convs:
            value = convert(value, expression, connection)
        out.append(value)
    return out


def _columns(model: type[Model], alias: str, names=None) -> tuple[list[str], _Columns]:
    fields = [
        f for f in model._meta.concrete_fields if names is None or f.name in names
    ]
    quote = connection.ops.quote_name
    selected = [f"{alias}.{quote(f.column)}" for f in fields]
    converters = []
    for field in fields:
        expression = field.get_col(alias)
        found = connection.ops.get_db_converters(expression)
        found += field.get_db_converters(connection)
        converters.append(tuple((convert, expression) for convert in found))
    return selected, _Columns(model, [f.attname for f in fields], converters)


def _compile() -> _Compiled:
    quote = connection.ops.quote_name
    selected, parts = [], []
    for model, alias, _ in _TABLES:
        columns, part = _columns(model, alias)
        selected += columns
        parts.append(part)
    health_selected, health = _columns(EndpointHealth, "h", _HEALTH_FIELDS)
    table = {model: quote(model._meta.db_table) for model, _, _ in _TABLES}
    # Only the models' own quoted table and column names are interpolated; the
    # one value, the primary key, is a parameter.
    delivery_sql = (
        f"SELECT {', '.join(selected + health_selected)} "  # noqa: S608
        f"FROM {table[Delivery]} d "
        f"JOIN {table[Product]} p ON p.id = d.product_id "
        f"LEFT JOIN {table[WebhookConfig]} w ON w.product_id = p.id "
        f"LEFT JOIN {table[Order]} o ON o.id = d.order_id "
        f"LEFT JOIN {table[Checkout]} c ON c.id = o.checkout_id "
        f"LEFT JOIN {quote(EndpointHealth._meta.db_table)} h "
        "ON h.key = d.endpoint_key AND d.endpoint_key <> '' "
        "WHERE d.id = %s"
    )
    custom_selected, custom = _columns(CustomField, "f")
    custom_fields_sql = (
        f"SELECT {', '.join(custom_selected)} "  # noqa: S608 - as above
        f"FROM {quote(CustomField._meta.db_table)} f "
        "WHERE f.config_id = %s ORDER BY f.position, f.id"
    )
    return _Compiled(delivery_sql, parts, health.converters, custom_fields_sql, custom)


_local = threading.local()


def _compiled() -> _Compiled:
    """Per thread and database connection: converters belong to a connection."""
    wrapper = connections[DEFAULT_DB_ALIAS]  # this thread's
    if getattr(_local, "wrapper", None) is not wrapper:
        _local.wrapper, _local.compiled = wrapper, _compile()
    return _local.compiled


def delivery_load(delivery_pk: int) -> Delivery:
    """The delivery with its order and checkout, product, Webhook config and the
    config's custom fields, as cached relations, and its endpoint's breaker
    state as `endpoint_failures` and `endpoint_open_until` (None: no row)."""
    compiled = _compiled()
    with connection.cursor() as cursor:
        cursor.execute(compiled.delivery_sql, [delivery_pk])
        row = cursor.fetchone()
        if row is None:
            raise Delivery.DoesNotExist(f"Delivery {delivery_pk} does not exist.")
        delivery, order, checkout, product, config = _instances(compiled, list(row))
        custom_fields = _custom_fields(cursor, compiled, config)
    _relate(delivery, order, checkout, product, config, custom_fields)
    health = _converted(list(row[-len(_HEALTH_FIELDS) :]), compiled.health_converters)
    delivery.endpoint_failures, delivery.endpoint_open_until = health
    return delivery


def _instances(compiled: _Compiled, row: list) -> list[Model | None]:
    instances, start = [], 0
    for part in compiled.delivery_columns:
        end = start + len(part.attnames)
        instances.append(part.build(row[start:end]))
        start = end
    return instances


def _custom_fields(cursor, compiled: _Compiled, config) -> list[CustomField]:
    if config is None:
        return []
    cursor.execute(compiled.custom_fields_sql, [config.pk])
    build = compiled.custom_fields_columns.build
    return [build(list(values)) for values in cursor.fetchall()]


def _relate(delivery, order, checkout, product, config, custom_fields) -> None:
    delivery.product = product
    if order is not None:
        order.checkout = checkout
        order.product = product
        delivery.order = order
    if config is None:
        # Cached as absent, so `getattr(product, "webhook_config", None)` asks
        # nobody.
        Product.webhook_config.related.set_cached_value(product, None)
        return
    product.webhook_config = config
    related = config.custom_fields.all()
    related._result_cache, related._prefetch_done = custom_fields, True
    config._prefetched_objects_cache = {"custom_fields": related}
