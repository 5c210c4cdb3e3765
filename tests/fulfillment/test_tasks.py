"""Celery finds every task by the name it states, wherever its function lives."""

from __future__ import annotations

import ast
from pathlib import Path

from django.conf import settings

import fulfillment.tasks
from config.celery import app

ROOT = Path(fulfillment.tasks.__file__).resolve().parents[1]


def _decorated_names() -> dict[str, str | None]:
    """Each task function of every app's tasks.py ("app.function") -> the
    `name=` its decorator gives."""
    found = {}
    for path in sorted(ROOT.glob("*/tasks.py")):
        found.update(_stated_in(path))
    return found


def _stated_in(path: Path) -> dict[str, str | None]:
    tree = ast.parse(path.read_text())
    found = {}
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef):
            continue
        for decorator in node.decorator_list:
            if (
                isinstance(decorator, ast.Call)
                and getattr(decorator.func, "id", "") == "shared_task"
            ):
                names = [k.value for k in decorator.keywords if k.arg == "name"]
                key = f"{path.parent.name}.{node.name}"
                found[key] = names[0].value if names else None
    return found


def test_every_task_states_its_name():
    stated = _decorated_names()

    assert stated  # the module still defines its tasks with shared_task(...)
    assert None not in stated.values(), [f for f, n in stated.items() if n is None]


def test_routes_and_the_beat_schedule_name_registered_tasks():
    # What a worker does at start: import every app's tasks module (Celery's
    # autodiscovery), so tasks no other module imports are registered too.
    app.loader.import_default_modules()
    registered = set(app.tasks)
    routed = set(settings.CELERY_TASK_ROUTES)
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}

    assert routed <= registered
    assert scheduled <= registered
    # Every task of ours has a queue of its own choosing.
    assert set(_decorated_names().values()) <= routed
