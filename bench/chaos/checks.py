"""The bounds a run must show, and the integrity figures both scenarios share:
every order created once, fulfilled and emailed once, every request signed and
carrying its delivery's one `webhook-id`."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass

from bench.chaos.clients import OrderSent, clients_summary
from bench.chaos.measure import OrderFacts, logs_count, mail_read


@dataclass
class Check:
    """One PASS/FAIL line of the report. `must` bounds set the exit status."""

    name: str
    passed: bool
    figure: str
    must: bool = True

    @property
    def line(self) -> str:
        verdict = "PASS" if self.passed else "FAIL"
        return f"{verdict}  {self.name}: {self.figure}"

    def as_dict(self) -> dict:
        return {**asdict(self), "verdict": "PASS" if self.passed else "FAIL"}


def stats(seconds: list[float]) -> dict:
    """n, p50, p95, max of a list of durations in seconds (2 decimals)."""
    if not seconds:
        return {"n": 0}
    ordered = sorted(seconds)
    cuts = (
        statistics.quantiles(ordered, n=100, method="inclusive")
        if len(ordered) > 1
        else ordered * 99
    )
    return {
        "n": len(ordered),
        "p50": round(cuts[49], 2),
        "p95": round(cuts[94], 2),
        "max": round(ordered[-1], 2),
    }


def _wrong_contents(order: OrderFacts, plan) -> bool:
    return (order.product, order.quantity, order.customer_email) != (
        plan.product,
        plan.quantity,
        plan.customer_email,
    )


def orders_integrity(orders: list[OrderFacts], sent: list[OrderSent]) -> dict:
    plans = {order.plan.transaction_id: order.plan for order in sent}
    created = Counter(order.transaction_id for order in orders)
    return {
        "planned": len(plans),
        "created": len(orders),
        "missing": sorted(set(plans) - set(created)),
        "unexpected": sorted(set(created) - set(plans)),
        "duplicated": sorted(t for t, n in created.items() if n > 1),
        "wrong_contents": [
            o.transaction_id
            for o in orders
            if o.transaction_id in plans and _wrong_contents(o, plans[o.transaction_id])
        ],
        "fulfilled": sum(o.fulfillment_status == "fulfilled" for o in orders),
        "emailed": sum(o.email_status == "sent" for o in orders),
        "deliveries": sum(len(o.deliveries) for o in orders),
        "deliveries_succeeded": sum(
            d["status"] == "succeeded" for o in orders for d in o.deliveries
        ),
    }


def emails_integrity(orders: list[OrderFacts], messages: list[dict]) -> dict:
    per_address = Counter(message["to"] for message in messages)
    customers = {order.customer_email for order in orders}
    return {
        "emails": len(messages),
        "distinct_message_ids": len({m["message_id"] for m in messages}),
        "emails_per_order": dict(
            Counter(per_address[order.customer_email] for order in orders)
        ),
        "orders_without_email": [
            o.transaction_id for o in orders if not per_address[o.customer_email]
        ],
        "orders_with_several_emails": [
            o.transaction_id for o in orders if per_address[o.customer_email] > 1
        ],
        "emails_to_strangers": sorted(set(per_address) - customers),
    }


def requests_integrity(orders: list[OrderFacts], records: list[dict]) -> dict:
    """What the sellers' servers saw, per delivery. A repeat is a request the
    seller saw beyond the attempts we recorded with an outcome (an attempt lost
    with a killed worker whose request did reach the server, or a request
    resent on a fresh connection): allowed, with the same webhook-id."""
    deliveries = {d["delivery_id"]: d for o in orders for d in o.deliveries}
    seen: dict[str, list[dict]] = defaultdict(list)
    for record in records:
        seen[record["delivery_id"]].append(record)
    repeats = 0
    for delivery_id, requests in seen.items():
        attempts = deliveries.get(delivery_id, {}).get("attempts", [])
        recorded = [a for a in attempts if a["error_kind"] != "interrupted"]
        repeats += max(0, len(requests) - len(recorded))
    return {
        "requests": len(records),
        "requests_unverified": sum(not record["verified"] for record in records),
        "deliveries_seen": len(set(seen) & set(deliveries)),
        "deliveries_not_seen": sorted(set(deliveries) - set(seen)),
        "requests_for_unknown_deliveries": sum(
            len(r) for d, r in seen.items() if d not in deliveries
        ),
        "deliveries_with_another_webhook_id": sorted(
            d
            for d, requests in seen.items()
            if {r["webhook_id"] for r in requests} != {d}
        ),
        "requests_per_delivery": dict(sorted(Counter(map(len, seen.values())).items())),
        "repeats": repeats,
    }


def common_figures(
    run, *, orders: list[OrderFacts], sent: list[OrderSent], records: list[dict]
) -> dict:
    """The figures every scenario reports: what the clients saw, the integrity
    of orders, emails and requests, the recovery lines logged, and any process
    that died on its own."""
    return {
        "clients": clients_summary(sent),
        "integrity": {
            "orders": orders_integrity(orders, sent),
            "emails": emails_integrity(orders, mail_read(run.mail)),
            "requests": requests_integrity(orders, records),
        },
        "logs": logs_count(run.logs),
        "processes_died": run.deployment.died(),
    }


# An attempt this much past its due time waited for the dispatcher's sweep.
LATE_S = 5.0


def attempt_lateness(orders: list[OrderFacts], t0: float) -> dict:
    """How late attempts went out against their due time (started - due), and
    every attempt more than LATE_S late: its broker message was lost and the
    dispatcher found it. `never_deferred` marks a first attempt still due at
    its delivery's creation: its first message was consumed (or lost) without
    a claim or a deferral."""
    late = [
        (a["started_at"] - a["due_at"], o, d, a)
        for o in orders
        for d in o.deliveries
        for a in d["attempts"]
        if a["due_at"] is not None and a["error_kind"] != "interrupted"
    ]
    return {
        **stats([item[0] for item in late]),
        "late": [
            {
                "delivery_id": d["delivery_id"],
                "product": o.product,
                "number": a["number"],
                "due_s": round(a["due_at"] - t0, 2),
                "late_s": round(seconds, 2),
                "never_deferred": a["number"] == 1
                and abs(a["due_at"] - d["created_at"]) < 0.01,
            }
            for seconds, o, d, a in sorted(late, key=lambda item: item[3]["due_at"])
            if seconds > LATE_S
        ],
    }


def integrity_checks(integrity: dict) -> list[Check]:
    o, e, r = integrity["orders"], integrity["emails"], integrity["requests"]
    return [
        Check(
            f"orders: exactly {o['planned']} created, none duplicated",
            o["created"] == o["planned"]
            and not (o["missing"] or o["unexpected"] or o["duplicated"])
            and not o["wrong_contents"],
            f"{o['created']} created, missing {len(o['missing'])}, duplicated "
            f"{len(o['duplicated'])}, wrong contents {len(o['wrong_contents'])}",
        ),
        Check(
            "every order fulfilled and emailed",
            o["fulfilled"] == o["emailed"] == o["planned"],
            f"{o['fulfilled']} fulfilled, {o['emailed']} emailed of {o['planned']}; "
            f"{o['deliveries_succeeded']} of {o['deliveries']} deliveries succeeded",
        ),
        Check(
            "exactly one email per order, to its customer",
            e["emails_per_order"] == {1: o["created"]} and not e["emails_to_strangers"],
            f"{e['emails']} emails; emails per order {e['emails_per_order']}; "
            f"to strangers {len(e['emails_to_strangers'])}",
        ),
        Check(
            "one webhook-id per delivery, every delivery seen",
            not r["deliveries_with_another_webhook_id"]
            and not r["deliveries_not_seen"]
            and r["deliveries_seen"] == o["deliveries"],
            f"{r['requests']} requests for {r['deliveries_seen']} deliveries "
            f"({r['repeats']} repeats); "
            f"{len(r['deliveries_with_another_webhook_id'])} with another webhook-id",
        ),
        Check(
            "every request's signature verified (standardwebhooks)",
            r["requests_unverified"] == 0,
            f"{r['requests_unverified']} of {r['requests']} unverified",
        ),
    ]
