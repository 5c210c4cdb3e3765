"""The limit loop: the durable work of a delivery in bare psycopg, nothing more.

    python -m bench.peers.limit --setup --catalog FILE
    python -m bench.peers.limit --catalog FILE --count 3000 --threads 32 \
        --process 0 --processes 2

Each process has a psycopg pool (autocommit connections, up to one per thread,
each held only while a statement runs, not during the POST) and each thread one
`requests.Session`; for each of its orders a thread runs four statements, each
its own commit: place the order and its delivery (one INSERT), claim the
delivery (UPDATE ... RETURNING), POST the signed request, then record the
attempt and settle the delivery and the order (one statement), and mark the
email sent (UPDATE). No broker, no ORM, no email is built or sent: the floor of
what a durable delivery costs. The processes follow bench/peers/protocol.py.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from psycopg_pool import ConnectionPool

from bench.env import process_database_url
from bench.peers import protocol
from bench.wire import RESPONSE_CHARS, session, signed_form, webhook_fields

SCHEMA = """
CREATE TABLE products (
    id integer PRIMARY KEY, name text NOT NULL, price numeric(10, 2) NOT NULL,
    currency char(3) NOT NULL, url text NOT NULL, secret text NOT NULL);
CREATE TABLE orders (
    id bigserial PRIMARY KEY, product_id integer NOT NULL REFERENCES products,
    customer_email text NOT NULL, created_at timestamptz NOT NULL DEFAULT now(),
    status text NOT NULL DEFAULT 'pending', fulfilled_at timestamptz,
    email_sent_at timestamptz);
CREATE TABLE deliveries (
    id bigserial PRIMARY KEY, order_id bigint NOT NULL REFERENCES orders,
    uuid uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),
    status text NOT NULL DEFAULT 'pending', claimed_at timestamptz,
    license text, delivered_at timestamptz);
CREATE INDEX ON deliveries (order_id);
CREATE TABLE attempts (
    id bigserial PRIMARY KEY, delivery_id bigint NOT NULL REFERENCES deliveries,
    created_at timestamptz NOT NULL DEFAULT now(), succeeded boolean NOT NULL,
    status_code integer, duration_ms integer NOT NULL, response text);
CREATE INDEX ON attempts (delivery_id);
"""

PLACE = """
WITH o AS (INSERT INTO orders (product_id, customer_email) VALUES (%s, %s)
           RETURNING id)
INSERT INTO deliveries (order_id) SELECT id FROM o RETURNING id, order_id, uuid
"""
CLAIM = """
UPDATE deliveries SET status = 'in_flight', claimed_at = now()
WHERE id = %s AND status = 'pending' RETURNING id
"""
SETTLE = """
WITH a AS (INSERT INTO attempts (delivery_id, succeeded, status_code, duration_ms,
                                 response) VALUES (%(d)s, %(ok)s, %(code)s, %(ms)s,
                                 %(text)s)),
     d AS (UPDATE deliveries SET status = CASE WHEN %(ok)s THEN 'delivered'
                                          ELSE 'failed' END,
                                 license = %(text)s, delivered_at = now()
           WHERE id = %(d)s)
UPDATE orders SET status = 'fulfilled', fulfilled_at = now()
WHERE id = %(o)s AND %(ok)s
"""
MARK_EMAIL = """
UPDATE orders SET email_sent_at = now() WHERE id = %s AND email_sent_at IS NULL
"""


def setup(url: str, catalog: list[dict]) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SCHEMA)
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO products VALUES (%s, %s, %s, %s, %s, %s)",
                [(p["id"], p["name"], p["price"], p["currency"], p["url"],
                  p["secret"]) for p in catalog],
            )  # fmt: skip


def _one(pool: ConnectionPool, query: str, params) -> tuple | None:
    with pool.connection() as conn:
        return conn.execute(query, params).fetchone()


def _run(pool: ConnectionPool, query: str, params) -> None:
    with pool.connection() as conn:
        conn.execute(query, params)


def deliver(pool: ConnectionPool, product: dict, email: str) -> None:
    """One order, from placing it to marking its email."""
    delivery_id, order_id, uuid = _one(pool, PLACE, (product["id"], email))
    if _one(pool, CLAIM, (delivery_id,)) is None:
        return
    fields = webhook_fields(
        product=product,
        order_id=order_id,
        delivery_id=str(uuid),
        email=email,
        event_time=datetime.now(UTC).isoformat(),
    )
    body, headers = signed_form(fields, secret=product["secret"], msg_id=str(uuid))
    started = time.monotonic()
    answer = session().post(product["url"], data=body, headers=headers, timeout=15)
    ok = answer.status_code == 200
    _run(
        pool,
        SETTLE,
        {"d": delivery_id, "o": order_id, "ok": ok, "code": answer.status_code,
         "ms": int((time.monotonic() - started) * 1000),
         "text": answer.text[:RESPONSE_CHARS]},
    )  # fmt: skip
    if ok:
        _run(pool, MARK_EMAIL, (order_id,))


def run(pool: ConnectionPool, catalog: list[dict], args: argparse.Namespace) -> dict:
    def work(i: int) -> None:
        product = catalog[i % len(catalog)]
        deliver(pool, product, f"c{i}@{args.tag}.bench.example")

    started = time.time()
    errors = protocol.work_split(
        work,
        count=args.count,
        threads=args.threads,
        first=args.process,
        step=args.processes,
    )
    return {
        "started_at": started,
        "seconds": round(time.time() - started, 2),
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--setup", action="store_true", help="create the tables and products")
    add("--catalog", type=Path, required=True, help="the products (JSON)")
    add("--count", type=int, default=0, help="orders, all processes together")
    add("--threads", type=int, default=32)
    add("--process", type=int, default=0, help="this process's number")
    add("--processes", type=int, default=1)
    add("--tag", default="limit")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    url = process_database_url(os.environ["BENCH_PEER_DATABASE_URL"])
    catalog = json.loads(args.catalog.read_text())
    if args.setup:
        setup(url, catalog)
        return
    pool = ConnectionPool(
        url, min_size=4, max_size=args.threads, kwargs={"autocommit": True}
    )
    pool.wait()
    protocol.say({"ready": True})
    protocol.wait_go()
    protocol.say(run(pool, catalog, args))
    pool.close()
    protocol.wait_end()


if __name__ == "__main__":
    main()
