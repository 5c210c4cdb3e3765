"""The kill scenario of issue 11: 300 orders through the API over 45 s across five
products on one TLS seller server (one answers 500 twice per delivery), while a
fulfillment worker, the email worker and gunicorn's master are SIGKILLed and
started again and the broker's database is flushed.

Kill windows. An order is *inside* when its path in our system, from the
order's completion to its email, overlaps any fault's window [struck - 2 s,
answering again + 2 s] (for the flush: [flush - 2 s, flush + 2 s]); else
*outside*. The issue's alternative, *placed* within [struck - 2 s, struck +
30 s], is reported beside it.
"""

from __future__ import annotations

import argparse
import math
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
from bench.chaos.faults import SCHEDULE, SECOND_KILL, Event, Faults
from bench.chaos.harness import Run
from bench.chaos.measure import OrderFacts, log_lines, orders_read, orders_wait

PRODUCTS = (
    ProductSpec("alpha"),
    ProductSpec("beta", {"separate_multibuy": "on"}, quantities=(1, 1, 2)),
    ProductSpec("gamma", {"body_format": "json"}, quantities=(1, 1, 3)),
    ProductSpec("delta", {"method": "GET"}),
    ProductSpec(
        "flaky", {"separate_multibuy": "on"}, fail_first=2, quantities=(1, 1, 1, 2)
    ),
)
# Bounds of the issue.
LAST_DUE_TO_EMAIL_MAX_S = 30.0
HEALTHY_P95_OUTSIDE_MAX_S = 10.0
# Window margins (seconds): see the module docstring.
MARGIN = 2.0
PLACED_AFTER = 30.0


def kills_run(run: Run, args: argparse.Namespace) -> dict:
    """`args`: orders, seconds, clients, second_kill, wait (see __main__)."""
    orders, seconds = args.orders, args.seconds
    seller, catalogue = run.one_seller_start(PRODUCTS)
    run.log(f"stack up; {orders} orders over {seconds:g} s")
    plans = orders_plan(catalogue, tag=run.name, count=orders, seconds=seconds)
    t0 = time.time() + 1.0
    schedule = SCHEDULE + ((SECOND_KILL,) if args.second_kill else ())
    faults = Faults(run.deployment, schedule, t0)
    faults.start()
    sent = run.orders_send(catalogue, plans, t0=t0, clients=args.clients)
    faults.join()
    run.log(f"load done at {time.time() - t0:.0f} s; waiting for every email")
    waited = orders_wait(
        run.name, expected=len(plans), not_before=0, timeout=args.wait, log=run.log
    )
    return _figures(run, catalogue, seller, sent, faults, waited, t0)


def _figures(run, catalogue, seller, sent, faults, waited, t0) -> dict:
    orders = orders_read(run.name)
    healthy = {slug for slug, spec in catalogue.specs.items() if spec.healthy}
    events = faults.events
    latency = {
        "path": _latency_groups(orders, healthy, lambda o: _path_inside(o, events)),
        "placed": _latency_groups(orders, healthy, lambda o: _placed_inside(o, events)),
    }
    last_due = _last_due(orders, run, t0)
    figures = {
        "t0": t0,
        "events": [event.as_dict(t0) for event in events],
        "faults_errors": faults.errors,
        "wait": waited,
        **common_figures(run, orders=orders, sent=sent, records=seller.records()),
        "latency_s": latency,
        "last_due_to_email": last_due,
        "interrupted_attempts": _interrupted(orders),
        "attempt_lateness_s": attempt_lateness(orders, t0),
    }
    figures["checks"] = [check.as_dict() for check in _checks(figures)]
    return figures


def _path_inside(order: OrderFacts, events: list[Event]) -> bool:
    end = order.email_sent_at or math.inf
    return any(
        order.completed_at <= event.back_at + MARGIN and end >= event.at - MARGIN
        for event in events
    )


def _placed_inside(order: OrderFacts, events: list[Event]) -> bool:
    return any(
        event.at - MARGIN <= order.completed_at <= event.at + PLACED_AFTER
        for event in events
    )


def _latency_groups(orders: list[OrderFacts], healthy: set[str], inside) -> dict:
    groups: dict[str, list[float]] = {}
    for order in orders:
        if order.latency is None:
            continue
        kind = "healthy" if order.product in healthy else "flaky"
        where = "inside" if inside(order) else "outside"
        groups.setdefault(f"{kind}_{where}", []).append(order.latency)
    names = ("healthy_outside", "healthy_inside", "flaky_outside", "flaky_inside")
    return {name: stats(groups.get(name, [])) for name in names}


def _last_due(orders: list[OrderFacts], run: Run, t0: float) -> dict:
    values = [
        (o.last_due_to_email, o) for o in orders if o.last_due_to_email is not None
    ]
    late = [o for value, o in values if value > LAST_DUE_TO_EMAIL_MAX_S]
    scheduled = [o.last_scheduled_to_email for o in orders]
    return {
        **stats([value for value, _ in values]),
        "orders_without_figure": len(orders) - len(values),
        "over_bound": [_order_story(o, run, t0) for o in late],
        "from_lost_claims": stats([value for value in scheduled if value is not None]),
    }


def _order_story(order: OrderFacts, run: Run, t0: float) -> dict:
    """Everything about one order over a bound: its attempts and its log lines."""

    def rel(value: float | None) -> float | None:
        return None if value is None else round(value - t0, 2)

    return {
        "transaction_id": order.transaction_id,
        "product": order.product,
        "completed_s": rel(order.completed_at),
        "emailed_s": rel(order.email_sent_at),
        "last_due_to_email_s": round(order.last_due_to_email, 2),
        "deliveries": [
            {
                "delivery_id": d["delivery_id"],
                "lost_claims": d["lost_claims"],
                "succeeded_s": rel(d["succeeded_at"]),
                "attempts": [
                    {
                        "number": a["number"],
                        "error_kind": a["error_kind"] or "ok",
                        "status": a["response_status"],
                        "due_s": rel(a["due_at"]),
                        "started_s": rel(a["started_at"]),
                    }
                    for a in d["attempts"]
                ],
                "log": log_lines(run.logs, d["delivery_id"]),
            }
            for d in order.deliveries
        ],
        "order_log": log_lines(run.logs, f"Order {order.pk}:"),
    }


def _interrupted(orders: list[OrderFacts]) -> dict:
    deliveries = [d for o in orders for d in o.deliveries]
    return {
        "attempts": sum(
            a["error_kind"] == "interrupted" for d in deliveries for a in d["attempts"]
        ),
        "deliveries_with_lost_claims": sum(d["lost_claims"] > 0 for d in deliveries),
    }


def _checks(figures: dict) -> list[Check]:
    last_due = figures["last_due_to_email"]
    outside = figures["latency_s"]["path"]["healthy_outside"]
    return [
        *integrity_checks(figures["integrity"]),
        Check(
            "every order emailed within 30 s of its last scheduled attempt",
            last_due.get("n", 0) == figures["integrity"]["orders"]["planned"]
            and last_due.get("max", math.inf) <= LAST_DUE_TO_EMAIL_MAX_S,
            f"max {last_due.get('max')} s over {last_due.get('n', 0)} orders; "
            f"{len(last_due['over_bound'])} over 30 s",
        ),
        Check(
            "healthy products: p95 order → email under 10 s outside the kill windows",
            outside.get("n", 0) > 0
            and outside.get("p95", math.inf) < HEALTHY_P95_OUTSIDE_MAX_S,
            f"p95 {outside.get('p95')} s over {outside.get('n', 0)} orders",
        ),
        Check(
            "the faults ran and no process died on its own",
            not figures["faults_errors"] and not figures["processes_died"],
            f"faults errors {figures['faults_errors'] or 'none'}; "
            f"died {figures['processes_died'] or 'none'}",
        ),
    ]
