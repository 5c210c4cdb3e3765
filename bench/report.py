"""The machine's description and docs/benchmarks.md, from a run's summary."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from bench import report_peers
from bench.report_peers import table as _table


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _ram_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return round(int(line.split()[1]) / 1024 / 1024, 1)
    return 0.0


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


APP_PATHS = ["accounts", "config", "fulfillment", "orders", "products", "templates"]


def _git(*args: str) -> str:
    try:
        return subprocess.run(  # noqa: S603 - fixed read-only git commands
            ["git", *args],  # noqa: S607
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
            cwd=Path(__file__).resolve().parent.parent,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


def code_state() -> dict:
    """Which application code was measured: the commit, and the files changed
    since (with a digest of their contents), so a figure names its code. A tree
    exported with `git archive` has no .git: BENCH_CODE_COMMIT names it."""
    if not _git("rev-parse", "--is-inside-work-tree").strip():
        exported = os.environ.get("BENCH_CODE_COMMIT") or None
        return {"commit": exported, "changed_app_files": [], "changed_digest": None}
    changed = sorted(
        line[3:]
        for line in _git("status", "--porcelain", "--", *APP_PATHS).splitlines()
    )
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for name in changed:
        path = root / name
        if path.is_file():
            digest.update(name.encode() + b"\0" + path.read_bytes())
    return {
        "commit": _git("rev-parse", "--short", "HEAD").strip() or None,
        "changed_app_files": changed,
        "changed_digest": digest.hexdigest()[:12] if changed else None,
    }


def machine() -> dict:
    return {
        "cpu": _cpu_model(),
        "cores": len(os.sched_getaffinity(0)),
        "ram_gib": _ram_gib(),
        "kernel": platform.release(),
        "os": platform.freedesktop_os_release().get("PRETTY_NAME", platform.system()),
        "python": platform.python_version(),
        "django": _version("django"),
        "celery": _version("celery"),
        "gunicorn": _version("gunicorn"),
    }


# --- docs/benchmarks.md -------------------------------------------------------------


def _machine(s: dict) -> str:
    m = s["machine"]
    return _table(
        ("", ""),
        [
            ("CPU", f"{m['cpu']}, {m['cores']} cores"),
            ("RAM", f"{m['ram_gib']} GiB"),
            ("OS, kernel", f"{m['os']}, Linux {m['kernel']}"),
            ("Python", m["python"]),
            ("PostgreSQL", m["postgresql"]),
            ("Redis", m["redis"]),
            ("Load average at start (1, 5, 15 min)", _load(m)),
            (
                "Django, Celery, gunicorn",
                f"{m['django']}, {m['celery']}, {m['gunicorn']}",
            ),
        ],
    )


def _load(m: dict) -> str | None:
    load = m.get("load_average_at_start")
    return ", ".join(str(value) for value in load) if load else None


def _code(code: dict) -> str:
    changed = ", ".join(f"`{name}`" for name in code["changed_app_files"])
    if not changed:
        return f"Code: commit {code['commit']}, application code as committed."
    return f"Code: commit {code['commit']} with uncommitted changes to {changed}."


def _steps(s: dict) -> str:
    """Each step's duration, and how much CPU processes outside the benchmark
    took meanwhile (the machine is shared)."""
    rows = []
    for name, seconds in s["step_seconds"].items():
        d = s.get("disturbance", {}).get(name, {})
        share = d.get("others_share")
        rows.append(
            (name, seconds, d.get("machine_busy_seconds"),
             None if share is None else f"{share:.0%}")
        )  # fmt: skip
    header = ("step", "seconds", "CPU busy, s", "taken by other processes")
    return _table(header, rows)


def _summary(s: dict) -> str:
    b1 = s["b1"]
    rows = [
        ("B1 ours / raw loop", _value(b1["ours_over_raw"])),
        ("B1 ours / naive peer", _value(b1["ours_over_naive"])),
    ]
    reference = _table(("reference line (same run)", "ratio"), rows)
    return f"""{report_peers.targets(s)}

raw and naive stay as reference lines, not targets:

{reference}"""


def _value(figure):
    """A figure, from this summary (a number) or an older one (a target dict)."""
    return figure.get("value") if isinstance(figure, dict) else figure


BEFORE = Path(__file__).resolve().parent / "results" / "before.json"


def _figures(s: dict) -> list[tuple[str, object]]:
    b1, r = s["b1"], s["results"]
    cpu = r["b1"].get("cpu", {}).get("cpu_ms_per_item", {})
    return [
        ("B1 ours, deliveries/s", b1["ours_per_second"]),
        ("B1 raw, requests/s", b1["raw_per_second"]),
        ("B1 naive, tasks/s", b1["naive_per_second"]),
        ("B1 ours / raw", _value(b1["ours_over_raw"])),
        ("B1 ours / naive", _value(b1["ours_over_naive"])),
        (
            "CPU ms per delivery, all our processes",
            round(sum(v for k, v in cpu.items() if k != "others"), 2),
        ),
        ("CPU ms per delivery: PostgreSQL", cpu.get("postgresql")),
        ("CPU ms per delivery: placing orders (driver)", cpu.get("driver")),
        ("CPU ms per delivery: fulfillment workers", cpu.get("fulfillment_workers")),
        ("CPU ms per delivery: email worker", cpu.get("email_worker")),
        ("B2 healthy p95 ratio", _value(s["b2"]["p95_ratio"])),
        ("B3 p99 ratio", _value(s["b3"]["p99_ratio"])),
        ("B3 orders/s", r.get("b3", {}).get("orders", {}).get("per_second")),
        (
            "PostgreSQL commits per delivery (ours)",
            r["b1"].get("postgresql", {}).get("commits_per_delivery"),
        ),
        # before.json predates --workers: its B1 ran one worker, its B5 two.
        (
            "B5 two workers / one",
            s["b5"].get("b1_over_one", s["b5"].get("two_over_one")),
        ),
    ]


def _before_after(s: dict) -> str:
    """This run beside `before.json` (the code before the performance work),
    when that file exists and is not this run."""
    if not BEFORE.is_file():
        return "No `bench/results/before.json` to compare with."
    before = json.loads(BEFORE.read_text())
    if before.get("finished_at") == s.get("finished_at"):
        return "This run is `before.json` itself."
    rows = [
        (name, old, new)
        for (name, old), (_, new) in zip(_figures(before), _figures(s), strict=True)
    ]
    commit = before.get("code", {}).get("commit", "?")
    return (
        f"`before.json` is the code of commit {commit}, before the performance"
        " work of issue 6, measured with this benchmark on this machine (run"
        f" finished {before.get('finished_at', '?')}). Ratios compare within each"
        " run; absolute figures drift between runs.\n\n"
        + _table(("figure", "before", "this run"), rows)
    )


def _email_path(s: dict) -> str:
    if s.get("email_from_fulfillment_worker"):
        return (
            "With `FULFILLMENT_EMAIL_FROM_FULFILLMENT_WORKER` on, the fulfillment"
            " worker that settles an order's last delivery sends its email itself;"
            " the email worker only takes over failed sends."
        )
    return (
        "Every email goes through the email queue and worker (the default;"
        " `FULFILLMENT_EMAIL_FROM_FULFILLMENT_WORKER` is off)."
    )


def _b1(s: dict) -> str:
    r = s["results"]
    raw, naive, ours = r.get("raw"), r.get("naive"), r.get("b1")
    if not (raw and naive and ours):
        return "Not run."
    lat = ours["order_to_email_ms"]
    rows = [
        ("raw: `requests.Session` loop", raw["requests"], raw["seconds"]),
        ("naive peer: a Celery task per webhook", naive["tasks"], naive["seconds"]),
        ("**ours**: order → email", ours["deliveries"], ours["seconds"]),
    ]
    rates = [raw["per_second"], naive["per_second"], f"**{ours['per_second']}**"]
    table = _table(
        ("", "webhooks", "seconds", "per second"),
        [(*row, rate) for row, rate in zip(rows, rates, strict=True)],
    )
    return f"""{table}

Ours in detail: placing the {ours["placing"]["orders"]} orders took
{ours["placing"]["seconds"]} s ({ours["placing"]["orders_per_second"]} orders/s from
{s["settings"]["creators"]} threads); the last email was recorded
{ours["after_last_order_s"]} s after the last order was placed. Attempts stored:
{ours["attempts_stored"]} ({ours["attempts_succeeded"]} succeeded); requests verified by
the seller server: {ours["verified_by_seller"]}, rejected: {ours["rejected_by_seller"]}.
Order completed → email recorded during this burst (mostly queueing): p50
{lat.get("p50")} ms, p95 {lat.get("p95")} ms, p99 {lat.get("p99")} ms.

CPU time per webhook (ms), by process, from /proc; "others" is what processes
outside the benchmark used meanwhile (a shared machine):

{_cpu_table(raw, naive, ours)}"""


def _cpu_table(raw: dict, naive: dict, ours: dict) -> str:
    runs = [r["cpu"]["cpu_ms_per_item"] for r in (raw, naive, ours)]
    names = list(dict.fromkeys(name for run in runs for name in run))
    rows = [(name, *(run.get(name) for run in runs)) for name in names]
    busy = [r["cpu"]["machine_busy_seconds"] for r in (raw, naive, ours)]
    rows.append(("machine busy, seconds", *busy))
    return _table(("process", "raw", "naive", "ours"), rows)


def _b2(s: dict) -> str:
    b2 = s["results"].get("b2")
    if not b2:
        return "Not run."
    base, mixed = b2["baseline"]["healthy_ms"], b2["mixed"]["healthy_ms"]
    rows = [
        (key, base.get(key), mixed.get(key), b2["ratios"].get(key))
        for key in ("p50", "p95", "p99")
    ]
    rows.append(("max", base.get("max"), mixed.get("max"), None))
    rows.append(("healthy orders", base.get("n"), mixed.get("n"), None))
    slow = b2["mixed"]["slow"]
    table = _table(("ms", "all healthy", "10 % hanging", "ratio"), rows)
    how = "set by --b2-rate" if s["settings"]["b2_rate"] else "40 % of B1's rate"
    return f"""{b2["rate_per_second"]:g} orders/s ({how}) for {b2["seconds"]:g} s in
each run.

{table}

The slow orders of the mixed run: {slow["orders"]}, their deliveries by status
{slow["delivery_statuses"]}, {slow["attempts"]} attempts recorded,
{slow["requests_reaching_slow_server"]} requests reached the slow server (at most 4 at a
time), {slow["consecutive_failures"]} consecutive failures counted, circuit open until
{slow["circuit_open_until"] or "— (closed)"}."""


def _b3(s: dict) -> str:
    b3 = s["results"].get("b3")
    if not b3:
        return "Not run."
    parts = (("trivial view", b3["trivial"]), ("POST /api/v1/orders", b3["orders"]))
    rows = [
        (
            name,
            part["requests"],
            part["per_second"],
            part["latency_ms"].get("p50"),
            part["latency_ms"].get("p99"),
            part["statuses"],
        )
        for name, part in parts
    ]
    table = _table(("", "requests", "per second", "p50 ms", "p99 ms", "answers"), rows)
    workers = len(b3["gunicorn_memory"]["children"])
    each = b3.get("rounds_p99_ratio", [b3["p99_ratio"]])
    return f"""`{" ".join(b3["gunicorn"])}`: {workers} worker processes as the
config sizes them for this machine, {b3["clients"]} client threads.

{table}

p99 ratio {b3["p99_ratio"]}, p50 ratio {b3["p50_ratio"]}: the median of
{len(each)} rounds (trivial, then orders, on the same server), whose p99
ratios were {", ".join(str(r) for r in each)}.

{_b3_cpu(b3)}"""


def _b3_cpu(b3: dict) -> str:
    """CPU per request by process in the reported round (docs/deploy.md sizes
    the web tier from it)."""
    cpus = {name: b3[name].get("cpu") for name in ("trivial", "orders")}
    if not all(cpus.values()):
        return ""
    names = ("web", "postgresql", "redis", "clients", "others")
    rows = [
        (name, cpus["trivial"]["cpu_ms_per_item"][name],
         cpus["orders"]["cpu_ms_per_item"][name])
        for name in names
    ]  # fmt: skip
    rows.append(
        (
            "machine busy",
            round(
                cpus["trivial"]["machine_busy_seconds"]
                * 1000
                / b3["trivial"]["requests"],
                2,
            ),
            round(
                cpus["orders"]["machine_busy_seconds"]
                * 1000
                / b3["orders"]["requests"],
                2,
            ),
        )
    )
    table = _table(("CPU ms per request", "trivial view", "POST /api/v1/orders"), rows)
    return f"""CPU per request in that round, by process, from /proc ("web" is
gunicorn's master and workers, those replaced meanwhile included; "clients" the
32 client threads of the driver):

{table}"""


def _ceiling(s: dict) -> str:
    c = s["results"].get("ceiling")
    if not c:
        return "Not run."
    if "skipped" in c:
        return f"Skipped: {c['skipped']}."
    per_delivery = (
        s["results"].get("b1", {}).get("postgresql", {}).get("commits_per_delivery")
    )
    commits = per_delivery or 5
    return f"""`pgbench` on a scratch database beside the benchmark's (scale
{c["scale"]}, {c["clients"]} clients, {c["threads"]} threads, {c["seconds"]} s each),
on the same cores as everything else:

| workload | transactions (commits) per second |
| --- | --- |
| `pgbench -N`: UPDATE, SELECT, INSERT per transaction | {c["simple_update_tps"]} |
| one INSERT per transaction | {c["insert_tps"]} |

At {commits} commits per delivery, `-N`'s rate bounds this box's PostgreSQL at
about {c["simple_update_tps"] / commits:.0f} deliveries/s before any CPU for
Python, the seller or the email (docs/deploy.md, Sizing)."""


def _open_note(s: dict) -> str:
    b3 = s["results"].get("b3") or {}
    if "open_clients" not in b3:
        return "not run"
    return (
        f"{b3['open_seconds']:g} s at each rate from {b3['open_clients']} client"
        " threads; trivial, then orders, on the same server"
    )


def _b4(s: dict) -> str:
    memory = s["results"].get("b1", {}).get("memory")
    if not memory:
        return "Not run."
    rows = [
        (
            name,
            p.get("pool", "—"),
            p.get("concurrency", "—"),
            p["threads"],
            p["peak_rss_mib"],
            len(p["children"]),
        )
        for name, p in memory.items()
    ]
    header = ("process", "pool", "concurrency", "threads", "peak RSS MiB", "children")
    return _table(header, rows)


def _b5(s: dict) -> str:
    b5 = s["b5"]
    if not b5["one_worker_per_second"] or not b5["b1_per_second"]:
        return "Not run."
    n = b5["b1_workers"]
    return _table(
        ("fulfillment worker processes", "deliveries per second"),
        [
            ("1", b5["one_worker_per_second"]),
            (f"{n} (the B1 run)", b5["b1_per_second"]),
            (f"{n} / 1", b5["b1_over_one"]),
        ],
    )


def _problems(s: dict) -> str:
    if not s["problems"]:
        return "None: every batch finished, every request was verified."
    return "\n".join(f"- {p}" for p in s["problems"])


def markdown(s: dict) -> str:
    st = s["settings"]
    return f"""# Benchmarks

Generated by `make bench` (`bench/run.py`); regenerate it rather than editing it.
Every comparison is a ratio of two figures measured in the same run: absolute
times on a shared machine drift from run to run. A benchmark, not a test: no
figure fails anything.

## Machine

{_machine(s)}

## Command and code

```sh
make bench    # runs: {s["command"]}
```

{_code(s["code"])}

Run finished {s["finished_at"]}; the whole run took **{s["total_seconds"]} s**.

{_steps(s)}

Sizes: {st["deliveries"]} deliveries for B1, B5, raw, naive and the peers;
{st["b3_requests"]} requests per target for B3. Stack: PostgreSQL and Redis as
above; {st.get("workers", 1)} fulfillment workers (one per core) `celery -A config
worker --pool threads --concurrency {st["concurrency"]}` each, the email worker
`--concurrency {st["email_concurrency"]}`,
beat; {st["endpoints"]} fast seller servers (ports) with
{st["products_per_endpoint"]} products each, one slow one.

## Targets (issue 12)

{_summary(s)}

## Compared with before the performance work

{_before_after(s)}

## B1 throughput

Deliveries fulfilled per second, end to end: {st["creators"]} driver threads place
orders through `web.orders.services.order_create_from_api`, the orders API's service
(quantity 1: one delivery and one
email each) while {st.get("workers", 1)} fulfillment workers, the email worker and
beat run; timed
from the first order to the last email's `sent_at`, and done only when the database
shows every email sent and the counting email backend has counted them all. raw
is one thread posting signed requests in a row through a `requests.Session` to one
port of the same seller server; the naive peer (`bench/naive.py`) is one Celery
task per webhook that signs, posts with `requests` and stores nothing, in the same
kind and number of workers with the same concurrency, timed to the seller's last
verified request. {_email_path(s)}

{_b1(s)}

### Every peer

The issue's peers (bench/peers/), each on its own PostgreSQL database, against the
same seller servers, with the same number of deliveries, worker processes and
threads as ours; timed from the first order to the last email (django-webhook:
to the last verified request). CPU is per delivery, in ms, from /proc, by
process ("placing" includes the driver); PostgreSQL's commits are
`pg_stat_database.xact_commit` for the run's database, its statements
`pg_stat_statements` calls, without BEGIN/COMMIT and foreign-key checks (see the
notes). "worker statements/attempt" are those sent by the workers' role alone.

{report_peers.peers(s)}

{report_peers.statements(s)}

## B2 isolation

Paced arrivals on B1's stack ({st.get("workers", 1)} fulfillment workers, the email
worker and beat); latency is
order completed → email recorded, for the healthy orders only. In the second run
every tenth order is for a product (10 % of them) whose server accepts the
connection and answers only after our total timeout.

{_b2(s)}

## B3 API

32 client threads, each with its own `requests.Session`, all started together,
post to a trivial view, then create orders with an API token (distinct
transaction ids) on the same server and middleware; three such rounds. Workers
are stopped: the web tier alone.

{_b3(s)}

### Open loop

Requests arrive at a fixed rate whatever the answers ({_open_note(s)}); the
latency of each counts from when it was due, so waiting to be sent counts too.
Saturation is the closed loop above: orders/s there against the trivial view's
requests/s.

{report_peers.open_loop(s["results"].get("b3") or {})}

## PostgreSQL's commit ceiling

{_ceiling(s)}

## B4 memory

Peak resident memory of each process of the B1 stack, read from
`/proc/<pid>/status` (VmHWM) at the end of the B1 run. The thread pool has no
child processes.

{_b4(s)}

## B5 scale

B1 again with one fulfillment worker process instead of {st.get("workers", 1)} (same
concurrency, beat running), right after B1.

{_b5(s)}

## Problems seen in this run

{_problems(s)}

## Notes

- Worker pools: the thread pool, as `Procfile.dev` and the README's production
  commands use, with 32 slots per fulfillment worker and 8 for email (the README's
  production sizing). Webhook calls mostly wait on the network, and the slots must
  stay well above the 4 requests allowed in flight per seller server, or one slow
  server could fill a worker (B2).
- The fast seller server is one process serving {st["endpoints"]} ports: each port
  is one seller's server, so one of our endpoints. At most 4 requests are in
  flight to one endpoint (`FULFILLMENT_ENDPOINT_MAX_IN_FLIGHT`), so sending every
  order to a single port would measure that limit, not the engine; a shop has
  many sellers. Orders go round-robin over the products, so consecutive
  deliveries are for different servers.
- The seller server is waitress (`bench/seller.py`; the `bench` extra): a
  multi-threaded WSGI server speaking HTTP/1.1 with keep-alive, as real sellers'
  servers do. It verifies every signature with the official `standardwebhooks`
  library and answers a short Markdown license (`text/markdown`). raw's
  `requests.Session` keeps its connection alive; the naive peer's `requests.post`
  opens one per webhook; ours uses whatever `lib/transport.py` does.
- Everything runs on the same machine: the driver placing orders, the workers,
  PostgreSQL, Redis and the seller servers share the cores. raw is therefore the
  limit of this box, not of a network.
- Orders use the test payment provider, so they reach the seller marked
  `test=true`; the work is the same as for a paid order.
- The counting email backend (`bench/email_backend.py`) builds each message's MIME
  bytes and counts it in Redis; no ESP round trip is included.
- Logging is at WARNING (`LOG_LEVEL`, `bench/settings.py`); gunicorn keeps the
  project's access log (one line per request, written to a file here).
- The peers (bench/peers/): the conventional one is a Django project of its
  own (Order, Delivery, Attempt; a task per delivery enqueued with
  `transaction.on_commit`, `select_related`, a per-thread `requests.Session`,
  Django's psycopg pool, the order row locked while its last delivery settles
  and while its email is sent; one email per order through `send_mail`, Markdown
  rendered and cleaned with nh3, on its own email worker). django-webhook is the
  PyPI package as its documentation configures it, with its task on a dedicated
  queue; it signs with its own scheme (hex HMAC-SHA256 of "{{timestamp}}:{{body}}"),
  which the seller server verifies on its `/django-webhook` path, one port only
  (the library has one URL per webhook). The limit loop is `--workers`
  processes of `--concurrency` threads in bare psycopg: place (order and
  delivery in one INSERT), claim, POST, record and settle (one statement), mark
  the email (no email is built): four statements, four commits.
- PostgreSQL's counts: a new connection adds one commit (the backend reads its
  catalog in a transaction) and, with Django's pool, one `set_config`. Django
  declares foreign keys DEFERRABLE INITIALLY DEFERRED, so PostgreSQL's own checks
  run at commit and show in pg_stat_statements as top-level statements, as the
  table's owner: they are counted apart ("FK check"). Workers log in as the roles
  `bench_worker` and `bench_email` (created once per server, granted the run's
  tables) so that statements are put down to them; everything else is
  "placing". Counts are read once every process of the run has exited
  (PostgreSQL publishes a backend's counts when it exits).
- pg_stat_statements must be loaded for the statement counts: add
  `shared_preload_libraries = 'pg_stat_statements'` to postgresql.conf (on Debian,
  a file in `/etc/postgresql/<version>/main/conf.d/`) and restart PostgreSQL;
  the benchmark creates the extension itself. Without it the statements read
  "n/a (pg_stat_statements not loaded)" and the commits are still counted.
- The full results, including everything not shown here, are in
  `bench/results/latest.json` after a run (`before.json` is the figure from
  before any performance work).
"""


def main() -> None:
    """`python -m bench.report RESULTS.json`: print the page for a saved run."""
    import json
    import sys

    print(markdown(json.loads(Path(sys.argv[1]).read_text())), end="")


if __name__ == "__main__":
    main()
