"""B3 API: 32 concurrent clients creating orders on gunicorn, against a trivial view.

gunicorn runs `config.wsgi:application` with the project's config file (or, while
there is none, the flags in `bench.stack`), on bench.settings. The workers are
stopped: this measures the web tier alone (each order still enqueues its
delivery task in Redis, as in production; nobody consumes it). Each client is a
thread with its own `requests.Session`; all start together and each sends the
same number of requests. The trivial view is `/bench/trivial` on the same
server, through the same middleware, posting a body of the same size.

A p99 of 1,280 requests on a shared machine moves a lot from one run to the next,
so the pair (trivial, then orders) runs ROUNDS times; the round with the median
p99 ratio is the one reported, with every round's ratio beside it. That closed
loop measures saturation: each client sends its next request when the last one
is answered.

Then the open loop (issue 12): requests arrive at a fixed rate (OPEN_RATES, per
second) whatever the server's answers, trivial then orders at each rate, from
OPEN_CLIENTS threads. Request i is due at t0 + i / rate; its latency counts
from when it was due, so a server that falls behind is charged for the
requests waiting to be sent too (no coordinated omission).
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import requests

from bench import cpu
from bench.context import Context
from bench.load import summary
from bench.stack import gunicorn_start, memory

CLIENTS = 32
ROUNDS = 3
OPEN_RATES = (50, 100, 200)
# Enough that a client is free when a request is due, unless the server lags.
OPEN_CLIENTS = 128


def api_run(
    ctx: Context,
    *,
    requests_total: int,
    open_seconds: float,
    clients: int = CLIENTS,
) -> dict:
    proc = gunicorn_start(ctx.stack)
    base = f"http://127.0.0.1:{proc.info['port']}"
    slugs = [p.slug for p in ctx.data.healthy]

    def order(prefix: str) -> Callable[[int, int], dict]:
        return lambda client, i: {
            "product": slugs[(client + i) % len(slugs)],
            "quantity": 1,
            "customer_email": f"c{client}-{i}@{prefix}.bench.example",
            "transaction_id": f"{prefix}-{client}-{i}",
        }

    try:
        total = max(1, requests_total // clients) * clients
        headers = {"Authorization": f"Bearer {ctx.data.api_token}"}
        trivial = Target(f"{base}/bench/trivial", headers, {"200"})
        orders = Target(f"{base}/api/v1/orders", headers, {"201"})
        # Warm-up: every gunicorn worker loads its URLconf and opens its
        # database connection before anything is timed.
        _drive(trivial, order("b3w"), clients=clients, total=2 * clients)
        _drive(orders, order("b3w"), clients=clients, total=2 * clients)
        rounds = [
            _round(
                _measured(proc.pid, trivial, order(f"b3t{n}"), clients, total),
                _measured(proc.pid, orders, order(f"b3o{n}"), clients, total),
            )
            for n in range(ROUNDS)
        ]
        open_loop = {
            str(rate): _round(
                _drive(trivial, order(f"b3ot{rate}"), **_open(rate, open_seconds)),
                _drive(orders, order(f"b3oo{rate}"), **_open(rate, open_seconds)),
            )
            for rate in OPEN_RATES
        }
        mem = memory(proc.pid)
    finally:
        ctx.stack.stop(proc)
    median = sorted(rounds, key=lambda r: r["p99_ratio"] or 0)[len(rounds) // 2]
    return {
        "clients": clients,
        "gunicorn": proc.info["command"][2:],
        "gunicorn_memory": mem,
        **median,
        "rounds_p99_ratio": [r["p99_ratio"] for r in rounds],
        "rounds": rounds,
        "open_clients": OPEN_CLIENTS,
        "open_seconds": open_seconds,
        "open_loop": open_loop,
    }


def _measured(
    web: int, target: Target, body: Callable, clients: int, total: int
) -> dict:
    """A closed-loop drive with the CPU each process spent per request: gunicorn
    (master and workers), PostgreSQL, Redis, the client threads (this process)."""

    def now() -> dict[str, float]:
        return cpu.snapshot({"clients": [os.getpid()]}, trees={"web": web})

    before = now()
    result = _drive(target, body, clients=clients, total=total)
    result["cpu"] = cpu.usage(before, now(), per=total)
    return result


def _open(rate: float, seconds: float) -> dict:
    return {"clients": OPEN_CLIENTS, "total": int(rate * seconds), "rate": rate}


def _round(trivial: dict, orders: dict) -> dict:
    return {
        "trivial": trivial,
        "orders": orders,
        "p99_ratio": _ratio(orders["latency_ms"], trivial["latency_ms"], "p99"),
        "p50_ratio": _ratio(orders["latency_ms"], trivial["latency_ms"], "p50"),
    }


def _ratio(a: dict, b: dict, key: str) -> float | None:
    return round(a[key] / b[key], 2) if a.get(key) and b.get(key) else None


@dataclass(frozen=True)
class Target:
    url: str
    headers: dict[str, str]
    ok: set[str]


def _due(t0: float, i: int, rate: float | None) -> float:
    """Closed loop: now. Open loop: sleep until request i is due; its due time."""
    if rate is None:
        return time.perf_counter()
    due = t0 + i / rate
    wait = due - time.perf_counter()
    if wait > 0:
        time.sleep(wait)
    return due


def _drive(
    target: Target,
    body: Callable[[int, int], dict],
    *,
    clients: int,
    total: int,
    rate: float | None = None,
) -> dict:
    """`total` POSTs from `clients` threads (client c sends requests c, c +
    clients, ...): each as soon as its last one is answered, or, with a `rate`,
    when it is due."""
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    lock = threading.Lock()
    began: list[float] = []
    start = threading.Barrier(
        clients + 1, action=lambda: began.append(time.perf_counter())
    )

    def client(c: int) -> None:
        mine: list[float] = []
        codes: Counter[str] = Counter()
        with requests.Session() as session:
            session.headers.update(target.headers)
            start.wait()
            for i in range(c, total, clients):
                since = _due(began[0], i, rate)
                try:
                    answer = session.post(target.url, json=body(c, i), timeout=30)
                except requests.RequestException as exc:
                    codes[type(exc).__name__] += 1
                    continue
                mine.append((time.perf_counter() - since) * 1000)
                codes[str(answer.status_code)] += 1
        with lock:
            latencies.extend(mine)
            statuses.update(codes)

    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    for thread in threads:
        thread.start()
    start.wait()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - began[0]
    return {
        "requests": total,
        "rate": rate,
        "seconds": round(seconds, 2),
        "per_second": round(total / seconds, 1),
        "latency_ms": summary(latencies),
        "statuses": dict(sorted(statuses.items())),
        "unexpected": sum(v for k, v in statuses.items() if k not in target.ok),
    }
