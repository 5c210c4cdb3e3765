"""The connection budget (docs/deploy.md): the production Procfile at its default
sizing, each process with the pool it gets (config/db_pool.py), fits in what a
default PostgreSQL allows. A change to the Procfile, gunicorn's defaults or the
pool settings that breaks the budget fails here.

A process holds at most as many connections as its pool's max_size, and a
single-threaded one at most its pool's min_size (one thread never makes it
grow). The worst case counts every Procfile process at once, web at its largest
default (8 workers, whatever the machine), the release phase's migrate, and one
process restarted beside its replacement (a deploy restarts one at a time).
"""

from __future__ import annotations

import json
import re
import runpy
import subprocess
import sys

import pytest
from django.conf import settings

from config.db_pool import CELERY_EXTRA_CONNECTIONS, pool_bounds
from tests.config.test_gunicorn import CONF, _print_config
from tests.config.test_procfile import _option, _processes

# PostgreSQL's defaults, and what we keep for people: psql sessions, a backup,
# monitoring, a one-off management command.
POSTGRES_MAX_CONNECTIONS = 100
SUPERUSER_RESERVED_CONNECTIONS = 3
ADMIN_HEADROOM = 5
BUDGET = POSTGRES_MAX_CONNECTIONS - SUPERUSER_RESERVED_CONNECTIONS - ADMIN_HEADROOM


def _default(word: str) -> int:
    """A number, or the default of a `${NAME:-number}` in the Procfile."""
    match = re.fullmatch(r"\$\{\w+:-(\d+)\}|(\d+)", word)
    assert match, f"{word!r}: neither a number nor ${{NAME:-number}}"
    return int(match.group(1) or match.group(2))


def _pool_settings(tmp_path) -> dict:
    """The pool options a production process on PostgreSQL gets by default, read
    from config/settings.py in a clean environment (no connection is made)."""
    env = {
        "PATH": "",
        "VAR_DIR": str(tmp_path),
        "DATABASE_URL": "postgres://app@db.invalid:5432/app",
    }
    code = (
        "import json, config.settings as s; "
        "print(json.dumps(s.DATABASES['default']['OPTIONS']['pool']))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


@pytest.fixture(scope="module")
def defaults(tmp_path_factory) -> dict:
    tmp_path = tmp_path_factory.mktemp("budget")
    pool = _pool_settings(tmp_path)
    gunicorn = _print_config(tmp_path)
    return {
        "ceiling": pool["max_size"],
        "min_size": pool["min_size"],
        "web_threads": int(gunicorn["threads"]),
        "web_workers_max": runpy.run_path(str(CONF))["default_workers"](1024),
    }


def _process_threads(name: str, args: list[str], defaults: dict) -> int:
    """Threads of one process of a Procfile type that may each hold a connection."""
    if args[0] == "gunicorn":
        return defaults["web_threads"]
    if "worker" in args:
        return _default(_option(args, "--concurrency")) + CELERY_EXTRA_CONNECTIONS
    assert name in ("release", "beat"), f"{name}: how many threads does it run?"
    return 1


def _connections(threads: int, defaults: dict) -> int:
    """The most connections one process with `threads` threads holds."""
    min_size, max_size = pool_bounds(
        threads=threads, ceiling=defaults["ceiling"], min_size=defaults["min_size"]
    )
    # A single thread never makes the pool grow past what it opens with.
    return max_size if threads > 1 else max(defaults["min_size"], 1)


def _worst_case(defaults: dict) -> dict[str, int]:
    per_process = {
        name: _connections(_process_threads(name, args, defaults), defaults)
        for name, args in _processes().items()
    }
    count = {name: 1 for name in per_process} | {"web": defaults["web_workers_max"]}
    total = {name: count[name] * per_process[name] for name in per_process}
    total["restart overlap"] = max(per_process.values())
    return total


def test_the_default_sizing_fits_in_a_default_postgresql(defaults):
    worst = _worst_case(defaults)

    assert defaults["web_workers_max"] == 8
    assert sum(worst.values()) <= BUDGET, (
        f"{sum(worst.values())} connections at worst {worst}, over the budget "
        f"of {BUDGET}: see 'Connection budget' in docs/deploy.md"
    )


def test_the_worked_example_of_the_deploy_guide_holds(defaults):
    # docs/deploy.md works these figures out; change both together.
    assert _worst_case(defaults) == {
        "release": 2,
        "web": 8 * 4,
        "fulfillment": 16 + 2,
        "email": 8 + 2,
        "beat": 2,
        "restart overlap": 18,
    }


def test_every_threaded_process_gets_a_connection_per_thread(defaults):
    # Below that, threads would wait for a connection (and the process warns).
    for name, args in _processes().items():
        threads = _process_threads(name, args, defaults)
        assert _connections(threads, defaults) >= threads, name
