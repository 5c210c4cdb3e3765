"""Run the benchmark of issue 6 and report it (`make bench`).

    python -m bench.run            # the full run (about 5-8 minutes on 2 cores)
    python -m bench.run --quick    # small sizes, to try the machinery

Starts PostgreSQL-backed Django processes on Redis: real `celery worker`
processes, beat, gunicorn, a fast seller server (one port per seller) and a slow
one, all with DJANGO_SETTINGS_MODULE=bench.settings. The database named by
BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/fulfillment_bench)
is dropped, created and migrated; the Redis database of BENCH_BROKER_URL (default
redis://127.0.0.1:6379/14) is flushed. Prints a JSON summary on stdout (progress
goes to stderr), saves it to bench/results/latest.json and, for a full run,
writes docs/benchmarks.md. A benchmark, not a test: it never fails on a figure.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):  # `python bench/run.py`: import from the project root
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from bench import env as bench_env  # noqa: E402
from bench import stack  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DOCS = ROOT / "docs" / "benchmarks.md"

FULL = {
    "deliveries": 3000,
    "b2_seconds": 30.0,
    "b3_requests": 1280,
    "b3_open_seconds": 10.0,
}
QUICK = {
    "deliveries": 300,
    "b2_seconds": 8.0,
    "b3_requests": 320,
    "b3_open_seconds": 3.0,
}


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run", description=__doc__.split("\n\n")[0]
    )
    add = parser.add_argument
    add("--quick", action="store_true", help="small sizes; does not write the docs")
    add("--deliveries", type=int, help="B1/B5 deliveries, raw and naive requests")
    add("--b2-seconds", type=float, help="B2: seconds of arrivals in each run")
    add("--b2-rate", type=float, help="B2: orders/s (default: 40 %% of B1's rate)")
    add("--b3-requests", type=int, help="B3: requests per target (all clients)")
    add(
        "--b3-open-seconds",
        type=float,
        help="B3: seconds of each open-loop run (fixed arrival rate)",
    )
    add(
        "--workers",
        type=int,
        default=2,
        help="worker processes in B1 and B2 (ours "
        "and naive; B5 runs 1): one per core, as docs/deploy.md sizes them",
    )
    add("--concurrency", type=int, default=32, help="threads per fulfillment worker")
    add("--email-concurrency", type=int, default=8, help="threads of the email worker")
    add("--endpoints", type=int, default=15, help="fast seller servers (ports)")
    add("--products-per-endpoint", type=int, default=6)
    add("--creators", type=int, default=4, help="driver threads placing orders")
    add("--timeout", type=float, default=240, help="seconds to wait for a batch")
    add(
        "--only",
        help="comma-separated subset of raw,naive,b1,conventional,djwebhook,"
        "limit,b5,b2,b3,ceiling",
    )
    add("--docs", action=argparse.BooleanOptionalAction, help="write the docs page")
    add("--json", type=Path, default=RESULTS / "latest.json", help="summary file")
    add("--force-drop", action="store_true", help="drop a database without 'bench'")
    args = parser.parse_args(argv)
    for key, value in (QUICK if args.quick else FULL).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.docs is None:
        args.docs = not args.quick and not args.only
    return args


def _child_env() -> dict[str, str]:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="bench.settings",
        BENCH_DATABASE_URL=bench_env.database_url(),
        BENCH_BROKER_URL=bench_env.broker_url(),
        PYTHONUNBUFFERED="1",
        # bench/settings.py sets it for Django; gunicorn's config reads it first.
        LOG_LEVEL="WARNING",
    )
    return dict(os.environ)


def _on_sigterm(signum, frame) -> None:
    # Unwinds through every `finally`, so that each started process is stopped.
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    began = time.monotonic()
    # A shared machine: how busy it was before this run started.
    load = [round(value, 2) for value in os.getloadavg()]
    signal.signal(signal.SIGTERM, _on_sigterm)
    env = _child_env()
    try:
        versions = stack.services_check(
            bench_env.database_url(), bench_env.broker_url()
        )
        stack.database_recreate(bench_env.database_url(), force=args.force_drop)
        stack.broker_flush(bench_env.broker_url())
    except stack.StackError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    import django

    django.setup()
    from bench.scenarios import run_all

    with stack.Stack(log_dir=RESULTS / "logs", env=env) as procs:
        results = run_all(procs, args)
    versions["load_average_at_start"] = load
    summary = _summary(args, argv, versions, results, time.monotonic() - began)
    _write(summary, args)
    print(json.dumps(summary, indent=2))
    return 0


def _summary(args, argv, versions, results, seconds) -> dict:
    from bench.report import code_state, machine

    return {
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(["python -m bench.run", shlex.join(argv)]).strip(),
        "code": code_state(),
        "machine": {**machine(), **versions},
        "settings": {
            key: getattr(args, key)
            for key in (
                "deliveries",
                "b2_seconds",
                "b2_rate",
                "b3_requests",
                "b3_open_seconds",
                "workers",
                "concurrency",
                "email_concurrency",
                "endpoints",
                "products_per_endpoint",
                "creators",
                "timeout",
            )
        },  # fmt: skip
        "email_from_fulfillment_worker": _email_from_fulfillment_worker(),
        **results,
        "total_seconds": round(seconds, 1),
    }


def _email_from_fulfillment_worker() -> bool:
    from django.conf import settings

    # Code from before the option (bench/results/before.json) always queued.
    return settings.FULFILLMENT.get("EMAIL_FROM_FULFILLMENT_WORKER", False)


def _write(summary: dict, args: argparse.Namespace) -> None:
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(summary, indent=2) + "\n")
    if args.docs:
        from bench.report import markdown

        DOCS.write_text(markdown(summary))
        print(f"[bench] wrote {DOCS.relative_to(ROOT)}", file=sys.stderr)
    print(f"[bench] total {summary['total_seconds']} s", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
