"""The targets of issue 12, evaluated on made-up results."""

from __future__ import annotations

from bench.targets import cpu_total, evaluate, ratio, target, verdict


def _run(rate: float, **cpu_ms: float) -> dict:
    return {"per_second": rate, "cpu": {"cpu_ms_per_item": cpu_ms}}


def _results() -> dict:
    ours = _run(120.0, driver=2.0, fulfillment_workers=6.0, postgresql=2.0, others=9)
    ours["postgresql"] = {
        "commits_per_delivery": 4.5,
        "worker_statements_per_attempt": 7,
    }
    return {
        "b1": ours,
        "conventional": _run(70.0, placing=3.0, workers=12.0, postgresql=5.0),
        "limit": _run(235.0, workers=3.0, postgresql=1.0),
        "b2": {"ratios": {"p95": 1.2}},
        "b3": {
            "trivial": {"per_second": 900.0},
            "orders": {"per_second": 300.0},
            "open_loop": {"100": {"p99_ratio": 3.5}},
        },
    }


def test_cpu_total_leaves_out_processes_outside_the_benchmark():
    assert cpu_total(_run(1, driver=1.0, postgresql=2.5, others=40.0)) == 3.5


def test_cpu_total_of_a_run_not_measured_is_none():
    assert cpu_total(None) is None
    assert cpu_total({"cpu": {}}) is None


def test_ratio_needs_both_figures():
    assert ratio(1, 3) == 0.333
    assert ratio(None, 3) is None
    assert ratio(1, 0) is None


def test_target_bounds_are_inclusive():
    assert target(0.67, "<=", 0.67)["met"] is True
    assert target(1.5, ">=", 1.5)["met"] is True
    assert target(1.49, ">=", 1.5)["met"] is False


def test_a_target_without_a_value_is_not_measured():
    found = target(None, "<=", 5)
    assert found["met"] is None
    assert verdict(found["met"]) == "not measured"


def test_evaluate_compares_ours_with_the_peers_of_the_same_run():
    found = evaluate(_results())
    assert found["b1_cpu_vs_conventional"]["value"] == 0.5  # 10 / 20
    assert found["b1_cpu_vs_conventional"]["met"] is True
    assert found["b1_cpu_vs_limit"]["value"] == 2.5  # 10 / 4
    assert found["b1_rate_vs_conventional"]["value"] == 1.714
    assert found["b1_rate_vs_limit"]["met"] is True  # 120 / 235 = 0.511


def test_evaluate_reads_postgresql_and_the_api_figures():
    found = evaluate(_results())
    assert found["commits_per_delivery"]["met"] is True
    assert found["statements_per_attempt"]["met"] is False
    assert found["b2_p95_ratio"]["met"] is True
    assert found["b3_saturation"]["value"] == 0.333
    assert verdict(found["b3_open_p99_100"]["met"]) == "FAIL"


def test_statements_not_counted_leave_their_target_unmeasured():
    results = _results()
    results["b1"]["postgresql"]["worker_statements_per_attempt"] = None
    assert evaluate(results)["statements_per_attempt"]["met"] is None
