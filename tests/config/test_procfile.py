"""The production Procfile: every routed queue has a worker, one beat, the
migration in the release phase."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from django.conf import settings

PROCFILE = Path(settings.BASE_DIR) / "Procfile"


def _processes() -> dict[str, list[str]]:
    lines = PROCFILE.read_text().splitlines()
    return {
        name: shlex.split(command)
        for name, command in (line.split(":", 1) for line in lines if line.strip())
    }


def _option(args: list[str], name: str) -> str:
    return args[args.index(name) + 1]


def test_release_migrates_and_web_runs_gunicorn_with_its_config():
    processes = _processes()

    assert processes["release"] == ["python", "manage.py", "migrate", "--noinput"]
    assert processes["web"] == [
        "gunicorn",
        "config.wsgi",
        "-c",
        "config/gunicorn.conf.py",
    ]


def test_every_routed_queue_has_a_thread_pool_worker():
    workers = [args for args in _processes().values() if "worker" in args]
    consumed = {
        queue for args in workers for queue in _option(args, "--queues").split(",")
    }

    routed = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}
    assert routed <= consumed
    assert all(_option(args, "--pool") == "threads" for args in workers)
    # Each worker has its own node name, so two can share a machine.
    names = [_option(args, "--hostname") for args in workers]
    assert len(set(names)) == len(names)


def test_fulfillment_concurrency_comes_from_the_environment():
    args = _processes()["fulfillment"]

    assert re.fullmatch(
        r"\$\{FULFILLMENT_CONCURRENCY:-\d+\}", _option(args, "--concurrency")
    )


def test_exactly_one_beat():
    beats = [args for args in _processes().values() if "beat" in args]

    assert len(beats) == 1
