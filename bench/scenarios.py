"""The scenarios in order, and the ratios the issue asks for.

Order: raw, naive, B1 (ours; `--workers` fulfillment workers, one per core by
default, with beat; B4's memory is sampled there), the peers of B1 (the
conventional Django + Celery peer, django-webhook, the limit loop; bench/peers/),
B5 with one worker, B2 (its slow deliveries keep retrying afterwards, so it comes
after every throughput run), B3 (no workers at all).
"""

from __future__ import annotations

import argparse
import time

import requests
from django.conf import settings
from django.core.management import call_command

from bench import cpu, pgstats, targets
from bench.api import api_run
from bench.ceiling import ceiling_run
from bench.context import Context
from bench.env import broker_url, database_url
from bench.fixtures import bench_data_create
from bench.isolation import isolation_run
from bench.peers.runs import conventional_run, djwebhook_run, limit_run
from bench.stack import Stack, seller_start
from bench.throughput import naive_run, ours_run, raw_run

ALL = (
    "raw",
    "naive",
    "b1",
    "conventional",
    "djwebhook",
    "limit",
    "b5",
    "b2",
    "b3",
    "ceiling",
)
PEERS = ("conventional", "djwebhook", "limit")


def _setup(procs: Stack, args: argparse.Namespace) -> Context:
    call_command("migrate", verbosity=0)
    # The workers log in as their own roles (pg_stat_statements counts per role).
    pgstats.roles_grant(database_url())
    fast = seller_start(procs, "fast", ports=args.endpoints)
    # The slow server answers 5 s after our total timeout has given up.
    hang = settings.FULFILLMENT["TOTAL_TIMEOUT"] + 5
    slow = seller_start(procs, "slow", hang=hang)
    per_port = args.products_per_endpoint
    data = bench_data_create(
        fast_ports=fast.info["ports"],
        slow_port=slow.info["ports"][0],
        per_port=per_port,
        # 10 % of all products: 90 healthy, 10 slow by default.
        slow_products=max(1, round(len(fast.info["ports"]) * per_port / 9)),
    )
    port = fast.info["ports"][0]
    requests.post(
        f"http://127.0.0.1:{port}/_bench/secrets", json=data.secrets(), timeout=10
    ).raise_for_status()
    return Context(
        stack=procs,
        data=data,
        fast=fast,
        slow=slow,
        broker_url=broker_url(),
        workers=args.workers,
        concurrency=args.concurrency,
        email_concurrency=args.email_concurrency,
        creators=args.creators,
        timeout=args.timeout,
    )


def run_all(procs: Stack, args: argparse.Namespace) -> dict:
    wanted = set(args.only.split(",")) if args.only else set(ALL)
    if wanted - set(ALL):
        raise SystemExit(f"bench: unknown --only {sorted(wanted - set(ALL))}")
    began = time.monotonic()
    ctx = _setup(procs, args)
    ctx.log(
        f"setup done in {time.monotonic() - began:.1f} s: "
        f"{len(ctx.data.healthy)} healthy and {len(ctx.data.slow)} slow products"
    )
    timings: dict[str, float] = {}
    disturbance: dict[str, dict] = {}
    results: dict = {}

    def step(name: str, run) -> None:
        if name not in wanted:
            return
        ctx.log(f"{name} ...")
        started, cpu_before = time.monotonic(), cpu.step_snapshot()
        results[name] = run()
        timings[name] = round(time.monotonic() - started, 1)
        # A shared machine: how much CPU did processes outside the benchmark take?
        disturbance[name] = cpu.step_disturbance(cpu_before, cpu.step_snapshot())
        share = disturbance[name]["others_share"]
        ctx.log(f"{name} done in {timings[name]} s (others: {share:.0%} of the CPU)")

    n = args.deliveries
    step("raw", lambda: raw_run(ctx, count=n))
    step("naive", lambda: naive_run(ctx, count=n))
    step(
        "b1", lambda: ours_run(ctx, tag="b1", count=n, fulfillment_workers=ctx.workers)
    )
    step("conventional", lambda: conventional_run(ctx, count=n))
    step("djwebhook", lambda: djwebhook_run(ctx, count=n))
    step("limit", lambda: limit_run(ctx, count=n))
    step("b5", lambda: ours_run(ctx, tag="b5w1", count=n, fulfillment_workers=1))
    rate = args.b2_rate or _b2_rate(results)
    step("b2", lambda: isolation_run(ctx, rate=rate, seconds=args.b2_seconds))
    step(
        "b3",
        lambda: api_run(
            ctx, requests_total=args.b3_requests, open_seconds=args.b3_open_seconds
        ),
    )
    # Last: nothing of ours runs meanwhile.
    step("ceiling", lambda: ceiling_run(ctx, database_url=database_url()))
    return {
        **_figures(results),
        "targets": targets.evaluate(results),
        "problems": _problems(results, args) + _disturbed(disturbance),
        "step_seconds": timings,
        "disturbance": disturbance,
        "results": results,
    }


def _b2_rate(results: dict) -> float:
    """40 % of B1's throughput (at least 5 orders/s): well below saturation."""
    b1 = results.get("b1", {}).get("per_second") or 25.0
    return float(max(5, round(0.4 * b1)))


def _figures(r: dict) -> dict:
    """The headline figures and ratios; everything measured is under "results"."""
    ours = r.get("b1", {}).get("per_second")
    raw = r.get("raw", {}).get("per_second")
    naive = r.get("naive", {}).get("per_second")
    b2 = r.get("b2", {}).get("ratios", {})
    b3 = r.get("b3", {})
    one = r.get("b5", {}).get("per_second")
    return {
        # raw and naive are reference lines, not targets (issue 12).
        "b1": {
            "ours_per_second": ours,
            "raw_per_second": raw,
            "naive_per_second": naive,
            "ours_over_raw": targets.ratio(ours, raw),
            "ours_over_naive": targets.ratio(ours, naive),
            **{
                f"{peer}_per_second": r.get(peer, {}).get("per_second")
                for peer in PEERS
            },
        },
        "b2": {
            "p95_ratio": b2.get("p95"),
            "p50_ratio": b2.get("p50"),
            "p99_ratio": b2.get("p99"),
        },
        "b3": {"p99_ratio": b3.get("p99_ratio")},
        "b4": {
            name: proc.get("peak_rss_mib")
            for name, proc in r.get("b1", {}).get("memory", {}).items()
        },
        "b5": {
            "one_worker_per_second": one,
            "b1_workers": r.get("b1", {}).get("fulfillment_workers"),
            "b1_per_second": ours,
            "b1_over_one": targets.ratio(ours, one),
        },
    }


def _problems(r: dict, args: argparse.Namespace) -> list[str]:
    """Anything that makes a figure doubtful: timeouts, errors, unverified
    requests. Reported with the figures, never raised."""
    found = []
    n = args.deliveries
    if "raw" in r and (r["raw"]["failures"] or r["raw"]["verified_by_seller"] != n):
        found.append(f"raw: {r['raw']['failures']} requests not answered 200")
    if r.get("naive", {}).get("timed_out"):
        found.append("naive: timed out before every webhook was verified")
    for key in ("b1", "b5"):
        found += _ours_problems(key, r.get(key), n)
    for key in PEERS:
        found += _peer_problems(key, r.get(key), n)
    for run in ("baseline", "mixed"):
        part = r.get("b2", {}).get(run)
        if part and part["wait"]["timed_out"]:
            found.append(f"b2 {run}: healthy orders not all emailed in time")
        if part and part["placing"]["errors"]:
            found.append(f"b2 {run}: {part['placing']['first_error']}")
    if r.get("b2", {}).get("processes_died"):
        found.append(f"b2: exited during the run: {r['b2']['processes_died']}")
    b3 = r.get("b3", {})
    runs = {f"round {n}": one for n, one in enumerate(b3.get("rounds", []), 1)}
    runs.update({f"{rate}/s": one for rate, one in b3.get("open_loop", {}).items()})
    for name, one in runs.items():
        for target in ("trivial", "orders"):
            part = one.get(target)
            if part and part["unexpected"]:
                found.append(
                    f"b3 {name} {target}: unexpected answers {part['statuses']}"
                )
    return found


def _ours_problems(key: str, result: dict | None, n: int) -> list[str]:
    if not result:
        return []
    timed_out = result["wait"]["timed_out"]
    found = [f"{key}: timed out ({result['wait']})"] if timed_out else []
    return found + _run_problems(key, result, n)


def _peer_problems(key: str, result: dict | None, n: int) -> list[str]:
    if not result:
        return []
    timed_out = result["timed_out"]
    found = [f"{key}: timed out before every delivery was done"] if timed_out else []
    return found + _run_problems(key, result, n)


def _run_problems(key: str, result: dict, n: int) -> list[str]:
    """What B1's runs, ours and the peers', can all get wrong."""
    found = []
    if result["placing"].get("errors"):
        found.append(f"{key}: placing failed: {result['placing']['first_error']}")
    if result["processes_died"]:
        found.append(f"{key}: exited during the run: {result['processes_died']}")
    if result["rejected_by_seller"]:
        found.append(f"{key}: {result['rejected_by_seller']} signatures rejected")
    if result["attempts_stored"] != n or result["verified_by_seller"] != n:
        found.append(
            f"{key}: {result['attempts_stored']} attempts stored and "
            f"{result['verified_by_seller']} verified for {n} deliveries"
        )
    return found


# Above this share of the machine's CPU taken by processes outside the benchmark,
# a step's figures are flagged as disturbed.
DISTURBED_SHARE = 0.10


def _disturbed(disturbance: dict[str, dict]) -> list[str]:
    return [
        f"{name}: processes outside the benchmark took {d['others_share']:.0%} of "
        f"the CPU ({d['others_seconds']} s): its figures are understated"
        for name, d in disturbance.items()
        if d["others_share"] > DISTURBED_SHARE
    ]
