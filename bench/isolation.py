"""B2 isolation: one hanging seller server must not delay the others' customers.

Two runs on the same stack (B1's fulfillment workers, the email worker, beat), with
the same paced arrivals: a fixed order rate below saturation, so that latency is
not queueing behind a burst. The baseline orders only healthy products; in the
mixed run every tenth order is for a product whose server accepts the
connection and hangs past our total timeout (10 % of the products, 10 % of the
orders). Reported: order completed → email recorded for the healthy orders of
each run, and the ratio of the mixed run's to the baseline's.
"""

from __future__ import annotations

from bench.context import Context
from bench.email_backend import emails_counter_reset
from bench.load import batch, emails_wait, latencies_ms, orders_place, summary
from fulfillment.models import Delivery, DeliveryAttempt, EndpointHealth

SLOW_EVERY = 10  # every tenth order is for a slow product


def isolation_run(ctx: Context, *, rate: float, seconds: float) -> dict:
    procs = ctx.celery_stack(fulfillment_workers=ctx.workers, beat=True)
    try:
        baseline = _paced(ctx, tag="b2base", rate=rate, seconds=seconds, mixed=False)
        slow_before = ctx.seller_stats(ctx.slow).get("requests", 0)
        mixed = _paced(ctx, tag="b2mixed", rate=rate, seconds=seconds, mixed=True)
        mixed["slow"] = _slow_report(ctx, slow_before)
        died = [p.name for p in procs if not p.alive()]
    finally:
        ctx.stack.stop_all(procs)
    ratios = {
        key: _ratio(mixed["healthy_ms"].get(key), baseline["healthy_ms"].get(key))
        for key in ("p50", "p95", "p99")
    }
    return {
        "rate_per_second": rate,
        "seconds": seconds,
        "baseline": baseline,
        "mixed": mixed,
        "ratios": ratios,
        "processes_died": died,
    }


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a and b else None


def _paced(ctx: Context, *, tag: str, rate: float, seconds: float, mixed: bool):
    healthy, slow = ctx.data.healthy, ctx.data.slow

    def pick(i: int):
        if mixed and i % SLOW_EVERY == SLOW_EVERY - 1:
            return slow[(i // SLOW_EVERY) % len(slow)]
        return healthy[i % len(healthy)]

    count = int(rate * seconds)
    expected = sum(1 for i in range(count) if pick(i) in healthy)
    emails_counter_reset()
    ctx.log(f"B2 {tag}: {count} orders at {rate:g}/s ({expected} healthy)")
    placed = orders_place(
        pick=pick, count=count, tag=tag, rate=rate, threads=ctx.creators
    )
    orders = batch(tag).filter(product__in=healthy)
    waited = emails_wait(
        orders, expected=expected, timeout=min(ctx.timeout, 90), counter=expected
    )
    return {
        "orders": count,
        "healthy_orders": expected,
        "placing": placed.as_dict(),
        "wait": waited,
        "healthy_ms": summary(latencies_ms(orders)),
    }


def _slow_report(ctx: Context, slow_requests_before: int) -> dict:
    """What became of the slow orders by the end of the mixed run."""
    deliveries = Delivery.objects.filter(
        order__in=batch("b2mixed"), product__in=ctx.data.slow
    )
    key = f"http://127.0.0.1:{ctx.slow.info['ports'][0]}"
    health = EndpointHealth.objects.filter(key=key).first()
    statuses: dict[str, int] = {}
    for status in deliveries.values_list("status", flat=True):
        statuses[status] = statuses.get(status, 0) + 1
    return {
        "orders": deliveries.count(),
        "delivery_statuses": statuses,
        "attempts": DeliveryAttempt.objects.filter(delivery__in=deliveries).count(),
        "requests_reaching_slow_server": ctx.seller_stats(ctx.slow).get("requests", 0)
        - slow_requests_before,
        "circuit_open_until": health.open_until.isoformat()
        if health and health.open_until
        else None,
        "consecutive_failures": health.consecutive_failures if health else 0,
    }
