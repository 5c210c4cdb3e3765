"""Measure the PostgreSQL connections of the production Procfile under load.

    python -m bench.connections [--orders 400] [--clients 32]

Runs the Procfile's own command lines (release, then web, fulfillment, email,
beat) with their default sizing on BENCH_DATABASE_URL and BENCH_BROKER_URL
(dropped and flushed first: use scratch ones; WEB_CONCURRENCY and the other
sizing variables of SIZING are passed through), wires the demo product to the
reference license server, places orders through the orders API from many
clients at once, and samples `pg_stat_activity` every 50 ms until every order's
email is sent. Prints the peak, in all and per Procfile process type (each
process connects with its type as `application_name`), beside the connection
budget of docs/deploy.md. A measurement, not a test: it never fails on a figure.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import requests

from bench import env as bench_env
from bench import stack

ROOT = Path(__file__).resolve().parent.parent
ORDER_TYPES = ("web", "fulfillment", "email", "beat")
SIZING = (
    "WEB_CONCURRENCY",
    "WEB_THREADS",
    "FULFILLMENT_CONCURRENCY",
    "EMAIL_CONCURRENCY",
    "DB_POOL_MAX_SIZE",
    "DB_POOL_MIN_SIZE",
)


def _procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip())


class Sampler(threading.Thread):
    """Peak connections to one database, in all and per application_name."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.params = stack._pg_params(url)
        self.peak_total, self.peak_by_type = 0, Counter()
        self.running = True

    def run(self) -> None:
        query = (
            "SELECT application_name, count(*) FROM pg_stat_activity "
            "WHERE datname = %s GROUP BY 1"
        )
        admin = {**self.params, "dbname": "postgres"}
        with psycopg.connect(**admin, autocommit=True) as conn:
            while self.running:
                rows = conn.execute(query, (self.params["dbname"],)).fetchall()
                self.peak_total = max(self.peak_total, sum(n for _, n in rows))
                for name, n in rows:
                    self.peak_by_type[name] = max(self.peak_by_type[name], n)
                time.sleep(0.05)


def _env(url: str, var_dir: Path, port: int) -> dict[str, str]:
    return {
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": url,
        "CELERY_BROKER_URL": bench_env.broker_url(),
        "VAR_DIR": str(var_dir),
        "PORT": str(port),
        "ALLOWED_HOSTS": "127.0.0.1",
        "FULFILLMENT_ALLOWED_PRIVATE_NETWORKS": "127.0.0.0/8",
        "API_RATE_LIMIT": "100000000/60",
        "LOG_LEVEL": "INFO",
        # The sizing under test: the Procfile's defaults unless the caller sets it.
        **{key: os.environ[key] for key in SIZING if key in os.environ},
    }


def _start(st: stack.Stack, name: str, command: str, env: dict) -> stack.Proc:
    # Each process type names itself to PostgreSQL, so the peaks can be told apart.
    url = f"{env['DATABASE_URL']}?application_name={name}"
    return st.start(name, ["sh", "-c", command], env={**env, "DATABASE_URL": url})


def _manage(env: dict, *args: str) -> str:
    done = subprocess.run(  # noqa: S603 - our own command
        [sys.executable, "manage.py", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    return done.stdout.strip()


def _wire_demo(st: stack.Stack, env: dict, var_dir: Path) -> tuple[str, int]:
    """The demo product on a license server of our own; returns an API token."""
    _manage(env, "demo_setup")
    secret = (var_dir / "demo_webhook_secret").read_text().strip()
    port = stack.free_port()
    cmd = [sys.executable, "examples/license_server.py", "--port", str(port)]
    server = st.start("license", [*cmd, "--secret", secret], env=env)
    stack.wait_ready(
        server,
        lambda: requests.get(f"http://127.0.0.1:{port}/", timeout=1).ok,
        timeout=20,
        what="license server",
    )
    _manage(
        env, "shell", "-c",
        "from fulfillment.models import WebhookConfig; WebhookConfig.objects"
        f".update(url='http://127.0.0.1:{port}/license')",
    )  # fmt: skip
    return _manage(env, "api_token_create", "--name", "connections"), port


def _place(base: str, token: str, orders: int, clients: int) -> float:
    def order(i: int) -> int:
        body = {
            "product": "pixel-editor-pro",
            "quantity": 1,
            "customer_email": f"buyer{i}@example.com",
            "transaction_id": f"conn-{i}",
        }
        headers = {"Authorization": f"Bearer {token}"}
        url = f"{base}/api/v1/orders"
        return requests.post(url, json=body, headers=headers, timeout=30).status_code

    t0 = time.monotonic()
    with ThreadPoolExecutor(clients) as pool:
        codes = Counter(pool.map(order, range(orders)))
    print(f"[connections] API answers: {dict(codes)}", file=sys.stderr)
    return time.monotonic() - t0


def _emails_sent(url: str) -> int:
    params = {**stack._pg_params(url), "application_name": "measurement"}
    with psycopg.connect(**params) as conn:
        query = "SELECT count(*) FROM emails_orderemail WHERE status = 'sent'"
        return conn.execute(query).fetchone()[0]


def _without_pid(log_line: str) -> str:
    """ "gunicorn worker 5802: at most 4 …" → "gunicorn worker: at most 4 …"."""
    what, _, size = log_line.split("config.db_pool ")[-1].partition(": ")
    return f"{what.rsplit(' ', 1)[0] if what.startswith('gunicorn') else what}: {size}"


def main(argv: list[str]) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=400)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--force-drop", action="store_true")
    args = parser.parse_args(argv)
    url = bench_env.database_url()
    stack.database_recreate(url, force=args.force_drop)
    stack.broker_flush(bench_env.broker_url())
    procfile = _procfile()
    with (
        tempfile.TemporaryDirectory() as tmp,
        stack.Stack(log_dir=Path(tmp) / "logs", env={}) as st,
    ):
        env = _env(url, Path(tmp) / "var", stack.free_port())
        _manage(env, *shlex.split(procfile["release"])[2:])  # migrate
        token, _ = _wire_demo(st, env, Path(tmp) / "var")
        sampler = Sampler(url)
        sampler.start()
        for name in ORDER_TYPES:
            _start(st, name, procfile[name], env)
        base = f"http://127.0.0.1:{env['PORT']}"
        stack.wait_ready(
            st.procs[-4],
            lambda: requests.get(f"{base}/healthz", timeout=2).ok,
            timeout=60,
            what="gunicorn",
        )
        seconds = _place(base, token, args.orders, args.clients)
        deadline = time.monotonic() + 120
        while _emails_sent(url) < args.orders and time.monotonic() < deadline:
            time.sleep(0.5)
        sampler.running = False
        sampler.join()
        pool_lines = [
            line
            for proc in st.procs
            for line in proc.log.read_text().splitlines()
            if "database connections" in line
        ]
        result = {
            "orders": args.orders,
            "clients": args.clients,
            "api_seconds": round(seconds, 1),
            "emails_sent": _emails_sent(url),
            "web_workers": sum("gunicorn worker" in line for line in pool_lines),
            "peak_connections": sampler.peak_total,
            "peak_by_process_type": dict(sampler.peak_by_type),
            "pool_sizes": sorted({_without_pid(line) for line in pool_lines}),
        }
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
