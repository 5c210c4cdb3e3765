"""B1 throughput (ours, raw, naive), B4 memory and B5 scale.

- raw: one thread, one `requests.Session` (its connection kept alive),
  sequential signed POSTs to one port of the fast seller server: what this box
  can do at all.
- naive: `bench/naive.py`, one Celery task per webhook, same pool, worker
  processes and concurrency as ours, enqueued as fast as the driver can; timed
  from the first enqueue to the seller server's last verified request.
- ours: orders placed through `order_create_from_api` by the driver's threads while the
  workers run; timed from the first order to the last email's `sent_at`. Every
  order was fulfilled by a verified webhook, its attempt stored, its email
  counted.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime

import requests
from django.db import connection, connections
from django.utils import timezone

from bench import cpu, naive, pgstats
from bench.context import Context
from bench.env import database_url
from bench.fixtures import product_entry
from bench.load import batch, emails_wait, last_email_at, latencies_ms, orders_place
from bench.load import summary as stats_summary
from bench.stack import memory, worker_start, workers_wait
from bench.wire import signed_form, webhook_fields
from fulfillment.models import DeliveryAttempt
from lib.ids import new_delivery_id
from products.models import Product


def _fields(product: Product, i: int, delivery_id: str) -> dict[str, str]:
    """The fields one of our deliveries of `product` carries (see payload.py)."""
    return webhook_fields(
        product=product_entry(product),
        order_id=100000 + i,
        delivery_id=delivery_id,
        email=f"c{i}@raw.bench.example",
        event_time=timezone.now().isoformat(),
    )


def raw_run(ctx: Context, *, count: int) -> dict:
    """A bare requests.Session loop against the fast server: the physical limit."""
    product = ctx.data.healthy[0]
    secret = product.webhook_config.signing_secret
    before = ctx.seller_stats()
    components = {"driver": [os.getpid()], "seller_server": [ctx.fast.pid]}
    cpu_before = cpu.snapshot(components)
    failures = 0
    with requests.Session() as session:
        started = time.perf_counter()
        for i in range(count):
            delivery_id = new_delivery_id()
            body, headers = signed_form(
                _fields(product, i, delivery_id), secret=secret, msg_id=delivery_id
            )
            answer = session.post(
                product.webhook_config.url, data=body, headers=headers, timeout=15
            )
            failures += answer.status_code != 200
        seconds = time.perf_counter() - started
    cpu_used = cpu.usage(cpu_before, cpu.snapshot(components), per=count)
    verified = ctx.seller_stats()["verified"] - before.get("verified", 0)
    return {
        "requests": count,
        "seconds": round(seconds, 2),
        "per_second": round(count / seconds, 1),
        "verified_by_seller": verified,
        "failures": failures,
        "cpu": cpu_used,
    }


def naive_run(ctx: Context, *, count: int) -> dict:
    """The naive peer over the same number of webhooks."""
    procs = [
        worker_start(
            ctx.stack,
            name=f"naive{k + 1}",
            queues=naive.QUEUE,
            concurrency=ctx.concurrency,
            app="bench.naive",
            env=ctx.env_without_django(),
        )
        for k in range(ctx.workers)
    ]
    try:
        workers_wait(procs, naive.app)
        before = ctx.seller_stats()
        components = {
            "driver": [os.getpid()],
            "naive_worker": [proc.pid for proc in procs],
            "seller_server": [ctx.fast.pid],
        }
        cpu_before = cpu.snapshot(components)
        started = time.time()
        products = ctx.data.healthy
        for i in range(count):
            product = products[i % len(products)]
            delivery_id = new_delivery_id()
            naive.webhook_post.delay(
                product.webhook_config.url,
                _fields(product, i, delivery_id),
                product.webhook_config.signing_secret,
                delivery_id,
            )
        enqueued = time.time() - started
        verified, done = _seller_verified_wait(ctx, before, count)
        cpu_used = cpu.usage(cpu_before, cpu.snapshot(components), per=count)
        after = ctx.seller_stats()
    finally:
        ctx.stack.stop_all(procs)
    seconds = after["last_verified_at"] - started
    return {
        "workers": len(procs),
        "tasks": count,
        "enqueue_seconds": round(enqueued, 2),
        "seconds": round(seconds, 2),
        "per_second": round(verified / seconds, 1),
        "verified_by_seller": verified,
        "timed_out": not done,
        "cpu": cpu_used,
    }


def _seller_verified_wait(ctx: Context, before: dict, count: int) -> tuple[int, bool]:
    deadline = time.monotonic() + ctx.timeout
    while True:
        verified = ctx.seller_stats()["verified"] - before.get("verified", 0)
        if verified >= count or time.monotonic() > deadline:
            return verified, verified >= count
        time.sleep(0.1)


def ours_run(
    ctx: Context,
    *,
    tag: str,
    count: int,
    fulfillment_workers: int,
) -> dict:
    """`count` orders (one delivery each) placed while the workers run, beat on."""
    procs = ctx.celery_stack(fulfillment_workers=fulfillment_workers, beat=True)
    components = {
        "driver": [os.getpid()],
        "fulfillment_workers": [p.pid for p in procs if p.name.startswith("fulf")],
        "email_worker": [p.pid for p in procs if p.name == "email"],
        "beat": [p.pid for p in procs if p.name == "beat"],
        "seller_server": [ctx.fast.pid],
    }
    statements = pgstats.statements_available(database_url())
    try:
        pg_before = _pg_snapshot(statements, wait=False)
        before = ctx.seller_stats()
        cpu_before = cpu.snapshot(components)
        products = ctx.data.healthy
        placed = orders_place(
            pick=lambda i: products[i % len(products)],
            count=count,
            tag=tag,
            threads=ctx.creators,
        )
        waited = emails_wait(
            batch(tag), expected=count, timeout=ctx.timeout, counter=count
        )
        cpu_used = cpu.usage(cpu_before, cpu.snapshot(components), per=count)
        # B4: every process's peak RSS, sampled at the end of the run.
        mem = {p.name: {**p.info, **memory(p.pid)} for p in procs}
        died = [p.name for p in procs if not p.alive()]
        after = ctx.seller_stats()
    finally:
        ctx.stack.stop_all(procs)
    pg_after = _pg_snapshot(statements, wait=True)
    figures = _ours_figures(tag, count, placed, waited, before, after)
    return {
        "fulfillment_workers": fulfillment_workers,
        **figures,
        "postgresql": pgstats.delta(
            pg_before, pg_after, deliveries=count, attempts=figures["attempts_stored"]
        ),
        "cpu": cpu_used,
        "memory": mem,
        "processes_died": died,
    }


def _pg_snapshot(statements: bool, *, wait: bool) -> dict:
    """PostgreSQL's counts for our database. The driver's own connections end
    first, so that their counts are published; after a run, so have the
    workers' (`wait` for them to be gone)."""
    connections.close_all()
    if hasattr(connection, "close_pool"):
        connection.close_pool()
    pgstats.quiesce(database_url(), timeout=10 if wait else 2)
    return pgstats.snapshot(database_url(), statements=statements)


def _ours_figures(tag, count, placed, waited, before, after) -> dict:
    orders = batch(tag)
    last = last_email_at(orders) or datetime.now(UTC)
    seconds = (last - placed.started).total_seconds()
    done = waited["emails_sent_in_db"]
    attempts = DeliveryAttempt.objects.filter(delivery__order__in=orders)
    return {
        "deliveries": count,
        "placing": placed.as_dict(),
        "wait": waited,
        "seconds": round(seconds, 2),
        "per_second": round(done / seconds, 1),
        "after_last_order_s": round(seconds - placed.seconds, 2),
        "attempts_stored": attempts.count(),
        "attempts_succeeded": attempts.filter(succeeded=True).count(),
        "verified_by_seller": after["verified"] - before.get("verified", 0),
        "rejected_by_seller": after.get("rejected", 0) - before.get("rejected", 0),
        "order_to_email_ms": stats_summary(latencies_ms(orders)),
    }
