"""B1 for the peers: each on its own database, the same seller servers, the same
number of deliveries, worker processes and threads as ours.

Measured as ours is (bench/throughput.py): CPU by process from /proc between the
first order and the last email (the last verified request for django-webhook,
which sends no email), then PostgreSQL's commits and statements for the peer's
database once all its processes have stopped (bench/pgstats.py).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import requests
from celery import Celery
from psycopg import sql

from bench import cpu, pgstats
from bench.context import Context
from bench.email_backend import emails_counted, emails_counter_reset
from bench.env import EMAIL_ROLE, ROLE_ENV, WORKER_ROLE, peer_database_url
from bench.peers import protocol
from bench.seller import DJANGO_WEBHOOK_KEY, DJANGO_WEBHOOK_PATH
from bench.stack import Proc, database_recreate, pg_connect, worker_start, workers_wait

READY_SECONDS = 90


@dataclass
class Peer:
    """One peer's run: its database, its processes by kind, when it started."""

    name: str
    ctx: Context
    procs: dict[str, list[Proc]] = field(default_factory=dict)
    started_at: float = 0.0
    placed: dict = field(default_factory=dict)

    @property
    def url(self) -> str:
        return peer_database_url(self.name)

    def env(self, role: str | None = None, *, django: bool = True) -> dict[str, str]:
        env = {
            **self.ctx.stack.env,
            "BENCH_PEER_DATABASE_URL": self.url,
            "BENCH_POOL_MAX_SIZE": str(self.ctx.concurrency),
        }
        env.pop("DJANGO_SETTINGS_MODULE", None)
        env.pop(ROLE_ENV, None)
        if django:
            env["DJANGO_SETTINGS_MODULE"] = f"bench.peers.{self.name}.settings"
        if role:
            env[ROLE_ENV] = role
        return env

    def all_procs(self) -> list[Proc]:
        return [proc for procs in self.procs.values() for proc in procs]

    def pids(self) -> dict[str, list[int]]:
        return {kind: [p.pid for p in procs] for kind, procs in self.procs.items()}


def _catalog(ctx: Context) -> str:
    path = ctx.stack.log_dir.parent / "catalog.json"
    path.write_text(json.dumps(ctx.data.catalog()))
    return str(path)


def _setup(peer: Peer, cmd: list[str], *, django: bool = True) -> None:
    """A fresh database, the peer's own setup command, then the workers' roles."""
    database_recreate(peer.url)
    proc = peer.ctx.stack.start(f"{peer.name}-setup", cmd, env=peer.env(django=django))
    if proc.popen.wait(timeout=READY_SECONDS) != 0:
        raise RuntimeError(f"{peer.name} setup failed:\n{proc.log_tail()}")
    pgstats.roles_grant(peer.url)


def _steered(peer: Peer, name: str, cmd: list[str], env: dict[str, str]) -> Proc:
    proc = peer.ctx.stack.start(name, cmd, env=env, stdout_pipe=True, stdin_pipe=True)
    protocol.read(proc, timeout=READY_SECONDS)
    return proc


def _placer(peer: Peer, count: int, catalog: str) -> Proc:
    cmd = [
        sys.executable, "-m", "bench.peers.place", peer.name, "--catalog", catalog,
        "--count", str(count), "--threads", str(peer.ctx.creators), "--tag", "b1",
    ]  # fmt: skip
    return _steered(peer, f"{peer.name}-placing", cmd, peer.env())


def _workers(peer: Peer, *, queue: str, role: str, count: int, concurrency: int):
    app = f"bench.peers.{peer.name}"
    procs = [
        worker_start(
            peer.ctx.stack,
            name=f"{peer.name}-{queue}{k + 1}",
            queues=queue,
            concurrency=concurrency,
            app=app,
            env=peer.env(role),
        )
        for k in range(count)
    ]
    workers_wait(procs, Celery("bench-ping", broker=peer.ctx.broker_url))
    return procs


def _placer_and_workers(peer: Peer, count: int, catalog: str, *, queue: str) -> None:
    """A Django peer's placing process, then `--workers` workers on `queue`."""
    peer.procs["placing"] = [_placer(peer, count, catalog)]
    peer.procs["workers"] = _workers(
        peer,
        queue=queue,
        role=WORKER_ROLE,
        count=peer.ctx.workers,
        concurrency=peer.ctx.concurrency,
    )


def _wait(ctx: Context, done: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + ctx.timeout
    while not done():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def _measured(peer: Peer, count: int, go: Callable[[], None], done) -> dict:
    """Start (`go`), wait until `done()`, stop everything; what it took."""
    ctx = peer.ctx
    components = {"driver": [os.getpid()], **peer.pids()}
    components["seller_server"] = [ctx.fast.pid]
    statements = pgstats.statements_available(peer.url)
    pg_before = pgstats.snapshot(peer.url, statements=statements)
    seller_before = ctx.seller_stats()
    cpu_before = cpu.snapshot(components)
    go()
    finished = _wait(ctx, done)
    cpu_used = cpu.usage(cpu_before, cpu.snapshot(components), per=count)
    died = [p.name for p in peer.all_procs() if not p.alive()]
    seller_after = ctx.seller_stats()
    ctx.stack.stop_all(peer.all_procs())
    pgstats.quiesce(peer.url)
    pg_after = pgstats.snapshot(peer.url, statements=statements)
    return {
        "deliveries": count,
        "timed_out": not finished,
        "processes_died": died,
        "verified_by_seller": seller_after.get("verified", 0)
        - seller_before.get("verified", 0),
        "rejected_by_seller": seller_after.get("rejected", 0)
        - seller_before.get("rejected", 0),
        "last_verified_at": seller_after.get("last_verified_at"),
        "cpu": cpu_used,
        "pg": (pg_before, pg_after),
    }


def _finish(peer: Peer, result: dict, *, end: float | None, attempts: int) -> dict:
    pg_before, pg_after = result.pop("pg")
    count = result["deliveries"]
    seconds = (end or time.time()) - peer.started_at
    return {
        **result,
        "placing": peer.placed,
        "seconds": round(seconds, 2),
        "per_second": round(count / seconds, 1) if not result["timed_out"] else None,
        "attempts_stored": attempts,
        "postgresql": pgstats.delta(
            pg_before, pg_after, deliveries=count, attempts=attempts
        ),
    }


def _query(peer: Peer, sql: str) -> tuple:
    with pg_connect(peer.url) as conn:
        return conn.execute(sql).fetchone()


def _emails(peer: Peer, orders: str, attempts: str) -> tuple:
    """Orders emailed, when the last one was (epoch seconds), attempts stored."""
    with pg_connect(peer.url) as conn:
        emailed, last, stored = conn.execute(
            sql.SQL(
                "SELECT count(email_sent_at), extract(epoch FROM max(email_sent_at)),"
                " (SELECT count(*) FROM {}) FROM {}"
            ).format(sql.Identifier(attempts), sql.Identifier(orders))
        ).fetchone()
    return emailed, last and float(last), stored


def _go_placer(peer: Peer) -> Callable[[], None]:
    def go() -> None:
        placer = peer.procs["placing"][0]
        protocol.go(placer)
        # Placing is timed by the placer itself; its result is the start time.
        peer.placed = protocol.read(placer, timeout=peer.ctx.timeout)
        peer.started_at = peer.placed["started_at"]

    return go


# --- The peers ------------------------------------------------------------------


def conventional_run(ctx: Context, *, count: int) -> dict:
    """Orders placed by a Django process while the workers run; done when every
    order's email has been counted."""
    peer = Peer("conventional", ctx)
    catalog = _catalog(ctx)
    place = [sys.executable, "-m", "bench.peers.place", peer.name, "--catalog", catalog]
    _setup(peer, [*place, "--setup"])
    emails_counter_reset()
    try:
        _placer_and_workers(peer, count, catalog, queue="conventional")
        peer.procs["email_worker"] = _workers(
            peer, queue="conventional-email", role=EMAIL_ROLE, count=1,
            concurrency=ctx.email_concurrency,
        )  # fmt: skip
        result = _measured(
            peer, count, _go_placer(peer), lambda: emails_counted() >= count
        )
    finally:
        ctx.stack.stop_all(peer.all_procs())
    emailed, last, attempts = _emails(
        peer, "conventional_order", "conventional_attempt"
    )
    result["emails_sent_in_db"] = emailed
    result["emails_counted"] = emails_counted()
    return _finish(peer, result, end=last, attempts=attempts)


def djwebhook_run(ctx: Context, *, count: int) -> dict:
    """Orders saved by a Django process, each firing django-webhook's task; done
    when the seller server has verified every request."""
    peer = Peer("djwebhook", ctx)
    catalog = _catalog(ctx)
    secret = os.urandom(24).hex()
    port = ctx.fast.info["ports"][0]
    requests.post(
        f"http://127.0.0.1:{port}/_bench/secrets",
        json={DJANGO_WEBHOOK_KEY: secret},
        timeout=10,
    ).raise_for_status()
    _setup(peer, [
        sys.executable, "-m", "bench.peers.place", peer.name, "--setup",
        "--catalog", catalog, "--webhook-secret", secret,
        "--webhook-url", f"http://127.0.0.1:{port}{DJANGO_WEBHOOK_PATH}",
    ])  # fmt: skip
    before = ctx.seller_stats().get("verified", 0)
    try:
        _placer_and_workers(peer, count, catalog, queue="djwebhook")
        result = _measured(
            peer,
            count,
            _go_placer(peer),
            lambda: ctx.seller_stats().get("verified", 0) - before >= count,
        )
    finally:
        ctx.stack.stop_all(peer.all_procs())
    events, succeeded = _query(
        peer,
        "SELECT count(*), count(*) FILTER (WHERE status = 'SUCCESS')"
        " FROM django_webhook_webhookevent",
    )
    result["events_stored"] = events
    result["events_succeeded"] = succeeded
    return _finish(peer, result, end=result["last_verified_at"], attempts=events)


def limit_run(ctx: Context, *, count: int) -> dict:
    """`--workers` processes of `--concurrency` threads, each thread placing and
    delivering its share of the orders in bare psycopg."""
    peer = Peer("limit", ctx)
    catalog = _catalog(ctx)
    base = [sys.executable, "-m", "bench.peers.limit", "--catalog", catalog]
    _setup(peer, [*base, "--setup"], django=False)
    procs = peer.procs["workers"] = []
    try:
        for k in range(ctx.workers):
            cmd = [*base, "--count", str(count), "--threads", str(ctx.concurrency),
                   "--process", str(k), "--processes", str(ctx.workers)]  # fmt: skip
            env = peer.env(WORKER_ROLE, django=False)
            procs.append(_steered(peer, f"limit{k + 1}", cmd, env))
        result = _measured(peer, count, _go_limit(peer), lambda: True)
    finally:
        ctx.stack.stop_all(peer.all_procs())
    emailed, last, attempts = _emails(peer, "orders", "attempts")
    result["emails_marked_in_db"] = emailed
    return _finish(peer, result, end=last, attempts=attempts)


def _go_limit(peer: Peer) -> Callable[[], None]:
    def go() -> None:
        procs = peer.procs["workers"]
        for proc in procs:
            protocol.go(proc)
        results = [protocol.read(proc, timeout=peer.ctx.timeout) for proc in procs]
        peer.started_at = min(r["started_at"] for r in results)
        peer.placed = {
            "errors": sum(r["errors"] for r in results),
            "first_error": next(
                (r["first_error"] for r in results if r["errors"]), None
            ),
        }

    return go
