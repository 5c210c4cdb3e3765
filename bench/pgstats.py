"""What PostgreSQL did for a run: commits (pg_stat_database) and statements
(pg_stat_statements), read before and after, per database.

Statements are counted per role: the benchmark's workers log in as their own
roles (bench/env.py), so each statement is put down to the kind of process that
sent it. pg_stat_statements needs `shared_preload_libraries =
'pg_stat_statements'` and a restart of PostgreSQL; without it the statements are
reported as not measured and the commits still are.

A backend keeps its counts for up to ten seconds before it publishes them
(PostgreSQL 15's cumulative statistics), but always publishes them when it exits:
`quiesce` waits until a database has no backend left, so read "after" once
every process of the run has stopped, and "before" once setup is done.
"""

from __future__ import annotations

import time
from collections import Counter

import psycopg

from bench.env import EMAIL_ROLE, WORKER_ROLE
from bench.stack import pg_connect, pg_dbname

NOT_LOADED = "n/a (pg_stat_statements not loaded)"
# Transaction control: reported apart from the statements that do the work.
CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")
# PostgreSQL's own foreign-key checks. Django declares its foreign keys
# DEFERRABLE INITIALLY DEFERRED, so they run at commit, where pg_stat_statements
# sees them as top-level statements, and as the table's owner whoever committed.
# Nobody sent them: reported apart, not put down to a process.
FK_CHECK = "FK check"
NOT_SENT = (*CONTROL, FK_CHECK)
ROLES = (WORKER_ROLE, EMAIL_ROLE)
# The busiest statements kept in the results (ours sends about 25 kinds).
TOP = 40


def _admin(url: str) -> psycopg.Connection:
    # Reading the views from the maintenance database adds nothing to the counts
    # of the benchmark's own databases.
    return pg_connect(url, dbname="postgres")


def statements_available(url: str) -> bool:
    """True when pg_stat_statements is loaded; creates its view if needed."""
    with _admin(url) as conn:
        loaded = conn.execute(
            "SELECT 'pg_stat_statements' = ANY(string_to_array("
            "replace(current_setting('shared_preload_libraries'), ' ', ''), ','))"
        ).fetchone()[0]
        if loaded:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        return loaded


def roles_grant(url: str) -> None:
    """Create the workers' roles (once per server) and give them every table of
    the database at `url` (after its migrations)."""
    with _admin(url) as conn:
        for role in ROLES:
            exists = conn.execute(
                "SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)
            ).fetchone()
            if not exists:
                conn.execute(f'CREATE ROLE "{role}" LOGIN')
    names = ", ".join(f'"{role}"' for role in ROLES)
    with pg_connect(url) as conn:
        conn.execute(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {names}")
        conn.execute(f"GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {names}")


def quiesce(url: str, *, timeout: float = 10.0) -> bool:
    """Wait until no backend is connected to the database at `url`."""
    deadline = time.monotonic() + timeout
    with _admin(url) as conn:
        while True:
            left = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s",
                (pg_dbname(url),),
            ).fetchone()[0]
            if not left or time.monotonic() > deadline:
                return not left
            time.sleep(0.1)


def snapshot(url: str, *, statements: bool) -> dict:
    """Commits so far and, if available, every statement's calls by role."""
    name = pg_dbname(url)
    with _admin(url) as conn:
        commits = conn.execute(
            "SELECT xact_commit, xact_rollback FROM pg_stat_database "
            "WHERE datname = %s",
            (name,),
        ).fetchone()
        rows = (
            conn.execute(
                "SELECT r.rolname, s.query, s.calls FROM pg_stat_statements s "
                "JOIN pg_database d ON d.oid = s.dbid "
                "LEFT JOIN pg_roles r ON r.oid = s.userid WHERE d.datname = %s",
                (name,),
            ).fetchall()
            if statements
            else []
        )
    calls: Counter[tuple[str, str]] = Counter()
    for role, query, count in rows:
        calls[(role or "?", query)] += count
    return {
        "commits": commits[0],
        "rollbacks": commits[1],
        "statements_on": statements,
        "calls": calls,
    }


def kind(query: str) -> str:
    """SELECT, INSERT, UPDATE, DELETE, BEGIN, ... (a CTE counts as what it does)."""
    if query.startswith("SELECT $2 FROM ONLY") and "FOR KEY SHARE OF x" in query:
        return FK_CHECK
    words = query.lstrip("( \n").split(None, 1)
    first = words[0].upper() if words else "?"
    if first == "WITH":
        body = query.upper()
        for verb in ("INSERT", "UPDATE", "DELETE"):
            if f"{verb} " in body:
                return verb
        return "SELECT"
    return first


def process_of(role: str) -> str:
    """The process kind a role stands for."""
    return {WORKER_ROLE: "worker", EMAIL_ROLE: "email"}.get(role, "placing")


def delta(before: dict, after: dict, *, deliveries: int, attempts: int) -> dict:
    """Per delivery: commits and statements; statements by kind and by process;
    statements of the workers per attempt; the busiest statements.

    "Statements" are what the processes sent: neither transaction control
    (BEGIN, COMMIT, SAVEPOINT...) nor PostgreSQL's foreign-key checks, which are
    reported beside them. A new connection adds a commit (PostgreSQL reads its
    catalog in a transaction when a backend starts) and, with Django's pool, one
    `set_config` statement."""
    commits = after["commits"] - before["commits"]
    result = {
        "commits": commits,
        "commits_per_delivery": _per(commits, deliveries),
        "rollbacks": after["rollbacks"] - before["rollbacks"],
    }
    if not after["statements_on"]:
        return {**result, "statements": NOT_LOADED}
    calls = after["calls"] - before["calls"]
    return {**result, **_statements(calls, deliveries=deliveries, attempts=attempts)}


def _statements(calls: Counter, *, deliveries: int, attempts: int) -> dict:
    by_kind: Counter[str] = Counter()
    by_process: Counter[str] = Counter()
    for (role, query), count in calls.items():
        by_kind[kind(query)] += count
        if kind(query) not in NOT_SENT:
            by_process[process_of(role)] += count
    work = sum(by_process.values())
    control = sum(by_kind[k] for k in CONTROL)
    top = sorted(calls.items(), key=lambda item: -item[1])[:TOP]
    return {
        "statements": work,
        "statements_per_delivery": _per(work, deliveries),
        "control_per_delivery": _per(control, deliveries),
        "fk_checks_per_delivery": _per(by_kind[FK_CHECK], deliveries),
        "worker_statements_per_attempt": _per(by_process["worker"], attempts),
        "per_delivery_by_kind": _per_each(by_kind, deliveries),
        "per_delivery_by_process": _per_each(by_process, deliveries),
        "top": [
            {"role": role, "calls": count, "query": query[:300]}
            for (role, query), count in top
        ],
    }


def _per(value: int, n: int) -> float | None:
    return round(value / n, 2) if n else None


def _per_each(counts: Counter[str], n: int) -> dict[str, float | None]:
    return {key: _per(value, n) for key, value in counts.most_common()}
