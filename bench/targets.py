"""The targets of issue 12, evaluated on a run's results: each a ratio or a
figure measured in the same run, its bound, and whether it is met.

Pure functions of the results dictionary (no Django, no services), so that the
evaluation is tested on its own (tests/bench/test_targets.py).
"""

from __future__ import annotations

# (name, what is measured, comparison, bound)
TARGETS: tuple[tuple[str, str, str, float], ...] = (
    ("b1_cpu_vs_conventional", "B1 CPU/delivery, ours / conventional", "<=", 0.67),
    ("b1_cpu_vs_limit", "B1 CPU/delivery, ours / limit loop", "<=", 3.0),
    ("b1_rate_vs_conventional", "B1 deliveries/s, ours / conventional", ">=", 1.5),
    ("b1_rate_vs_limit", "B1 deliveries/s, ours / limit loop", ">=", 0.5),
    ("commits_per_delivery", "PostgreSQL commits per delivery (ours)", "<=", 5.0),
    ("statements_per_attempt", "statements per attempt (our workers)", "<=", 6.0),
    ("b2_p95_ratio", "B2 healthy p95, 10 % hanging / all healthy", "<=", 2.0),
    ("b3_saturation", "B3 saturation, orders/s / trivial requests/s", ">=", 0.4),
    ("b3_open_p99_100", "B3 p99 at 100/s open loop, orders / trivial", "<=", 3.0),
)


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a and b else None


def target(value: float | None, op: str, bound: float) -> dict:
    met = None if value is None else (value >= bound if op == ">=" else value <= bound)
    return {"value": value, "target": f"{op} {bound:g}", "met": met}


def verdict(met: bool | None) -> str:
    return {True: "PASS", False: "FAIL", None: "not measured"}[met]


def cpu_total(run: dict | None) -> float | None:
    """CPU ms per delivery of every process of a run: all but "others", the
    processes outside the benchmark."""
    per = (run or {}).get("cpu", {}).get("cpu_ms_per_item")
    if not per:
        return None
    return round(sum(v for k, v in per.items() if k != "others"), 2)


def _pg(run: dict | None, key: str) -> float | None:
    value = (run or {}).get("postgresql", {}).get(key)
    return value if isinstance(value, int | float) else None


def _rate(run: dict | None) -> float | None:
    return (run or {}).get("per_second")


def values(r: dict) -> dict[str, float | None]:
    """The measured side of each target, from a run's "results"."""
    ours, conv, limit = r.get("b1"), r.get("conventional"), r.get("limit")
    rate = _rate
    b3 = r.get("b3", {})
    return {
        "b1_cpu_vs_conventional": ratio(cpu_total(ours), cpu_total(conv)),
        "b1_cpu_vs_limit": ratio(cpu_total(ours), cpu_total(limit)),
        "b1_rate_vs_conventional": ratio(rate(ours), rate(conv)),
        "b1_rate_vs_limit": ratio(rate(ours), rate(limit)),
        "commits_per_delivery": _pg(ours, "commits_per_delivery"),
        "statements_per_attempt": _pg(ours, "worker_statements_per_attempt"),
        "b2_p95_ratio": r.get("b2", {}).get("ratios", {}).get("p95"),
        "b3_saturation": ratio(
            b3.get("orders", {}).get("per_second"),
            b3.get("trivial", {}).get("per_second"),
        ),
        "b3_open_p99_100": b3.get("open_loop", {}).get("100", {}).get("p99_ratio"),
    }


def evaluate(r: dict) -> dict[str, dict]:
    """Every target: what it measures, its value, bound and verdict."""
    measured = values(r)
    return {
        name: {"what": what, **target(measured[name], op, bound)}
        for name, what, op, bound in TARGETS
    }
