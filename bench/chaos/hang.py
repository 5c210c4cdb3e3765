"""The hang scenario of issue 11: a seller's server hangs for 2 minutes (it
accepts every request and never answers within our 15 s deadline), then
recovers, while its orders keep arriving (2/s for 60 s), and a healthy product
on another server (another port, so another endpoint) takes orders at the same
rate.

Reported: when the circuit opened and closed (watched in the database every
0.25 s), the probes (requests that reached the hanging server while its
circuit was open), and for every held delivery (not yet succeeded when the
server recovered) the time from the recovery to its success; the bound is
60 s. The healthy product's order → email during the hang shows it unaffected.
"""

from __future__ import annotations

import argparse
import math
import threading
import time
from collections import Counter

from django.db import connection

from bench.chaos.catalogue import ProductSpec, catalogue_create
from bench.chaos.checks import Check, common_figures, integrity_checks, stats
from bench.chaos.clients import orders_plan
from bench.chaos.deploy import Seller
from bench.chaos.harness import Run
from bench.chaos.measure import OrderFacts, orders_read, orders_wait
from fulfillment.models import EndpointHealth
from lib.endpoint_key import endpoint_key_for

PRODUCTS = (
    ProductSpec("stalling", server="stalling"),
    ProductSpec("steady", server="steady"),
)
HANG_AFTER = 5.0  # seconds into the load
HANG_SECONDS = 120.0
HELD_DONE_MAX_S = 60.0
STEADY_P95_MAX_S = 10.0


class CircuitWatch(threading.Thread):
    """Every change of one endpoint's `open_until`, as the workers write it."""

    def __init__(self, key: str) -> None:
        super().__init__(daemon=True)
        self.key = key
        self.changes: list[dict] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        last = object()
        try:
            while not self.stopping.wait(0.25):
                row = EndpointHealth.objects.filter(key=self.key).values(
                    "open_until", "consecutive_failures"
                )
                state = row.first() or {"open_until": None, "consecutive_failures": 0}
                if state["open_until"] != last:
                    last = state["open_until"]
                    self.changes.append(
                        {
                            "t": time.time(),
                            "open_until": last.timestamp() if last else None,
                            "failures": state["consecutive_failures"],
                        }
                    )
        finally:
            connection.close()


def hang_run(run: Run, args: argparse.Namespace) -> dict:
    """`args`: hang_rate, hang_seconds, clients, wait (see __main__)."""
    rate, seconds = args.hang_rate, args.hang_seconds
    servers = {
        "stalling": Seller(run.stack, run.tls, name="seller-stalling"),
        "steady": Seller(run.stack, run.tls, name="seller-steady"),
    }
    catalogue = catalogue_create(PRODUCTS, servers)
    run.deployment.start()
    count = round(rate * seconds) * len(PRODUCTS)
    plans = orders_plan(catalogue, tag=run.name, count=count, seconds=seconds)
    watch = CircuitWatch(endpoint_key_for(servers["stalling"].url("/")))
    watch.start()
    t0 = time.time() + 1.0
    hang: dict = {}
    hanger = threading.Timer(
        t0 + HANG_AFTER - time.time(),
        lambda: hang.update(servers["stalling"].hang(HANG_SECONDS)),
    )
    hanger.start()
    run.log(f"stack up; {count} orders over {seconds:g} s, hang at {HANG_AFTER:g} s")
    sent = run.orders_send(catalogue, plans, t0=t0, clients=args.clients)
    hanger.join()
    run.log(f"load done; the server recovers at {hang['until'] - t0:.0f} s")
    waited = orders_wait(
        run.name,
        expected=count,
        not_before=hang["until"],
        timeout=args.wait,
        log=run.log,
    )
    watch.stopping.set()
    watch.join()
    records = {name: server.records() for name, server in servers.items()}
    return _figures(run, sent, records, watch.changes, hang, waited, t0)


def _figures(run, sent, records, changes, hang, waited, t0) -> dict:
    orders = orders_read(run.name)
    recovery = hang["until"]
    stalling = [o for o in orders if o.product == "stalling"]
    steady = [o for o in orders if o.product == "steady"]
    circuit = _circuit(changes, records["stalling"], hang, t0)
    closed = t0 + circuit["closed_s"] if circuit["closed_s"] is not None else None
    figures = {
        "t0": t0,
        "hang": {key: round(value - t0, 2) for key, value in hang.items()},
        "wait": waited,
        **common_figures(
            run,
            orders=orders,
            sent=sent,
            records=records["stalling"] + records["steady"],
        ),
        "circuit": circuit,
        "attempts_by_kind": dict(
            Counter(
                a["error_kind"] or "ok"
                for o in stalling
                for d in o.deliveries
                for a in d["attempts"]
            )
        ),
        "held": {
            **_held(stalling, recovery, t0),
            "waited_past_close": _past_close(stalling, recovery, closed),
        },
        "steady_s": {
            "during_hang": stats(_latencies(steady, hang["from"], recovery)),
            "all": stats([o.latency for o in steady if o.latency is not None]),
        },
    }
    figures["checks"] = [check.as_dict() for check in _checks(figures)]
    return figures


def _latencies(orders: list[OrderFacts], start: float, end: float) -> list[float]:
    return [
        o.latency
        for o in orders
        if o.latency is not None and start <= o.completed_at <= end
    ]


def _circuit(changes: list[dict], requests: list[dict], hang: dict, t0: float) -> dict:
    """When the circuit opened and closed, and the probes it let through."""
    opened = [c["t"] for c in changes if c["open_until"] is not None]
    first_open = opened[0] if opened else None
    closed = [
        c["t"] for c in changes if c["open_until"] is None and c["t"] > hang["until"]
    ]
    probes = [
        r["t"] - t0
        for r in requests
        if first_open is not None and first_open <= r["t"] < hang["until"]
    ]
    hung = [r for r in requests if r["status"] is None]
    return {
        "opened_s": round(first_open - t0, 2) if first_open else None,
        "closed_s": round(closed[0] - t0, 2) if closed else None,
        "changes": [
            {
                "s": round(c["t"] - t0, 2),
                "open_until_s": (
                    round(c["open_until"] - t0, 2) if c["open_until"] else None
                ),
                "failures": c["failures"],
            }
            for c in changes
        ],
        "requests_unanswered": len(hung),
        "probes": len(probes),
        "probes_s": [round(p, 2) for p in sorted(probes)],
    }


def _held(stalling: list[OrderFacts], recovery: float, t0: float) -> dict:
    """Deliveries not yet succeeded at the recovery, and how long after it each
    one succeeded."""
    held = [
        d
        for o in stalling
        for d in o.deliveries
        if d["created_at"] < recovery
        and (d["succeeded_at"] is None or d["succeeded_at"] > recovery)
    ]
    waits = [d["succeeded_at"] - recovery for d in held if d["succeeded_at"]]
    return {
        "deliveries": len(held),
        "not_succeeded": [d["delivery_id"] for d in held if not d["succeeded_at"]],
        "recovery_to_success_s": stats(waits),
        "slowest": [
            {
                "delivery_id": d["delivery_id"],
                "created_s": round(d["created_at"] - t0, 2),
                "succeeded_after_recovery_s": round(d["succeeded_at"] - recovery, 2),
                "attempts": [
                    f"#{a['number']} {a['error_kind'] or 'ok'} due "
                    f"{_rel(a['due_at'], t0)} started {_rel(a['started_at'], t0)}"
                    for a in d["attempts"]
                ],
            }
            for d in sorted(held, key=lambda d: -(d["succeeded_at"] or math.inf))[:5]
            if d["succeeded_at"]
        ],
    }


def _past_close(
    stalling: list[OrderFacts], recovery: float, closed: float | None
) -> list[dict]:
    """Held deliveries the circuit's closing did not release: their last
    attempt was due more than a second after the circuit closed. With the
    failures they had had (a probe that failed keeps its own retry schedule)."""
    if closed is None:
        return []
    late = []
    for order in stalling:
        for d in order.deliveries:
            due = d["attempts"][-1]["due_at"] if d["attempts"] else None
            if d["created_at"] < recovery and due is not None and due > closed + 1:
                failures = [a for a in d["attempts"] if not a["succeeded"]]
                late.append(
                    {
                        "delivery_id": d["delivery_id"],
                        "due_after_close_s": round(due - closed, 2),
                        "earlier_failures": [a["error_kind"] for a in failures],
                    }
                )
    return sorted(late, key=lambda item: -item["due_after_close_s"])


def _rel(value: float | None, t0: float) -> str:
    return "-" if value is None else f"{value - t0:.1f}"


def _checks(figures: dict) -> list[Check]:
    held = figures["held"]
    waits = held["recovery_to_success_s"]
    steady = figures["steady_s"]["during_hang"]
    circuit = figures["circuit"]
    return [
        *integrity_checks(figures["integrity"]),
        Check(
            "every held delivery completes within 60 s of the recovery",
            not held["not_succeeded"] and waits.get("max", 0) <= HELD_DONE_MAX_S,
            f"{held['deliveries']} held; recovery → success p50 {waits.get('p50')} s, "
            f"max {waits.get('max')} s; {len(held['not_succeeded'])} not succeeded",
        ),
        Check(
            "the healthy product on another port: p95 order → email under 10 s "
            "during the hang",
            steady.get("n", 0) > 0 and steady.get("p95", math.inf) < STEADY_P95_MAX_S,
            f"p95 {steady.get('p95')} s, max {steady.get('max')} s over "
            f"{steady.get('n', 0)} orders",
        ),
        Check(
            "the circuit opened during the hang and closed after the recovery",
            circuit["opened_s"] is not None and circuit["closed_s"] is not None,
            f"opened at {circuit['opened_s']} s, closed at {circuit['closed_s']} s, "
            f"{circuit['probes']} probes",
            must=False,
        ),
        Check(
            "no process died on its own",
            not figures["processes_died"],
            f"died {figures['processes_died'] or 'none'}",
        ),
    ]
