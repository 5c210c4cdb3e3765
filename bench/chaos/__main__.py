"""`python -m bench.chaos` (`make chaos`): run the chaos scenarios, print the
figures and the PASS/FAIL line of every bound, save them as JSON.

    python -m bench.chaos                    # kills, then hang (about 6 minutes)
    python -m bench.chaos --scenario kills --runs 2

Exits 1 when a must-show bound fails, 2 when the services are missing.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

from bench.chaos.deploy import (
    DEVIATIONS,
    deployment_keys,
    dotenv_refuse,
    production_env,
)
from bench.chaos.tls import TlsFiles, tls_files_create
from bench.stack import ROOT, StackError

RESULTS = ROOT / "bench" / "results"
# `all` runs the two; `burst` isolates a finding of `kills`.
SCENARIOS = ("kills", "hang")
EXTRA_SCENARIOS = ("burst",)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.chaos", description=__doc__.split("\n\n")[0]
    )
    add = parser.add_argument
    add("--scenario", choices=[*SCENARIOS, *EXTRA_SCENARIOS, "all"], default="all")
    add("--runs", type=int, default=1, help="runs of each scenario")
    add("--orders", type=int, default=300, help="kills: orders placed")
    add("--seconds", type=float, default=45.0, help="kills: seconds of arrivals")
    add("--second-kill", action="store_true", help="kills: kill fulfillment2 too")
    add("--hang-rate", type=float, default=2.0, help="hang: orders/s per product")
    add("--hang-seconds", type=float, default=60.0, help="hang: seconds of arrivals")
    add("--burst-orders", type=int, default=150, help="burst: orders placed")
    add("--burst-seconds", type=float, default=3.0, help="burst: seconds")
    add("--clients", type=int, default=8, help="API client threads")
    add("--wait", type=float, default=420.0, help="seconds to wait for every email")
    add("--json", type=Path, default=RESULTS / "chaos.json", help="summary file")
    return parser.parse_args(argv)


def _on_sigterm(signum, frame) -> None:
    # Unwinds through every `finally`, so that each started process is stopped.
    raise SystemExit(128 + signum)


def _driver_setup(root: Path, tls: TlsFiles, keys: dict[str, str]) -> None:
    """This process reads and writes the run's database with the deployment's
    settings (the encryption key above all), without a connection pool, whose
    connections a database drop would leave broken."""
    os.environ.update(production_env(folder=root / "driver", tls=tls, keys=keys))
    os.environ["DB_POOL"] = "false"
    import django

    django.setup()


def _scenario(name: str, run, args: argparse.Namespace) -> dict:
    from bench.chaos.burst import burst_run
    from bench.chaos.hang import hang_run
    from bench.chaos.kills import kills_run

    return {"kills": kills_run, "hang": hang_run, "burst": burst_run}[name](run, args)


def _run_one(scenario: str, n: int, args, root: Path, tls, keys) -> dict:
    from bench.chaos.harness import run_prepared

    name, started = f"{scenario}-{n}", time.time()
    result: dict = {"name": name, "scenario": scenario, "folder": str(root / name)}
    try:
        with run_prepared(name, root=root, tls=tls, keys=keys) as run:
            result["versions"] = run.versions
            result["deploy_warnings"] = run.deploy_warnings
            result["figures"] = _scenario(scenario, run, args)
    except StackError:
        raise
    except Exception:
        result["error"] = traceback.format_exc()
        print(result["error"], file=sys.stderr)
    result["seconds"] = round(time.time() - started, 1)
    checks = result.get("figures", {}).get("checks", [])
    result["passed"] = bool(checks) and all(c["passed"] for c in checks if c["must"])
    return result


def _summary(runs: list[dict], argv: list[str]) -> dict:
    from bench.report import code_state, machine

    warnings = sorted({w for run in runs for w in run.get("deploy_warnings", [])})
    return {
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(["python -m bench.chaos", *argv]),
        "code": code_state(),
        "machine": machine(),
        "deviations": DEVIATIONS,
        "deploy_warnings": warnings,
        "passed": bool(runs) and all(run["passed"] for run in runs),
        "runs": runs,
    }


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _on_sigterm)
    root = RESULTS / "chaos" / time.strftime("%Y%m%d-%H%M%S")
    try:
        dotenv_refuse()
        tls, keys = tls_files_create(root / "tls"), deployment_keys()
        _driver_setup(root, tls, keys)
        scenarios = SCENARIOS if args.scenario == "all" else (args.scenario,)
        runs = [
            _run_one(scenario, n, args, root, tls, keys)
            for scenario in scenarios
            for n in range(1, args.runs + 1)
        ]
    except StackError as exc:
        print(f"chaos: {exc}", file=sys.stderr)
        return 2
    summary = _summary(runs, argv)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(summary, indent=2, default=str) + "\n")
    from bench.chaos.report import summary_text

    print(summary_text(summary))
    print(f"[chaos] summary in {args.json}, logs in {root}", file=sys.stderr)
    return 0 if summary["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
