"""Reading the rows of the hot path without compiling a query for each one.

Three reads run once per order or delivery: the product an API order is for,
the claimed delivery with everything its attempt needs, and the order its
customer email is built from. Built with the ORM (`select_related` over up to
five tables, annotations, a prefetch) they spent more CPU compiling SQL than the
rest of their task: 39 % of a fulfillment worker's CPU went to the delivery's
load (the profile of `make bench`). Here each SELECT is written once per thread
from the models' own fields, and the rows become model instances exactly as the
ORM makes them: each value through the same database and field converters
(datetimes on SQLite, decryption of the signing secrets), then
`Model.from_db`, with the relations cached on the instances. Fields left out of
a SELECT (the signing secrets where nothing signs) are deferred, as with
`QuerySet.defer`.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import cast

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import Model

from orders.models import Checkout, Order
from products.models import Product

from ..models import CustomField, Delivery, EndpointHealth, WebhookConfig

# What reads that build no request leave out: each secret is a decryption.
_SECRETS = ("signing_secret", "previous_signing_secret")
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
class _Select:
    """A SELECT of several models' rows side by side, and how to split a row."""

    sql: str
    parts: list[_Columns]

    def instances(self, row) -> list[Model | None]:
        instances, start = [], 0
        for part in self.parts:
            end = start + len(part.attnames)
            instances.append(part.build(list(row[start:end])))
            start = end
        return instances


def _converted(values: list, converters: list[tuple]) -> list:
    out = []
    for value, convs in zip(values, converters, strict=True):
        for convert, expression in convs:
            value = convert(value, expression, connection)
        out.append(value)
    return out


def _columns(model: type[Model], alias: str, *, only=None, without=()) -> _Columns:
    fields = [
        f
        for f in model._meta.concrete_fields
        if (only is None or f.name in only) and f.name not in without
    ]
    converters = []
    for field in fields:
        expression = field.get_col(alias)
        found = connection.ops.get_db_converters(expression)
        found += field.get_db_converters(connection)
        converters.append(tuple((convert, expression) for convert in found))
    return _Columns(model, [f.attname for f in fields], converters)


def _select(parts: list[tuple[_Columns, str]], rest: str) -> _Select:
    """SELECT the parts' columns (each with its table alias) + `rest`, which
    names only tables and columns of our models; values are parameters."""
    quote = connection.ops.quote_name
    columns = [
        f"{alias}.{quote(column)}" for part, alias in parts for column in _names(part)
    ]
    sql = f"SELECT {', '.join(columns)} {rest}"  # noqa: S608 - see the docstring
    return _Select(sql, [part for part, _ in parts])


def _names(part: _Columns) -> list[str]:
    """The part's column names, in its order."""
    # (Every concrete field has a column; the condition tells the type checker.)
    by_attname = {
        f.attname: f.column for f in part.model._meta.concrete_fields if f.column
    }
    return [by_attname[attname] for attname in part.attnames]


def _column_list(part: _Columns, alias: str) -> str:
    quote = connection.ops.quote_name
    return ", ".join(f"{alias}.{quote(column)}" for column in _names(part))


def _table(model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


@dataclass(frozen=True)
class _Compiled:
    delivery: _Select
    # The config's custom fields, folded into `delivery` as its last column.
    custom_fields: _Columns
    product: _Select
    order_email: _Select
    licenses: str
    # The converters of the licenses query's two columns.
    license_columns: _Columns


def _custom_fields_json(fields: _Columns) -> str:
    """A scalar subquery with config `w`'s custom fields as one JSON array of
    rows (each an array of `fields`' columns); their order is restored in
    Python (`_custom_fields_from_json`). SQLite and PostgreSQL, as everything
    here."""
    table, quote = _table(CustomField), connection.ops.quote_name
    columns = ", ".join(f"f.{quote(column)}" for column in _names(fields))
    if connection.vendor == "postgresql":
        return (
            f"(SELECT json_agg(json_build_array({columns})) "  # noqa: S608
            f"FROM {table} f WHERE f.config_id = w.id)"
        )
    if connection.vendor == "sqlite":
        return (
            f"(SELECT json_group_array(json_array({columns})) "  # noqa: S608
            f"FROM {table} f WHERE f.config_id = w.id)"
        )
    raise NotImplementedError(f"No JSON aggregate for {connection.vendor}")


def _compile() -> _Compiled:
    config_unsigned = _columns(WebhookConfig, "w", without=_SECRETS)
    # In the model's field order: response_text, then licenses.
    license_columns = _columns(Delivery, "d", only=("response_text", "licenses"))
    fields = _columns(CustomField, "f")
    fields_json = _custom_fields_json(fields)
    delivery = _select(
        [
            (_columns(Delivery, "d"), "d"),
            (_columns(Order, "o"), "o"),
            (_columns(Checkout, "c"), "c"),
            (_columns(Product, "p"), "p"),
            (_columns(WebhookConfig, "w"), "w"),
            (_columns(EndpointHealth, "h", only=_HEALTH_FIELDS), "h"),
        ],
        f", {fields_json} FROM {_table(Delivery)} d "
        f"JOIN {_table(Product)} p ON p.id = d.product_id "
        f"LEFT JOIN {_table(WebhookConfig)} w ON w.product_id = p.id "
        f"LEFT JOIN {_table(Order)} o ON o.id = d.order_id "
        f"LEFT JOIN {_table(Checkout)} c ON c.id = o.checkout_id "
        f"LEFT JOIN {_table(EndpointHealth)} h "
        "ON h.key = d.endpoint_key AND d.endpoint_key <> '' "
        "WHERE d.id = %s",
    )
    return _Compiled(
        delivery=delivery,
        custom_fields=fields,
        product=_select(
            [(_columns(Product, "p"), "p"), (config_unsigned, "w")],
            f"FROM {_table(Product)} p "
            f"LEFT JOIN {_table(WebhookConfig)} w ON w.product_id = p.id "
            "WHERE p.slug = %s",
        ),
        order_email=_select(
            [(_columns(Order, "o"), "o"), (_columns(Product, "p"), "p")]
            + [(config_unsigned, "w")],
            f"FROM {_table(Order)} o "
            f"JOIN {_table(Product)} p ON p.id = o.product_id "
            f"LEFT JOIN {_table(WebhookConfig)} w ON w.product_id = p.id "
            "WHERE o.id = %s",
        ),
        licenses=(
            f"SELECT {_column_list(license_columns, 'd')} "  # noqa: S608
            f"FROM {_table(Delivery)} d "
            "WHERE d.order_id = %s AND NOT d.is_test ORDER BY d.item_index"
        ),
        license_columns=license_columns,
    )


_local = threading.local()


def _compiled() -> _Compiled:
    """Per thread and database connection: converters belong to a connection."""
    wrapper = connections[DEFAULT_DB_ALIAS]  # this thread's
    if getattr(_local, "wrapper", None) is not wrapper:
        _local.wrapper, _local.compiled = wrapper, _compile()
    return _local.compiled


def _fetch_one(select: _Select, param):
    with connection.cursor() as cursor:
        cursor.execute(select.sql, [param])
        return cursor.fetchone()


def delivery_load(delivery_pk: int) -> Delivery:
    """The delivery with its order and checkout, product, Webhook config and the
    config's custom fields, as cached relations, and its endpoint's breaker
    state as `endpoint_failures` and `endpoint_open_until` (None: no row)."""
    compiled = _compiled()
    row = _fetch_one(compiled.delivery, delivery_pk)
    if row is None:
        raise Delivery.DoesNotExist(f"Delivery {delivery_pk} does not exist.")
    # The SELECT's parts, in order (see _compile): the casts state what it reads.
    parts = compiled.delivery.instances(row)
    delivery = cast(Delivery, parts[0])
    order = cast(Order | None, parts[1])
    product = cast(Product, parts[3])
    config = cast(WebhookConfig | None, parts[4])
    health = cast(EndpointHealth | None, parts[5])
    if order is not None:  # an order always has its checkout
        order.checkout = cast(Checkout, parts[2])
        order.product = product
        delivery.order = order
    delivery.product = product
    _relate_config(product, config, compiled, row[-1])
    delivery.endpoint_failures = health.consecutive_failures if health else None
    delivery.endpoint_open_until = health.open_until if health else None
    return delivery


def product_load_by_slug(slug: str) -> Product | None:
    """The product with its Webhook config (signing secrets deferred), or None."""
    compiled = _compiled()
    row = _fetch_one(compiled.product, slug)
    if row is None:
        return None
    parts = compiled.product.instances(row)
    product = cast(Product, parts[0])
    _cache_config(product, cast(WebhookConfig | None, parts[1]))
    return product


def order_email_load(order_id: int) -> tuple[Order, list[str]]:
    """The order with its product and Webhook config (signing secrets deferred),
    and its licenses in item order."""
    compiled = _compiled()
    row = _fetch_one(compiled.order_email, order_id)
    if row is None:
        raise Order.DoesNotExist(f"Order {order_id} does not exist.")
    parts = compiled.order_email.instances(row)
    order, product = cast(Order, parts[0]), cast(Product, parts[1])
    order.product = product
    _cache_config(product, cast(WebhookConfig | None, parts[2]))
    with connection.cursor() as cursor:
        cursor.execute(compiled.licenses, [order_id])
        rows = cursor.fetchall()
    return order, _licenses_of(compiled.license_columns, rows)


def _licenses_of(columns: _Columns, rows) -> list[str]:
    """Every license of the rows (response_text, licenses), in order, as
    `Delivery.license_texts` reads one delivery's."""
    licenses: list[str] = []
    for row in rows:
        text, listed = _converted(list(row), columns.converters)
        licenses.extend(listed or [text])
    return licenses


def _relate_config(product: Product, config, compiled: _Compiled, fields_json) -> None:
    """Cache the config on the product, with its custom fields (from
    `fields_json`, the delivery row's last column) as its prefetch."""
    _cache_config(product, config)
    if config is None:
        return
    fields = _custom_fields_from_json(compiled.custom_fields, fields_json)
    related = config.custom_fields.all()
    related._result_cache, related._prefetch_done = fields, True
    config._prefetched_objects_cache = {"custom_fields": related}


def _custom_fields_from_json(columns: _Columns, value) -> list[CustomField]:
    """CustomField instances from the JSON array of rows, in page order.

    psycopg hands over PostgreSQL's json parsed, SQLite a string; a config
    without fields is NULL (PostgreSQL) or an empty array (SQLite)."""
    if value is None:
        return []
    rows = json.loads(value) if isinstance(value, str) else value
    fields = [cast(CustomField, columns.build(list(row))) for row in rows]
    fields.sort(key=lambda field: (field.position, field.pk))
    return fields


def _cache_config(product: Product, config) -> None:
    if config is None:
        # Cached as absent, so `getattr(product, "webhook_config", None)` asks
        # nobody.
        Product.webhook_config.related.set_cached_value(product, None)
    else:
        product.webhook_config = config
