"""The commit ceiling of this box's PostgreSQL, measured with `pgbench`.

Every delivery costs a fixed number of commits (5: the order, the claim, the
attempt's record, the email's claim and its record), so the commits per second
PostgreSQL sustains on this machine bound deliveries per second whatever else is
added. Two workloads, each on a scratch database beside the benchmark's:

- `-N` (pgbench's "simple update": UPDATE, SELECT, INSERT per transaction), the
  shape of our transactions, 8 clients;
- one INSERT per transaction into a narrow table: the cheapest commit there is.

Each runs SECONDS seconds; the figure is pgbench's "tps" without the initial
connection time. pgbench runs on the same cores as PostgreSQL (as our workers
do), so this is the ceiling of the whole box, not of a dedicated database host.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from urllib.parse import urlsplit, urlunsplit

from bench.context import Context

SECONDS = 15
CLIENTS = 8
THREADS = 2
SCALE = 10
_INSERT = "INSERT INTO ceiling_commit (at) VALUES (now());\n"


def _url(database_url: str, name: str) -> str:
    return urlunsplit(urlsplit(database_url)._replace(path=f"/{name}"))


def _run(program: str, *args: str) -> str:
    path = shutil.which(program)
    if path is None:
        raise RuntimeError(f"{program} is not on PATH")
    done = subprocess.run(  # noqa: S603 - our own commands, no shell
        [path, *args], check=True, capture_output=True, text=True
    )
    return done.stdout


def _psql(url: str, sql: str) -> None:
    _run("psql", url, "-qc", sql)


def _tps(output: str) -> float:
    match = re.search(r"tps = ([\d.]+) \(without initial connection time\)", output)
    if match is None:
        raise RuntimeError(f"pgbench printed no tps: {output[-500:]}")
    return round(float(match.group(1)), 1)


def _pgbench(url: str, *args: str) -> float:
    return _tps(
        _run(
            "pgbench", "-n", f"-c{CLIENTS}", f"-j{THREADS}", f"-T{SECONDS}", *args, url
        )
    )


def ceiling_run(ctx: Context, *, database_url: str) -> dict:
    if shutil.which("pgbench") is None:
        return {"skipped": "pgbench is not on PATH (apt-get install postgresql-client)"}
    name = f"{urlsplit(database_url).path.lstrip('/')}_pgbench"
    admin = _url(database_url, "postgres")
    url = _url(database_url, name)
    _psql(admin, f'DROP DATABASE IF EXISTS "{name}"')
    _psql(admin, f'CREATE DATABASE "{name}"')
    try:
        _run("pgbench", "-i", "-q", f"-s{SCALE}", url)
        _psql(
            url,
            "CREATE TABLE ceiling_commit (id bigserial PRIMARY KEY, at timestamptz)",
        )
        ctx.log(f"pgbench -N, {CLIENTS} clients, {SECONDS} s ...")
        simple = _pgbench(url, "-N")
        with tempfile.NamedTemporaryFile("w", suffix=".sql") as script:
            script.write(_INSERT)
            script.flush()
            ctx.log(f"pgbench one INSERT per commit, {SECONDS} s ...")
            insert = _pgbench(url, "-f", script.name)
    finally:
        _psql(admin, f'DROP DATABASE IF EXISTS "{name}"')
    return {
        "clients": CLIENTS,
        "threads": THREADS,
        "seconds": SECONDS,
        "scale": SCALE,
        "simple_update_tps": simple,
        "insert_tps": insert,
    }
