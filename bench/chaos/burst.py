"""The burst scenario: no fault at all, a burst of orders (150 in 3 s by default)
to one seller endpoint, whose in-flight limit (4) defers most of them for 1-3 s.

Not a bound of issue 11: it isolates what the kills scenario showed after
gunicorn's restart, when the clients' backlog arrives at once. Every attempt
should go out within a few seconds of its due time; one more than 5 s late
waited for the dispatcher's sweep, its broker message consumed without a claim,
a deferral or a new message.
"""

from __future__ import annotations

import argparse
import time

from bench.chaos.catalogue import ProductSpec
from bench.chaos.checks import (
    Check,
    attempt_lateness,
    common_figures,
    integrity_checks,
    stats,
)
from bench.chaos.clients import orders_plan
from bench.chaos.harness import Run
from bench.chaos.measure import orders_read, orders_wait

PRODUCTS = (
    ProductSpec("alpha"),
    ProductSpec("beta", {"separate_multibuy": "on"}, quantities=(2,)),
)


def burst_run(run: Run, args: argparse.Namespace) -> dict:
    """`args`: burst_orders, burst_seconds, clients, wait (see __main__)."""
    seller, catalogue = run.one_seller_start(PRODUCTS)
    plans = orders_plan(
        catalogue, tag=run.name, count=args.burst_orders, seconds=args.burst_seconds
    )
    run.log(f"stack up; {len(plans)} orders in {args.burst_seconds:g} s")
    t0 = time.time() + 1.0
    sent = run.orders_send(catalogue, plans, t0=t0, clients=args.clients)
    waited = orders_wait(
        run.name, expected=len(plans), not_before=0, timeout=args.wait, log=run.log
    )
    orders = orders_read(run.name)
    figures = {
        "t0": t0,
        "wait": waited,
        **common_figures(run, orders=orders, sent=sent, records=seller.records()),
        "latency_s": stats([o.latency for o in orders if o.latency is not None]),
        "attempt_lateness_s": attempt_lateness(orders, t0),
    }
    late = figures["attempt_lateness_s"]["late"]
    latest = max((item["late_s"] for item in late), default=0)
    checks = [
        *integrity_checks(figures["integrity"]),
        Check(
            "no attempt more than 5 s late without a fault (not a bound of the issue)",
            not late,
            f"{len(late)} of {figures['integrity']['orders']['deliveries']} "
            f"deliveries' attempts; latest +{latest} s",
            must=False,
        ),
    ]
    figures["checks"] = [check.as_dict() for check in checks]
    return figures
