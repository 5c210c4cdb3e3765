"""Counting PostgreSQL's statements per delivery from two snapshots."""

from __future__ import annotations

from collections import Counter

from bench.pgstats import FK_CHECK, NOT_LOADED, delta, kind

FK = 'SELECT $2 FROM ONLY "public"."orders" x WHERE "id" = $1 FOR KEY SHARE OF x'


def _snapshot(commits: int, calls: dict, *, on: bool = True) -> dict:
    return {
        "commits": commits,
        "rollbacks": 0,
        "statements_on": on,
        "calls": Counter(calls),
    }


def test_kind_is_the_first_keyword():
    assert kind("SELECT 1") == "SELECT"
    assert kind("  update orders SET x = 1") == "UPDATE"
    assert kind("BEGIN") == "BEGIN"


def test_a_cte_counts_as_what_it_changes():
    assert kind("WITH o AS (SELECT 1) INSERT INTO t SELECT * FROM o") == "INSERT"
    assert kind("WITH o AS (SELECT 1) SELECT * FROM o") == "SELECT"


def test_foreign_key_checks_are_their_own_kind():
    assert kind(FK) == FK_CHECK


def test_statements_leave_out_transaction_control_and_fk_checks():
    before = _snapshot(10, {("bench_worker", "SELECT 1"): 5})
    after = _snapshot(
        30,
        {
            ("bench_worker", "SELECT 1"): 25,
            ("bench_worker", "BEGIN"): 10,
            ("postgres", "INSERT INTO orders VALUES ($1)"): 10,
            ("postgres", FK): 10,
        },
    )
    found = delta(before, after, deliveries=10, attempts=10)
    assert found["commits_per_delivery"] == 2.0
    assert found["statements_per_delivery"] == 3.0
    assert found["control_per_delivery"] == 1.0
    assert found["fk_checks_per_delivery"] == 1.0
    assert found["worker_statements_per_attempt"] == 2.0
    assert found["per_delivery_by_process"] == {"worker": 2.0, "placing": 1.0}


def test_without_pg_stat_statements_only_commits_are_counted():
    found = delta(_snapshot(0, {}, on=False), _snapshot(40, {}, on=False),
                  deliveries=10, attempts=10)  # fmt: skip
    assert found["commits_per_delivery"] == 4.0
    assert found["statements"] == NOT_LOADED
