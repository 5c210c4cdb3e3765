"""The parts of docs/benchmarks.md that issue 12 added: the targets with their
verdicts, every B1 peer in one table, what PostgreSQL did for each, and B3's
open loop. bench/report.py puts them in the page."""

from __future__ import annotations

from bench.targets import cpu_total, verdict

# (key in "results", label, what it is)
B1_RUNS = (
    ("raw", "raw loop", "reference: one thread, signed POSTs, nothing stored"),
    ("naive", "naive peer", "reference: a Celery task per POST, nothing stored"),
    ("b1", "**ours**", "order → attempt rows → email"),
    ("conventional", "conventional peer", "Django + Celery, one email per order"),
    ("djwebhook", "django-webhook 0.0.15", "one event row per POST, no email"),
    ("limit", "limit loop", "bare psycopg, 4 statements, no email built"),
)
# Columns of CPU by process: each a list of the component names that make it up.
CPU_COLUMNS = (
    ("placing", ("driver", "placing")),
    ("workers", ("fulfillment_workers", "workers", "naive_worker")),
    ("email", ("email_worker",)),
    ("PostgreSQL", ("postgresql",)),
    ("Redis", ("redis",)),
    ("seller", ("seller_server",)),
)


def _cell(value) -> str:
    return "—" if value is None else str(value)


def _row(*cells) -> str:
    return "| " + " | ".join(_cell(c) for c in cells) + " |"


def table(header: tuple, rows: list[tuple]) -> str:
    lines = [_row(*header), _row(*["---"] * len(header))]
    return "\n".join(lines + [_row(*row) for row in rows])


def targets(s: dict) -> str:
    found = s.get("targets")
    if not found:
        return "Not evaluated (a run from before issue 12)."
    rows = [
        (t["what"], t["value"], t["target"], f"**{verdict(t['met'])}**")
        for t in found.values()
    ]
    return table(("target (same run)", "measured", "target", ""), rows)


def _cpu_part(run: dict, names: tuple[str, ...]) -> float | None:
    per = run.get("cpu", {}).get("cpu_ms_per_item", {})
    found = [per[name] for name in names if name in per]
    return round(sum(found), 2) if found else None


def _pg_cells(run: dict) -> tuple:
    pg = run.get("postgresql")
    if not pg:
        return (None, None, None)
    per_attempt = pg.get("worker_statements_per_attempt")
    statements = pg.get("statements_per_delivery", pg.get("statements"))
    return (pg["commits_per_delivery"], statements, per_attempt)


def peers(s: dict) -> str:
    r = s["results"]
    rows = []
    for key, label, _ in B1_RUNS:
        run = r.get(key)
        if not run:
            continue
        rate = run.get("per_second")
        cpu = [_cpu_part(run, names) for _, names in CPU_COLUMNS]
        rows.append((label, rate, cpu_total(run), *cpu, *_pg_cells(run)))
    header = (
        "", "deliveries/s", "CPU ms/delivery", *(n for n, _ in CPU_COLUMNS),
        "commits/delivery", "statements/delivery", "worker statements/attempt",
    )  # fmt: skip
    notes = "\n".join(f"- {label}: {what}" for key, label, what in B1_RUNS if key in r)
    return f"{table(header, rows)}\n\n{notes}"


def statements(s: dict) -> str:
    """Statements per delivery by kind and by process, for each run measured."""
    r = s["results"]
    runs = [
        (label, r[key]["postgresql"])
        for key, label, _ in B1_RUNS
        if isinstance(r.get(key, {}).get("postgresql", {}).get("statements"), int)
    ]
    if not runs:
        return (
            "Statements were not counted: pg_stat_statements is not loaded "
            "(see the notes below to enable it)."
        )
    return f"By kind (per delivery):\n\n{_by(runs, 'per_delivery_by_kind')}\n\n" + (
        f"By process (per delivery):\n\n{_by(runs, 'per_delivery_by_process')}"
    )


def _by(runs: list[tuple[str, dict]], key: str) -> str:
    names = list(dict.fromkeys(name for _, pg in runs for name in pg[key]))
    rows = [(name, *(pg[key].get(name) for _, pg in runs)) for name in names]
    return table(("", *(label for label, _ in runs)), rows)


def open_loop(b3: dict) -> str:
    found = b3.get("open_loop")
    if not found:
        return "Not run."
    rows = []
    for rate, one in found.items():
        for name in ("trivial", "orders"):
            part = one[name]
            lat = part["latency_ms"]
            rows.append(
                (f"{rate}/s", name, part["requests"], part["per_second"],
                 lat.get("p50"), lat.get("p95"), lat.get("p99"), part["statuses"])
            )  # fmt: skip
        rows.append((f"{rate}/s", "orders / trivial", None, None,
                     one["p50_ratio"], None, one["p99_ratio"], None))  # fmt: skip
    header = ("rate", "target", "requests", "answered/s", "p50 ms", "p95 ms",
              "p99 ms", "answers")  # fmt: skip
    return table(header, rows)
