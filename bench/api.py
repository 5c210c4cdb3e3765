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
p99 ratio is the one reported, with every round's ratio beside it.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable

import requests

from bench.context import Context
from bench.load import summary
from bench.stack import gunicorn_start, memory

CLIENTS = 32
ROUNDS = 3


def api_run(ctx: Context, *, requests_total: int, clients: int = CLIENTS) -> dict:
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
        per_client = max(1, requests_total // clients)
        headers = {"Authorization": f"Bearer {ctx.data.api_token}"}
        # Warm-up: every gunicorn worker loads its URLconf and opens its
        # database connection before anything is timed.
        _hammer(f"{base}/bench/trivial", order("b3w"), clients, 2, headers, {"200"})
        _hammer(f"{base}/api/v1/orders", order("b3w"), clients, 2, headers, {"201"})
        rounds = []
        for n in range(ROUNDS):
            trivial = _hammer(
                f"{base}/bench/trivial",
                order(f"b3t{n}"),
                clients,
                per_client,
                headers,
                {"200"},
            )
            orders = _hammer(
                f"{base}/api/v1/orders",
                order(f"b3o{n}"),
                clients,
                per_client,
                headers,
                {"201"},
            )
            rounds.append(_round(trivial, orders))
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
    }


def _round(trivial: dict, orders: dict) -> dict:
    return {
        "trivial": trivial,
        "orders": orders,
        "p99_ratio": _ratio(orders["latency_ms"], trivial["latency_ms"], "p99"),
        "p50_ratio": _ratio(orders["latency_ms"], trivial["latency_ms"], "p50"),
    }


def _ratio(a: dict, b: dict, key: str) -> float | None:
    return round(a[key] / b[key], 2) if a.get(key) and b.get(key) else None


def _hammer(
    url: str,
    body: Callable[[int, int], dict],
    clients: int,
    per_client: int,
    headers: dict[str, str],
    ok: set[str],
) -> dict:
    """`clients` threads, each POSTing `per_client` requests in a row."""
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)

    def client(c: int) -> None:
        mine: list[float] = []
        codes: Counter[str] = Counter()
        with requests.Session() as session:
            session.headers.update(headers)
            start.wait()
            for i in range(per_client):
                began = time.perf_counter()
                try:
                    answer = session.post(url, json=body(c, i), timeout=30)
                except requests.RequestException as exc:
                    codes[type(exc).__name__] += 1
                    continue
                mine.append((time.perf_counter() - began) * 1000)
                codes[str(answer.status_code)] += 1
        with lock:
            latencies.extend(mine)
            statuses.update(codes)

    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - began
    total = clients * per_client
    return {
        "requests": total,
        "seconds": round(seconds, 2),
        "per_second": round(total / seconds, 1),
        "latency_ms": summary(latencies),
        "statuses": dict(sorted(statuses.items())),
        "unexpected": sum(v for k, v in statuses.items() if k not in ok),
    }
